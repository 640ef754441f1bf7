//! Modular exponentiation for RSA public-key operations: Montgomery multiplication over
//! little-endian 29-bit limbs, four columns of the product at a time.
//!
//! The cost that matters is V8's, where a `u32 * u32 -> u64` multiplication is the widest fast
//! product (wasm32 would emulate a 64 x 64 -> 128-bit one) and a carry costs several
//! instructions (there is no carry flag). So the limbs are 29 bits, kept in u32s: a product is
//! below 2^58 and 64 of them add up in a u64 without a carry. Multiplication goes column by
//! column (product scanning), each column of `x * y + m * n` summed whole and its carry passed on
//! once; a pass over the operands sums four adjacent columns, so each loaded limb serves four
//! products; squarings, 16 of the 18 multiplications for e = 65537, take each cross product
//! `a_i * a_j` once and double it. Everything that depends only on the modulus (`-n^-1`,
//! `R^2 mod n`, the limbs reversed) is computed once, when the key is parsed.
//!
//! Not constant time, on purpose: modulus, exponent and signature are all public.

use std::fmt;
use std::mem;
use std::ops::Range;

// Bits per limb. Below 32 so that products add up without carries; 29 because fewer bits mean
// more limbs and more products (76 limbs for 2048 bits at 27 bits, 71 at 29), while at 30 or 31
// bits a u64 holds only 16 or 4 products and splitting the sums costs more than it saves.
// ECDSA's fields use the same width ([`crate::crypto::limb_bytes`]).
use crate::crypto::limb_bytes::{LIMB_BITS, LIMB_MASK, limbs_to_be};
/// Products summed in one u64 before the sum is split into a [`Column`]: each is below
/// `2^(2 * LIMB_BITS)`.
const CHUNK: usize = 1 << (64 - 2 * LIMB_BITS);
/// Columns summed in one pass ([`columns_chunk`] and the squaring are written out for four).
const GROUP: usize = 4;

/// An odd modulus `n >= 3` with its Montgomery constants, `R = 2^(LIMB_BITS * limbs)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Modulus {
    /// `n`, least significant limb first; the most significant limb is not zero.
    limbs: Vec<u32>,
    /// `limbs` as [`padded_reverse`] lays them out for [`columns`].
    reversed: Vec<u32>,
    /// `-n^-1 mod 2^LIMB_BITS`.
    n0_inv: u32,
    /// `R^2 mod n`: one Montgomery multiplication by it brings a number into Montgomery form.
    r_squared: Vec<u32>,
    bits: usize,
}

