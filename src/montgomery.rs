//! Modular exponentiation for RSA public-key operations: Montgomery multiplication over
//! little-endian 32-bit limbs.
//!
//! 32-bit limbs because wasm32 multiplies 64-bit integers natively but would emulate a
//! 64 x 64 -> 128-bit product, so `u32 * u32 -> u64` is the widest fast product there.
//! Everything that depends only on the modulus (`-n^-1 mod 2^32`, `R^2 mod n`) is computed once,
//! when the key is parsed; an exponentiation is then one conversion into Montgomery form, the
//! square-and-multiply chain over the exponent's bits (17 multiplications for e = 65537) and one
//! conversion back.
//!
//! Not constant time, on purpose: modulus, exponent and signature are all public.

use std::fmt;
use std::mem;

/// An odd modulus `n >= 3` with its Montgomery constants, `R = 2^(32 * limbs)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Modulus {
    /// `n`, least significant limb first; the most significant limb is not zero.
    limbs: Vec<u32>,
    /// `-n^-1 mod 2^32`.
    n0_inv: u32,
    /// `R^2 mod n`: one Montgomery multiplication by it brings a number into Montgomery form.
    r_squared: Vec<u32>,
    bits: usize,
}

/// Why a modulus cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModulusError {
    /// Montgomery reduction needs `n` coprime to 2^32; an RSA modulus is odd anyway.
    Even,
    /// 0 or 1: there is no arithmetic to do.
    TooSmall,
}

impl fmt::Display for ModulusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Even => f.write_str("modulus is even"),
            Self::TooSmall => f.write_str("modulus is smaller than 3"),
        }
    }
}

impl std::error::Error for ModulusError {}

impl fmt::Debug for Modulus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Modulus")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Number of significant bits in a big-endian unsigned integer (leading zero bytes allowed).
pub fn bit_length(be_bytes: &[u8]) -> usize {
    let significant = be_bytes
        .iter()
        .position(|&b| b != 0)
        .and_then(|first| be_bytes.get(first..))
        .unwrap_or_default();
    match significant.split_first() {
        None => 0,
        Some((top, rest)) => 8 * rest.len() + (8 - top.leading_zeros() as usize),
    }
}

impl Modulus {
    /// Takes `n` as a big-endian unsigned integer; leading zero bytes are ignored.
    pub fn from_be_bytes(be_bytes: &[u8]) -> Result<Modulus, ModulusError> {
        let limbs = limbs_from_be(be_bytes);
        let (Some(&low), Some(&high)) = (limbs.first(), limbs.last()) else {
            return Err(ModulusError::TooSmall);
        };
        if low & 1 == 0 {
            return Err(ModulusError::Even);
        }
        if limbs.len() == 1 && low < 3 {
            return Err(ModulusError::TooSmall);
        }
        let bits = 32 * (limbs.len() - 1) + (32 - high.leading_zeros() as usize);
        let mut modulus = Modulus {
            n0_inv: neg_inverse(low),
            r_squared: Vec::new(),
            limbs,
            bits,
        };
        modulus.r_squared = modulus.compute_r_squared();
        Ok(modulus)
    }

    /// Significant bits of `n`.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Length of `n` in bytes without leading zeros: the length of an RSA signature.
    pub fn byte_len(&self) -> usize {
        self.bits.div_ceil(8)
    }

    /// `base^exponent mod n` as exactly [`byte_len`](Self::byte_len) big-endian bytes.
    /// `base` is big-endian (leading zeros allowed) and must be less than `n`: `None` otherwise,
    /// which is RFC 8017's "signature representative out of range".
    pub fn pow(&self, base: &[u8], exponent: u32) -> Option<Vec<u8>> {
        let size = self.limbs.len();
        let mut x = limbs_from_be(base);
        if x.len() > size {
            return None;
        }
        x.resize(size, 0);
        if !less_than(&x, &self.limbs) {
            return None;
        }
        let mut one = vec![0; size];
        if let Some(low) = one.first_mut() {
            *low = 1;
        }
        let result = if exponent == 0 {
            one
        } else {
            let mut scratch = vec![0; size];
            // x * R^2 * R^-1 = x * R: Montgomery form.
            let mut base_m = vec![0; size];
            self.mont_mul(&x, &self.r_squared, &mut base_m);
            // Left to right over the bits below the top one.
            let mut acc = base_m.clone();
            for bit in (0..31 - exponent.leading_zeros()).rev() {
                self.mont_mul(&acc, &acc, &mut scratch);
                mem::swap(&mut acc, &mut scratch);
                if (exponent >> bit) & 1 == 1 {
                    self.mont_mul(&acc, &base_m, &mut scratch);
                    mem::swap(&mut acc, &mut scratch);
                }
            }
            // acc * 1 * R^-1: back out of Montgomery form.
            self.mont_mul(&acc, &one, &mut scratch);
            scratch
        };
        Some(limbs_to_be(&result, self.byte_len()))
    }

