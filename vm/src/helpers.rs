//! Helper functions that uops call. The interpreter calls them directly and
//! the JIT patches their addresses into the trace, so both run the same code.
//!
//! Each helper has one entry point per calling convention a target's
//! stencils call it with ([`EntryAbi`]); all of them share one body.

use crate::abi::EntryAbi;

/// Mixes two integers (`hash_i64`).
pub extern "C" fn vm_hash(a: i64, b: i64) -> i64 {
    let mut x = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (b as u64);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    x as i64
}

/// Correctly rounded square root (`sqrt_f64`).
pub extern "C" fn vm_sqrt(a: f64) -> f64 {
    a.sqrt()
}

/// The helpers as Windows x64 code calls them.
#[cfg(target_arch = "x86_64")]
pub mod win64 {
    /// [`super::vm_hash`] with the Windows x64 calling convention.
    pub extern "win64" fn vm_hash(a: i64, b: i64) -> i64 {
        super::vm_hash(a, b)
    }

    /// [`super::vm_sqrt`] with the Windows x64 calling convention.
    pub extern "win64" fn vm_sqrt(a: f64) -> f64 {
        super::vm_sqrt(a)
    }
}

/// Every helper callable with `abi` on this host, by symbol name; `None`
/// when this host cannot call code of that ABI.
pub fn helpers(abi: EntryAbi) -> Option<[(&'static str, u64); 2]> {
    match abi {
        EntryAbi::C => Some([
            (
                "vm_hash",
                vm_hash as extern "C" fn(i64, i64) -> i64 as usize as u64,
            ),
            (
                "vm_sqrt",
                vm_sqrt as extern "C" fn(f64) -> f64 as usize as u64,
            ),
        ]),
        #[cfg(target_arch = "x86_64")]
        EntryAbi::Win64 => Some([
            (
                "vm_hash",
                win64::vm_hash as extern "win64" fn(i64, i64) -> i64 as usize as u64,
            ),
            (
                "vm_sqrt",
                win64::vm_sqrt as extern "win64" fn(f64) -> f64 as usize as u64,
            ),
        ]),
        #[cfg(not(target_arch = "x86_64"))]
        EntryAbi::Win64 => None,
    }
}

/// The address of the helper a stencil table calls `name`, in its `abi`.
/// Mach-O and 32-bit Windows symbols carry a leading underscore, which is
/// ignored.
pub fn helper_address(abi: EntryAbi, name: &str) -> Option<u64> {
    let table = helpers(abi)?;
    let find = |n: &str| table.iter().find(|(h, _)| *h == n).map(|(_, a)| *a);
    find(name).or_else(|| name.strip_prefix('_').and_then(find))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_follows_the_spec_formula() {
        // Worked by hand from the formula: a = 0 leaves x = b before mixing.
        let x = 1u64;
        let x = x ^ (x >> 29);
        let x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let x = x ^ (x >> 32);
        assert_eq!(vm_hash(0, 1), x as i64);
        assert_ne!(vm_hash(1, 0), vm_hash(0, 1));
        assert_eq!(vm_hash(0, 0), 0);
    }

    #[test]
    fn sqrt_is_ieee() {
        assert_eq!(vm_sqrt(2.0), std::f64::consts::SQRT_2);
        assert!(vm_sqrt(-1.0).is_nan());
        assert_eq!(vm_sqrt(-0.0).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn addresses_by_name() {
        assert_eq!(
            helper_address(EntryAbi::C, "vm_hash"),
            Some(vm_hash as extern "C" fn(i64, i64) -> i64 as usize as u64)
        );
        assert_eq!(
            helper_address(EntryAbi::C, "_vm_sqrt"),
            helper_address(EntryAbi::C, "vm_sqrt")
        );
        assert_eq!(helper_address(EntryAbi::C, "memcpy"), None);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn win64_entry_points_are_distinct_and_agree() {
        let c = helper_address(EntryAbi::C, "vm_hash").unwrap();
        let w = helper_address(EntryAbi::Win64, "vm_hash").unwrap();
        assert_ne!(c, w, "the Win64 helper must be its own entry point");
        // Called through the pointer the JIT patches in, with its ABI.
        // SAFETY: `w` is the address of `win64::vm_hash`, whose type this is.
        let hash =
            unsafe { std::mem::transmute::<usize, extern "win64" fn(i64, i64) -> i64>(w as usize) };
        assert_eq!(hash(-7, 1 << 40), vm_hash(-7, 1 << 40));
        let w = helper_address(EntryAbi::Win64, "_vm_sqrt").unwrap();
        // SAFETY: `w` is the address of `win64::vm_sqrt`, whose type this is.
        let sqrt =
            unsafe { std::mem::transmute::<usize, extern "win64" fn(f64) -> f64>(w as usize) };
        assert_eq!(sqrt(2.0), std::f64::consts::SQRT_2);
    }
}