/// Why a modulus cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModulusError {
    /// Montgomery reduction needs `n` coprime to the limb base; an RSA modulus is odd anyway.
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
        let bits = LIMB_BITS as usize * (limbs.len() - 1) + (32 - high.leading_zeros() as usize);
        let mut modulus = Modulus {
            n0_inv: neg_inverse(low) & LIMB_MASK,
            r_squared: Vec::new(),
            reversed: padded_reverse(&limbs),
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
                self.mont_square(&acc, &mut scratch);
                mem::swap(&mut acc, &mut scratch);
                if (exponent >> bit) & 1 == 1 {
                    // The multiplication for bit 0 takes x itself rather than its Montgomery
                    // form: x^(e-1) * R * x * R^-1 = x^e, out of Montgomery form already.
                    let factor = if bit == 0 { &x } else { &base_m };
                    self.mont_mul(&acc, factor, &mut scratch);
                    mem::swap(&mut acc, &mut scratch);
                }
            }
            if exponent & 1 == 0 || exponent == 1 {
                // acc * 1 * R^-1: back out of Montgomery form.
                self.mont_mul(&acc, &one, &mut scratch);
                mem::swap(&mut acc, &mut scratch);
            }
            acc
        };
        Some(limbs_to_be(&result, self.byte_len()))
    }

    /// `out = a * b * R^-1 mod n` for `a, b < n`, all `limbs.len()` long.
    fn mont_mul(&self, a: &[u32], b: &[u32], out: &mut [u32]) {
        let b_rev = padded_reverse(b);
        self.reduce(out, |k, lo, hi| {
            columns(span(a, lo..hi + 1), partners(&b_rev, k, lo, hi))
        });
    }

    /// `out = a * a * R^-1 mod n` for `a < n`: [`mont_mul`](Self::mont_mul)`(a, a, out)` with
    /// each cross product `a_i * a_j` (i < j) computed once and doubled.
    fn mont_square(&self, a: &[u32], out: &mut [u32]) {
        let a_rev = padded_reverse(a);
        self.reduce(out, |k, lo, hi| {
            // Columns k..k+4 (k even): the cross products with i < k/2 in one pass, those with
            // i >= k/2 and the squares by hand.
            let half = k / 2;
            let mut sums =
                columns(span(a, lo..half), partners(&a_rev, k, lo, hi)).map(Column::doubled);
            let [h0, h1, h2, h3] =
                [0, 1, 2, 3].map(|d| u64::from(a.get(half + d).copied().unwrap_or(0)));
            let [s0, s1, s2, s3] = &mut sums;
            s0.add(h0 * h0);
            s1.add(2 * h0 * h1);
            s2.add(2 * h0 * h2 + h1 * h1);
            s3.add(2 * (h0 * h3 + h1 * h2));
            sums
        });
    }

    /// Montgomery multiplication of `x` and `y`, given by `product(k, lo, hi)`: columns
    /// `k..k + GROUP` of `x * y`, the sums of `x_i * y_(c-i)` over `lo <= i <= hi` (`lo` and
    /// `hi` span every term of those columns). Writes `x * y * R^-1 mod n` to `out`.
    ///
    /// Column `c` of `x * y + m * n` is complete once `m_0..=m_c` are known: below column
    /// `len`, [`settle`](Self::settle) picks `m_c` from it. `out` keeps `m_0, m_1, ..` (0 until
    /// picked), and from column `len` on takes the result's limbs in the places of the `m`
    /// no longer needed.
    fn reduce(&self, out: &mut [u32], product: impl Fn(usize, usize, usize) -> [Column; GROUP]) {
        let len = self.limbs.len();
        out.fill(0);
        let mut carry = 0;
        for k in (0..2 * len).step_by(GROUP) {
            let lo = (k + 1).saturating_sub(len);
            let hi = (k + GROUP - 1).min(len - 1);
            let mut sums = product(k, lo, hi);
            let mn = columns(span(out, lo..hi + 1), partners(&self.reversed, k, lo, hi));
            for (sum, mn) in sums.iter_mut().zip(mn) {
                *sum = sum.plus(mn);
            }
            // The group's columns in order, the next one always in sums[0].
            for c in k..(k + GROUP).min(2 * len) {
                let [s0, s1, s2, s3] = sums;
                carry = self.settle(out, c, s0, carry);
                sums = [s1, s2, s3, Column::default()];
                if c < len {
                    // m_c was still 0 in `out` when the group was summed: its terms now.
                    let m = u64::from(out.get(c).copied().unwrap_or(0));
                    for (sum, &n) in sums.iter_mut().zip(self.limbs.iter().skip(1)) {
                        sum.add(m * u64::from(n));
                    }
                }
            }
        }
        // The result is below 2n < 2R: one bit above the top limb at most.
        if carry != 0 || !less_than(out, &self.limbs) {
            sub_assign(out, &self.limbs);
        }
    }

    /// Column `c` of `x * y + m * n`, complete in `column` plus `carry` (from column `c - 1`):
    /// below column `len` picks `m_c`, which makes it divisible by 2^LIMB_BITS, into `out[c]`;
    /// from column `len` on, its low limb is limb `c - len` of the result. Returns the carry
    /// into column `c + 1`.
    fn settle(&self, out: &mut [u32], c: usize, column: Column, carry: u64) -> u64 {
        let len = out.len();
        let mut low = column.low + carry;
        let (limb, value) = if c < len {
            let n0 = self.limbs.first().copied().unwrap_or(0);
            let m = (low as u32).wrapping_mul(self.n0_inv) & LIMB_MASK;
            low += u64::from(m) * u64::from(n0);
            (c, m)
        } else {
            (c - len, low as u32 & LIMB_MASK)
        };
        if let Some(limb) = out.get_mut(limb) {
            *limb = value;
        }
        column.high + (low >> LIMB_BITS)
    }

    /// `R^2 mod n`: the Montgomery form of `R = 2^r_bits` (`r_bits = LIMB_BITS * len`), built
    /// in Montgomery form from that of 2, `2R mod n` (`2^(bits - 1)`, below n, doubled), over
    /// the bits of `r_bits`: squaring doubles the exponent, doubling adds one.
    fn compute_r_squared(&self) -> Vec<u32> {
        let size = self.limbs.len();
        let r_bits = LIMB_BITS as usize * size;
        let mut x = vec![0; size];
        if let Some(limb) = x.get_mut((self.bits - 1) / LIMB_BITS as usize) {
            *limb = 1 << ((self.bits - 1) % LIMB_BITS as usize);
        }
        for _ in 0..r_bits + 2 - self.bits {
            self.double(&mut x);
        }
        let mut scratch = vec![0; size];
        for bit in (0..usize::BITS - 1 - r_bits.leading_zeros()).rev() {
            self.mont_square(&x, &mut scratch);
            mem::swap(&mut x, &mut scratch);
            if (r_bits >> bit) & 1 == 1 {
                self.double(&mut x);
            }
        }
        x
    }

    /// `x = 2x mod n` for `x < n`.
    fn double(&self, x: &mut [u32]) {
        let mut carry = 0;
        for limb in x.iter_mut() {
            let high = *limb >> (LIMB_BITS - 1);
            *limb = ((*limb << 1) | carry) & LIMB_MASK;
            carry = high;
        }
        if carry != 0 || !less_than(x, &self.limbs) {
            sub_assign(x, &self.limbs);
        }
    }
}