    /// `out = a * b * R^-1 mod n` for `a, b < n`, all `limbs.len()` long (CIOS, with the
    /// multiplication and reduction of each step fused in one pass over the limbs).
    fn mont_mul(&self, a: &[u32], b: &[u32], out: &mut [u32]) {
        out.fill(0);
        let Some(&a0) = a.first() else { return };
        // The running value is `out` plus `top * 2^(32 * len)`; it stays below 2n, so `top`
        // is 0 or 1 between steps.
        let mut top: u64 = 0;
        for &b_i in b {
            let b_i = u64::from(b_i);
            let mut limbs = out.iter_mut().zip(a.iter().zip(&self.limbs));
            let Some((first, (_, &n0))) = limbs.next() else {
                return;
            };
            // m makes (t + a * b_i + m * n) divisible by 2^32.
            let m = first
                .wrapping_add(a0.wrapping_mul(b_i as u32))
                .wrapping_mul(self.n0_inv);
            let m = u64::from(m);
            // Two carry chains: c1 for t + a * b_i, c2 for adding m * n. Each sum is at most
            // (2^32 - 1) + (2^32 - 1)^2 + (2^32 - 1) = 2^64 - 1: no overflow.
            let x = u64::from(*first) + u64::from(a0) * b_i;
            let mut c1 = x >> 32;
            let y = u64::from(x as u32) + m * u64::from(n0);
            let mut c2 = y >> 32; // the low half of y is zero by the choice of m
            let mut previous = first;
            for (t_j, (&a_j, &n_j)) in limbs {
                let x = u64::from(*t_j) + u64::from(a_j) * b_i + c1;
                c1 = x >> 32;
                let y = u64::from(x as u32) + m * u64::from(n_j) + c2;
                c2 = y >> 32;
                // Dividing by 2^32: limb j lands in limb j - 1.
                *previous = y as u32;
                previous = t_j;
            }
            let sum = top + c1 + c2;
            *previous = sum as u32;
            top = sum >> 32;
        }
        if top != 0 || !less_than(out, &self.limbs) {
            sub_assign(out, &self.limbs);
        }
    }

    /// `R^2 mod n`. The Montgomery form of 2^k is `2^k * R mod n`, and squaring in Montgomery
    /// form squares the value, so with `32 * len = k * 2^i` (k odd): start at `2^(bits - 1)`
    /// (below n, as n is odd and at least 3), double modulo n up to `2^k * R`, then square `i`
    /// times to reach the Montgomery form of `2^(32 * len) = R`, which is `R^2 mod n`.
    /// At most `32 * len - bits + 1 + len` doublings and about `log2(len) + 5` multiplications.
    fn compute_r_squared(&self) -> Vec<u32> {
        let size = self.limbs.len();
        let r_bits = 32 * size;
        let i = r_bits.trailing_zeros();
        let k = r_bits >> i;
        let mut x = vec![0; size];
        if let Some(limb) = x.get_mut((self.bits - 1) / 32) {
            *limb = 1 << ((self.bits - 1) % 32);
        }
        for _ in 0..(r_bits + k + 1 - self.bits) {
            self.double(&mut x);
        }
        let mut scratch = vec![0; size];
        for _ in 0..i {
            self.mont_mul(&x, &x, &mut scratch);
            mem::swap(&mut x, &mut scratch);
        }
        x
    }

    /// `x = 2x mod n` for `x < n`.
    fn double(&self, x: &mut [u32]) {
        let mut carry = 0;
        for limb in x.iter_mut() {
            let high = *limb >> 31;
            *limb = (*limb << 1) | carry;
            carry = high;
        }
        if carry != 0 || !less_than(x, &self.limbs) {
            sub_assign(x, &self.limbs);
        }
    }
}

/// `-n0^-1 mod 2^32` for odd `n0`, by Newton's iteration: `n0 * n0 = 1 mod 8` gives 3 correct
/// bits and each step doubles them (3, 6, 12, 24, 48).
fn neg_inverse(n0: u32) -> u32 {
    let mut inverse = n0;
    for _ in 0..4 {
        inverse = inverse.wrapping_mul(2u32.wrapping_sub(n0.wrapping_mul(inverse)));
    }
    inverse.wrapping_neg()
}

/// Big-endian bytes -> little-endian limbs without high zero limbs (zero is empty).
fn limbs_from_be(be_bytes: &[u8]) -> Vec<u32> {
    let mut limbs: Vec<u32> = be_bytes
        .rchunks(4)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u32, |limb, &byte| (limb << 8) | u32::from(byte))
        })
        .collect();
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    limbs
}

/// Little-endian limbs -> the last `len` bytes of their big-endian form (`len` is at most four
/// bytes per limb, and the bytes cut off are zero).
fn limbs_to_be(limbs: &[u32], len: usize) -> Vec<u8> {
    let skip = (4 * limbs.len()).saturating_sub(len);
    limbs
        .iter()
        .rev()
        .flat_map(|limb| limb.to_be_bytes())
        .skip(skip)
        .collect()
}

/// `a < b` for numbers of the same number of limbs.
fn less_than(a: &[u32], b: &[u32]) -> bool {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .find(|(x, y)| x != y)
        .is_some_and(|(x, y)| x < y)
}

