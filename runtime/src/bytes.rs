//! Copying and filling the short byte runs a trace is made of.
//!
//! Stencils are tens of bytes, so a call into the C library's `memcpy` for
//! each one costs more than the copy itself; these stay inline.

/// Copies `src` into `dst` (same length).
#[inline(always)]
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) {
    let len = src.len();
    if dst.len() != len {
        return dst.copy_from_slice(src);
    }
    // Overlapping fixed-size blocks, no loop: a loop would be turned back
    // into a `memcpy` call.
    if len > 64 {
        dst.copy_from_slice(src);
    } else if len >= 32 {
        dst[..32].copy_from_slice(&src[..32]);
        dst[len - 32..].copy_from_slice(&src[len - 32..]);
    } else if len >= 16 {
        dst[..16].copy_from_slice(&src[..16]);
        dst[len - 16..].copy_from_slice(&src[len - 16..]);
    } else if len >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[len - 8..].copy_from_slice(&src[len - 8..]);
    } else if len >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[len - 4..].copy_from_slice(&src[len - 4..]);
    } else if len > 0 {
        // 1 to 3 bytes: first, middle and last (possibly the same byte).
        dst[0] = src[0];
        dst[len / 2] = src[len / 2];
        dst[len - 1] = src[len - 1];
    }
}

/// Fills `buf` with `byte`.
#[inline(always)]
pub(crate) fn fill(buf: &mut [u8], byte: u8) {
    let len = buf.len();
    let block = [byte; 32];
    if len > 64 {
        buf.fill(byte);
    } else if len >= 32 {
        buf[..32].copy_from_slice(&block);
        buf[len - 32..].copy_from_slice(&block);
    } else if len >= 16 {
        buf[..16].copy_from_slice(&block[..16]);
        buf[len - 16..].copy_from_slice(&block[..16]);
    } else if len >= 8 {
        buf[..8].copy_from_slice(&block[..8]);
        buf[len - 8..].copy_from_slice(&block[..8]);
    } else if len >= 4 {
        buf[..4].copy_from_slice(&block[..4]);
        buf[len - 4..].copy_from_slice(&block[..4]);
    } else if len > 0 {
        buf[0] = byte;
        buf[len / 2] = byte;
        buf[len - 1] = byte;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_every_length() {
        let src: alloc::vec::Vec<u8> = (1..=100).collect();
        for len in 0..=100 {
            let mut dst = alloc::vec![0u8; len];
            copy(&mut dst, &src[..len]);
            assert_eq!(dst, &src[..len], "length {len}");
        }
    }

    #[test]
    fn fill_every_length() {
        for len in 0..=80 {
            let mut buf = alloc::vec![0u8; len + 1];
            fill(&mut buf[..len], 0xCC);
            assert!(buf[..len].iter().all(|&b| b == 0xCC));
            assert_eq!(buf[len], 0);
        }
    }
}