/// A column sum, `low + high * 2^LIMB_BITS`, in two u64s that a whole column cannot overflow:
/// each part adds below 2^LIMB_BITS to one and below 2^(64 - LIMB_BITS) to the other.
#[derive(Clone, Copy, Default)]
struct Column {
    low: u64,
    high: u64,
}

impl Column {
    fn add(&mut self, part: u64) {
        self.low += part & u64::from(LIMB_MASK);
        self.high += part >> LIMB_BITS;
    }

    fn plus(self, other: Column) -> Column {
        Column {
            low: self.low + other.low,
            high: self.high + other.high,
        }
    }

    fn doubled(self) -> Column {
        self.plus(self)
    }
}

/// `x` reversed between `GROUP - 1` zeros on either side. Column `c` of a product pairs `x_i`
/// with `y_(c-i)`, which is then at `len + GROUP - 2 - c + i`: going up with `i`, and 0 where
/// `c - i` is out of range, so every column of a group can take the same range of `i`.
fn padded_reverse(x: &[u32]) -> Vec<u32> {
    let mut padded = Vec::with_capacity(x.len() + 2 * (GROUP - 1));
    padded.extend([0; GROUP - 1]);
    padded.extend(x.iter().rev());
    padded.extend([0; GROUP - 1]);
    padded
}

/// The partners of `x_lo..=x_hi` in columns `k..k + GROUP` from `padded_reverse(y)`, laid out
/// as [`columns`] takes them.
fn partners(padded: &[u32], k: usize, lo: usize, hi: usize) -> &[u32] {
    let len = padded.len() + 2 - 2 * GROUP;
    span(padded, len + lo - (k + 1)..len + hi + GROUP - 1 - k)
}