/// `a -= b` modulo `2^(32 * len)` for numbers of the same number of limbs.
fn sub_assign(a: &mut [u32], b: &[u32]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (difference, borrow1) = x.overflowing_sub(y);
        let (difference, borrow2) = difference.overflowing_sub(u32::from(borrow));
        *x = difference;
        borrow = borrow1 || borrow2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(value: u128) -> Vec<u8> {
        value.to_be_bytes().to_vec()
    }

    /// Reference for moduli below 2^64: square-and-multiply with u128 products.
    fn reference_pow(base: u128, exponent: u32, n: u128) -> u128 {
        let (mut result, mut base) = (1 % n, base % n);
        let mut e = exponent;
        while e > 0 {
            if e & 1 == 1 {
                result = result * base % n;
            }
            base = base * base % n;
            e >>= 1;
        }
        result
    }

    fn pow_u128(n: u128, base: u128, exponent: u32) -> u128 {
        let modulus = Modulus::from_be_bytes(&be(n)).unwrap();
        let out = modulus.pow(&be(base), exponent).unwrap();
        assert_eq!(out.len(), modulus.byte_len());
        out.iter().fold(0, |v, &b| (v << 8) | u128::from(b))
    }

    #[test]
    fn unusable_moduli_are_refused() {
        for n in [&[][..], &[0], &[0, 0, 0, 0, 0], &[1], &[0, 1]] {
            assert_eq!(Modulus::from_be_bytes(n), Err(ModulusError::TooSmall));
        }
        for n in [&[2][..], &[1, 0, 0, 0, 0, 0], &[0xff, 0xfe]] {
            assert_eq!(Modulus::from_be_bytes(n), Err(ModulusError::Even));
        }
        assert!(Modulus::from_be_bytes(&[3]).is_ok());
    }

    #[test]
    fn bit_and_byte_lengths_ignore_leading_zeros() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[0, 1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        let mut n = vec![0u8, 0, 0x80];
        n.extend([0x11; 255]);
        assert_eq!(bit_length(&n), 2048);
        let modulus = Modulus::from_be_bytes(&n).unwrap();
        assert_eq!((modulus.bits(), modulus.byte_len()), (2048, 256));
        let modulus = Modulus::from_be_bytes(&[0, 1, 0, 0, 0, 1]).unwrap();
        assert_eq!((modulus.bits(), modulus.byte_len()), (33, 5));
        assert_eq!(modulus.pow(&[2], 32).unwrap(), vec![1, 0, 0, 0, 0]);
    }

    #[test]
    fn negated_inverse_is_exact() {
        for n0 in [1u32, 3, 5, 0xffff_ffff, 0x8000_0001, 0x1234_5677, 65537] {
            assert_eq!(n0.wrapping_mul(neg_inverse(n0)), u32::MAX, "n0 = {n0:#x}");
        }
    }

    #[test]
    fn small_moduli_match_a_u128_reference() {
        let moduli = [
            3u128,
            5,
            0xffff_ffff,
            0x1_0000_0001,
            0x1_ffff_ffff,
            0xffff_ffff_ffff_ffff,
            0x8000_0000_0000_0001,
            0xdead_beef_1234_5679,
        ];
        for n in moduli {
            let bases = [0, 1, 2, n - 1, n / 2, n / 3 + 7, 0xffff_ffff % n];
            for base in bases.map(|b| b % n) {
                for exponent in [0, 1, 2, 3, 17, 65537, 0xffff_ffff, 0x8000_0001] {
                    assert_eq!(
                        pow_u128(n, base, exponent),
                        reference_pow(base, exponent, n),
                        "{base}^{exponent} mod {n}"
                    );
                }
            }
        }
    }

    #[test]
    fn base_must_be_below_the_modulus() {
        let n = 0xffff_ffff_ffff_ffc5u128; // a 64-bit odd number
        let modulus = Modulus::from_be_bytes(&be(n)).unwrap();
        assert!(modulus.pow(&be(n), 3).is_none());
        assert!(modulus.pow(&be(n + 1), 3).is_none());
        assert!(modulus.pow(&be(u128::MAX), 3).is_none());
        assert!(modulus.pow(&[1; 9], 3).is_none());
        assert!(modulus.pow(&be(n - 1), 3).is_some());
        // Leading zeros of the base do not matter, however many.
        assert_eq!(modulus.pow(&[0; 40], 3).unwrap(), vec![0; 8]);
        assert_eq!(modulus.pow(&[], 3).unwrap(), vec![0; 8]);
    }

    #[test]
    fn r_squared_matches_the_definition() {
        // R^2 mod n computed by plain doubling from 1, 64 * len times.
        for n in [
            vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            vec![1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff],
            vec![0xff; 24],
            vec![0x0f; 52],
        ] {
            let modulus = Modulus::from_be_bytes(&n).unwrap();
            let size = modulus.limbs.len();
            let mut x = vec![0; size];
            x[0] = 1;
            for _ in 0..64 * size {
                modulus.double(&mut x);
            }
            assert_eq!(modulus.r_squared, x);
        }
    }
}
