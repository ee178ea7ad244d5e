//! Helper functions that uops call. The interpreter calls them directly and
//! the JIT patches their addresses into the trace, so both run the same code.

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

/// Every helper, by symbol name.
pub fn helpers() -> [(&'static str, u64); 2] {
    [
        (
            "vm_hash",
            vm_hash as extern "C" fn(i64, i64) -> i64 as usize as u64,
        ),
        (
            "vm_sqrt",
            vm_sqrt as extern "C" fn(f64) -> f64 as usize as u64,
        ),
    ]
}

/// The address of the helper a stencil table calls `name`. Mach-O and
/// 32-bit Windows symbols carry a leading underscore, which is ignored.
pub fn helper_address(name: &str) -> Option<u64> {
    let table = helpers();
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
            helper_address("vm_hash"),
            Some(vm_hash as extern "C" fn(i64, i64) -> i64 as usize as u64)
        );
        assert_eq!(helper_address("_vm_sqrt"), helper_address("vm_sqrt"));
        assert_eq!(helper_address("memcpy"), None);
    }
}