/// `GROUP` adjacent columns of a product: column `k + c` pairs `x_i` with
/// `y[i + GROUP - 1 - c]` (`y` is `GROUP - 1` longer than `x`).
fn columns(x: &[u32], y: &[u32]) -> [Column; GROUP] {
    let mut sums = [Column::default(); GROUP];
    for (start, chunk) in (0..).step_by(CHUNK).zip(x.chunks(CHUNK)) {
        let parts = columns_chunk(chunk, span(y, start..start + chunk.len() + GROUP - 1));
        for (sum, part) in sums.iter_mut().zip(parts) {
            sum.add(part);
        }
    }
    sums
}

/// [`columns`] for at most `CHUNK` limbs of `x`, whose sums fit in u64s. Each `y` loaded serves
/// four products: `w0..w3` are the partners of the current `x_i` in columns `k..k + 4`.
fn columns_chunk(x: &[u32], y: &[u32]) -> [u64; GROUP] {
    let Some((&[y0, y1, y2], rest)) = y.split_first_chunk() else {
        return [0; GROUP];
    };
    let (mut w1, mut w2, mut w3) = (u64::from(y2), u64::from(y1), u64::from(y0));
    let (mut s0, mut s1, mut s2, mut s3) = (0u64, 0u64, 0u64, 0u64);
    for (&x, &y) in x.iter().zip(rest) {
        let (x, w0) = (u64::from(x), u64::from(y));
        s0 += x * w0;
        s1 += x * w1;
        s2 += x * w2;
        s3 += x * w3;
        (w1, w2, w3) = (w0, w1, w2);
    }
    [s0, s1, s2, s3]
}

/// The limbs `range` of `x`; none where `x` has none.
fn span(x: &[u32], range: Range<usize>) -> &[u32] {
    x.get(range).unwrap_or_default()
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
    let mut limbs = Vec::with_capacity((8 * be_bytes.len()).div_ceil(LIMB_BITS as usize));
    // Bits read but not yet in a limb, the lowest first.
    let (mut pending, mut pending_bits) = (0u64, 0);
    for &byte in be_bytes.iter().rev() {
        pending |= u64::from(byte) << pending_bits;
        pending_bits += 8;
        if pending_bits >= LIMB_BITS {
            limbs.push(pending as u32 & LIMB_MASK);
            pending >>= LIMB_BITS;
            pending_bits -= LIMB_BITS;
        }
    }
    limbs.push(pending as u32);
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    limbs
}

/// `a < b` for numbers of the same number of limbs.
fn less_than(a: &[u32], b: &[u32]) -> bool {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .find(|(x, y)| x != y)
        .is_some_and(|(x, y)| x < y)
}

