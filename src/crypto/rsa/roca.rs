//! The ROCA fingerprint (CVE-2017-15361). Infineon's RSALib made primes of the form
//! `k·M + (65537^a mod M)`, and moduli made of them can be factored: anyone can sign with such
//! a key, so it proves nothing. Modulo each small prime `p` dividing `M`, such a modulus is a
//! power of 65537; the published detectors test the 38 primes from 3 to 167. A random modulus
//! passes all of them with a probability of about 4·10⁻⁹.

/// The primes the fingerprint is tested on.
const PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// Whether the big-endian modulus `n` has the fingerprint of a vulnerable key.
pub fn has_fingerprint(n: &[u8]) -> bool {
    PRIMES
        .iter()
        .all(|&p| is_power_of_65537(remainder(n, p), p))
}

/// `n mod p`, byte by byte.
fn remainder(n: &[u8], p: u32) -> u32 {
    n.iter().fold(0, |r, &byte| (r * 256 + u32::from(byte)) % p)
}

/// Whether `r` is in the subgroup of the integers modulo `p` that 65537 generates.
fn is_power_of_65537(r: u32, p: u32) -> bool {
    let generator = 65537 % p;
    let mut power = 1;
    loop {
        if power == r {
            return true;
        }
        power = power * generator % p;
        // The powers cycle back to 1 after the generator's order (at most p - 1 steps).
        if power == 1 {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_65537_have_the_fingerprint() {
        let mut n: Vec<u8> = vec![1];
        for _ in 0..5 {
            assert!(has_fingerprint(&n), "{n:?}");
            n = multiply(&n, 65537);
        }
    }

    #[test]
    fn ordinary_numbers_do_not() {
        for n in [&[2u8][..], &[0], &[0xff; 256], &[3, 0, 1]] {
            assert!(!has_fingerprint(n), "{n:?}");
        }
    }

    #[test]
    fn generated_keys_do_not() {
        let key = devidp::KeyPair::generate("k").unwrap();
        let n = crate::jose::jwt::decode_base64url(&key.modulus_b64()).unwrap();
        assert!(!has_fingerprint(&n));
    }

    /// `n · factor`, big-endian.
    fn multiply(n: &[u8], factor: u64) -> Vec<u8> {
        let mut carry = 0u64;
        let mut out: Vec<u8> = n
            .iter()
            .rev()
            .map(|&byte| {
                let value = u64::from(byte) * factor + carry;
                carry = value >> 8;
                value as u8
            })
            .collect();
        while carry > 0 {
            out.push(carry as u8);
            carry >>= 8;
        }
        out.reverse();
        out
    }
}