/// `a -= b` modulo `2^(LIMB_BITS * len)` for numbers of the same number of limbs.
fn sub_assign(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0;
    for (x, &y) in a.iter_mut().zip(b) {
        let difference = x.wrapping_sub(y).wrapping_sub(borrow);
        *x = difference & LIMB_MASK;
        // Limbs are below 2^31, so the difference wrapped exactly when its top bit is set.
        borrow = difference >> 31;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::rsa::BigUint;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::{RngCore, SeedableRng};

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
        // R^2 mod n computed by plain doubling from 1, 2 * LIMB_BITS * len times.
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
            for _ in 0..2 * LIMB_BITS as usize * size {
                modulus.double(&mut x);
            }
            assert_eq!(modulus.r_squared, x);
        }
    }

    fn to_big(limbs: &[u32]) -> BigUint {
        limbs.iter().rev().fold(BigUint::from(0u8), |value, &limb| {
            assert!(limb <= LIMB_MASK, "limb {limb:#x} too wide");
            (value << LIMB_BITS as usize) + limb
        })
    }

    fn from_big(value: &BigUint, len: usize) -> Vec<u32> {
        let mut limbs = limbs_from_be(&value.to_bytes_be());
        assert!(limbs.len() <= len);
        limbs.resize(len, 0);
        limbs
    }

    fn random_below(rng: &mut ChaCha8Rng, n: &BigUint) -> BigUint {
        let mut bytes = vec![0; n.to_bytes_be().len() + 8];
        rng.fill_bytes(&mut bytes);
        BigUint::from_bytes_be(&bytes) % n
    }

    /// Moduli of exactly `len` limbs: every limb at its maximum (every product at its largest),
    /// the smallest top limb, and a random one.
    fn moduli(rng: &mut ChaCha8Rng, len: usize) -> Vec<BigUint> {
        let one = BigUint::from(1u8);
        let bits = LIMB_BITS as usize * len;
        let all_ones = (&one << bits) - &one;
        let smallest = if len == 1 {
            BigUint::from(3u8)
        } else {
            (&one << (bits - LIMB_BITS as usize)) + &one
        };
        let random = (random_below(rng, &(&one << (bits - 1))) | &one) + (&one << (bits - 1));
        vec![all_ones, smallest, random]
    }

    /// 0, 1, n - 1, the all-ones number below n and two random numbers below n.
    fn operands(rng: &mut ChaCha8Rng, n: &BigUint) -> Vec<BigUint> {
        let one = BigUint::from(1u8);
        let all_ones = (&one << (n.bits() - 1)) - &one;
        let random = [random_below(rng, n), random_below(rng, n)];
        [BigUint::from(0u8), one.clone(), n - &one, all_ones]
            .into_iter()
            .chain(random)
            .collect()
    }

    #[test]
    fn montgomery_products_match_biguint() {
        let mut rng = ChaCha8Rng::seed_from_u64(29);
        // Lengths below, at and across a group (4 columns) and a chunk (64 limbs); 71 limbs is
        // 2048 bits.
        for len in [1, 2, 3, 4, 5, 8, 33, 63, 64, 65, 71, 96, 128, 130] {
            for n in moduli(&mut rng, len) {
                let modulus = Modulus::from_be_bytes(&n.to_bytes_be()).unwrap();
                assert_eq!(modulus.limbs.len(), len);
                let r = BigUint::from(1u8) << (LIMB_BITS as usize * len);
                let operands = operands(&mut rng, &n);
                let mut out = vec![0; len];
                for a in &operands {
                    let a_limbs = from_big(a, len);
                    for b in &operands {
                        modulus.mont_mul(&a_limbs, &from_big(b, len), &mut out);
                        // out = a * b * R^-1 mod n, fully reduced.
                        let product = to_big(&out);
                        assert!(product < n, "len {len}, n = {n:x}, a = {a:x}, b = {b:x}");
                        assert_eq!((product * &r) % &n, (a * b) % &n, "len {len}, n = {n:x}");
                    }
                    let mut square = vec![0; len];
                    modulus.mont_square(&a_limbs, &mut square);
                    modulus.mont_mul(&a_limbs, &a_limbs, &mut out);
                    assert_eq!(square, out, "len {len}, n = {n:x}, a = {a:x}");
                }
            }
        }
    }

    #[test]
    fn limbs_hold_big_endian_bytes_exactly() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let mut cases: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0; 9], vec![0xff; 29], vec![1]];
        for len in 1..80 {
            let mut bytes = vec![0; len];
            rng.fill_bytes(&mut bytes);
            cases.push(bytes.clone());
            bytes[0] = 0;
            cases.push(bytes);
            let mut top = vec![0; len];
            top[0] = 0x80;
            cases.push(top);
        }
        for bytes in cases {
            let limbs = limbs_from_be(&bytes);
            assert_ne!(limbs.last(), Some(&0), "high zero limb for {bytes:?}");
            assert_eq!(to_big(&limbs), BigUint::from_bytes_be(&bytes), "{bytes:?}");
            assert_eq!(limbs_to_be(&limbs, bytes.len()), bytes);
            // Wider than the limbs: zeros in front.
            let mut padded = vec![0; 5];
            padded.extend_from_slice(&bytes);
            assert_eq!(limbs_to_be(&limbs, padded.len()), padded);
        }
    }
}
