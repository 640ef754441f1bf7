//! Arithmetic modulo a curve's group order `n`: what a verification needs of `r`, `s` and the
//! message digest. Scalars are plain integers below `n` (not in Montgomery form); the two
//! products per verification go through Montgomery multiplication and back, and the one
//! inversion is a binary extended Euclid, in variable time (`s` is public).

use super::curves::CurveParams;
use super::limbs::{self, Columns, LIMB_BITS, LIMB_MASK};
use std::marker::PhantomData;

/// An integer below the group order of curve `C`.
pub(super) struct Scalar<C, const N: usize> {
    limbs: [u32; N],
    curve: PhantomData<C>,
}

impl<C, const N: usize> Clone for Scalar<C, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, const N: usize> Copy for Scalar<C, N> {}
impl<C, const N: usize> PartialEq for Scalar<C, N> {
    fn eq(&self, other: &Self) -> bool {
        self.limbs == other.limbs
    }
}
impl<C, const N: usize> std::fmt::Debug for Scalar<C, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scalar({:?})", self.limbs)
    }
}

impl<C: CurveParams<N>, const N: usize> Scalar<C, N> {
    const fn new(limbs: [u32; N]) -> Self {
        Scalar {
            limbs,
            curve: PhantomData,
        }
    }

    #[cfg(test)]
    pub(super) fn from_limbs(limbs: [u32; N]) -> Self {
        Self::new(limbs)
    }

    pub(super) fn limbs(&self) -> &[u32; N] {
        &self.limbs
    }

    /// A big-endian integer in `[1, n - 1]`, as ECDSA requires of `r` and `s`; `None` for 0 or
    /// anything from `n` on.
    pub(super) fn from_be_bytes_nonzero(bytes: &[u8]) -> Option<Self> {
        let value = limbs::from_be_bytes(bytes)?;
        (!limbs::is_zero(&value) && limbs::less_than(&value, &C::ORDER)).then(|| Self::new(value))
    }

    /// The integer a message digest stands for (SEC 1 §4.1.4 steps 4-5, FIPS 186-5 §6.4.2):
    /// its leftmost `bits(n)` bits, reduced mod `n`. A digest no longer than `n` (SHA-512 for
    /// P-521's 521 bits) is taken whole.
    pub(super) fn from_digest(digest: &[u8]) -> Self {
        let order_bits = bit_length(&C::ORDER);
        let order_bytes = order_bits.div_ceil(8);
        let leftmost = digest.get(..order_bytes).unwrap_or(digest);
        // Within the leftmost whole bytes, drop the bits beyond bits(n) (fewer than 8).
        let excess = (8 * leftmost.len()).saturating_sub(order_bits) as u32;
        let mut shifted = Vec::with_capacity(leftmost.len());
        let mut previous = 0u8;
        for &byte in leftmost {
            shifted.push(((u16::from(previous) << 8 | u16::from(byte)) >> excess) as u8);
            previous = byte;
        }
        let mut value = limbs::from_be_bytes::<N>(&shifted).unwrap_or([0; N]);
        // Now below 2^bits(n) < 2n: one subtraction reduces it.
        if !limbs::less_than(&value, &C::ORDER) {
            value = limbs::sub(&value, &C::ORDER).0;
        }
        Self::new(value)
    }

    /// `self * other mod n`: Montgomery products by `other` and by `R^2` (`a b R^-1 R^2 R^-1`).
    pub(super) fn mul(&self, other: &Self) -> Self {
        let product = montgomery_reduce::<C, N>(Columns::product(&self.limbs, &other.limbs));
        Self::new(montgomery_reduce::<C, N>(Columns::product(
            &product,
            &C::ORDER_R2,
        )))
    }

    /// `self^-1 mod n`, `None` for zero. Binary extended Euclid: `u = x1 self` and
    /// `v = x2 self (mod n)` all along, while `u` and `v` shrink to their gcd, 1 (n is prime).
    pub(super) fn invert(&self) -> Option<Self> {
        let (mut u, mut v) = (self.limbs, C::ORDER);
        let (mut x1, mut x2) = ([0; N], [0; N]);
        if let Some(low) = x1.first_mut() {
            *low = 1;
        }
        let is_one = |a: &[u32; N]| a.iter().enumerate().all(|(i, &l)| l == u32::from(i == 0));
        loop {
            if limbs::is_zero(&u) || limbs::is_zero(&v) {
                return None;
            }
            while u.first().is_some_and(|&low| low & 1 == 0) {
                u = limbs::half(&u, false);
                x1 = half_mod::<C, N>(&x1);
            }
            while v.first().is_some_and(|&low| low & 1 == 0) {
                v = limbs::half(&v, false);
                x2 = half_mod::<C, N>(&x2);
            }
            if is_one(&u) {
                return Some(Self::new(x1));
            }
            if is_one(&v) {
                return Some(Self::new(x2));
            }
            if limbs::less_than(&u, &v) {
                v = limbs::sub(&v, &u).0;
                x2 = sub_mod::<C, N>(&x2, &x1);
            } else {
                u = limbs::sub(&u, &v).0;
                x1 = sub_mod::<C, N>(&x1, &x2);
            }
        }
    }
}

/// `x / 2 mod n` for `x < n`: `x` or `x + n` (below `2n`, which fits) halved.
fn half_mod<C: CurveParams<N>, const N: usize>(x: &[u32; N]) -> [u32; N] {
    if x.first().is_some_and(|&low| low & 1 == 0) {
        limbs::half(x, false)
    } else {
        let (sum, carry) = limbs::add(x, &C::ORDER);
        limbs::half(&sum, carry)
    }
}

/// `a - b mod n` for `a, b < n`.
fn sub_mod<C: CurveParams<N>, const N: usize>(a: &[u32; N], b: &[u32; N]) -> [u32; N] {
    let (difference, borrowed) = limbs::sub(a, b);
    if borrowed {
        limbs::add(&difference, &C::ORDER).0
    } else {
        difference
    }
}

/// Montgomery reduction modulo `n` of the columns of a product of two numbers below `n`:
/// `x R^-1 mod n`. For column `c < N`, `m = v (-n^-1) mod 2^29` makes `v + m n_0` divisible
/// by `2^29`, and `m n_j` goes to column `c + j`. Columns stay below `2N 2^58 < 2^64`.
fn montgomery_reduce<C: CurveParams<N>, const N: usize>(mut columns: Columns<N>) -> [u32; N] {
    let mut carry = 0u64;
    for c in 0..N {
        let value = columns.get(c).wrapping_add(carry);
        let m = (value as u32).wrapping_mul(C::ORDER_NEG_INVERSE) & LIMB_MASK;
        let mut limbs_of_n = C::ORDER.iter().map(|&limb| u64::from(m) * u64::from(limb));
        let low = limbs_of_n.next().unwrap_or(0);
        carry = (value + low) >> LIMB_BITS;
        for (j, term) in (1..).zip(limbs_of_n) {
            columns.add(c + j, term);
        }
    }
    let mut out = [0; N];
    for (c, limb) in (N..).zip(out.iter_mut()) {
        let value = columns.get(c) + carry;
        *limb = value as u32 & LIMB_MASK;
        carry = value >> LIMB_BITS;
    }
    // Below 2n (and below R, as 2n < R for these orders): one subtraction.
    if carry != 0 || !limbs::less_than(&out, &C::ORDER) {
        out = limbs::sub(&out, &C::ORDER).0;
    }
    out
}

fn bit_length<const N: usize>(limbs: &[u32; N]) -> usize {
    limbs.iter().rposition(|&limb| limb != 0).map_or(0, |top| {
        top * LIMB_BITS as usize
            + (32 - limbs.get(top).copied().unwrap_or(0).leading_zeros() as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::curves::{P256, P384, P521};
    use crate::crypto::ecdsa::limbs::reference::{from_big, samples, to_big};
    use ::rsa::BigUint;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    fn arithmetic_matches<C: CurveParams<N>, const N: usize>(seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = to_big(&C::ORDER);
        let values = samples(&mut rng, &n);
        let scalar = |v: &BigUint| Scalar::<C, N>::new(from_big(v));
        for a in &values {
            let sa = scalar(a);
            match sa.invert() {
                None => assert_eq!(*a, BigUint::from(0u8)),
                Some(inverse) => {
                    assert_eq!(
                        (a * to_big(inverse.limbs())) % &n,
                        BigUint::from(1u8),
                        "{a:x}"
                    )
                }
            }
            for b in &values {
                let product = to_big(sa.mul(&scalar(b)).limbs());
                assert_eq!(product, (a * b) % &n, "{} {a:x} * {b:x}", C::NAME);
            }
        }
    }

    #[test]
    fn products_and_inverses_match_biguint_mod_n() {
        arithmetic_matches::<P256, 9>(2560);
        arithmetic_matches::<P384, 14>(3840);
        arithmetic_matches::<P521, 18>(5210);
    }

    fn range<C: CurveParams<N>, const N: usize>() {
        let n = to_big(&C::ORDER);
        let one = BigUint::from(1u8);
        let fixed = |v: &BigUint| {
            let bytes = v.to_bytes_be();
            let mut out = vec![0; C::BYTES - bytes.len().min(C::BYTES)];
            out.extend(bytes);
            out
        };
        let accepted = |v: &BigUint| Scalar::<C, N>::from_be_bytes_nonzero(&fixed(v)).is_some();
        assert!(!accepted(&BigUint::from(0u8)));
        assert!(accepted(&one));
        assert!(accepted(&(&n - &one)));
        assert!(!accepted(&n));
        assert!(!accepted(&(&n + &one)));
        assert!(Scalar::<C, N>::from_be_bytes_nonzero(&vec![0xff; C::BYTES]).is_none());
    }

    #[test]
    fn r_and_s_must_lie_between_1_and_n_minus_1() {
        range::<P256, 9>();
        range::<P384, 14>();
        range::<P521, 18>();
    }

    #[test]
    fn a_digest_is_its_leftmost_bits_of_n_reduced_mod_n() {
        let digest: Vec<u8> = (0..80u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(200))
            .collect();
        // P-256, SHA-256: all 256 bits, minus n when at least n.
        let n256 = to_big(&P256::ORDER);
        let whole = BigUint::from_bytes_be(&digest[..32]);
        assert_eq!(
            to_big(Scalar::<P256, 9>::from_digest(&digest[..32]).limbs()),
            &whole % &n256
        );
        let all_ones = BigUint::from_bytes_be(&[0xff; 32]);
        assert!(all_ones > n256);
        assert_eq!(
            to_big(Scalar::<P256, 9>::from_digest(&[0xff; 32]).limbs()),
            &all_ones - &n256
        );
        // A longer digest gives its leftmost 256 bits.
        assert_eq!(
            to_big(Scalar::<P256, 9>::from_digest(&digest[..64]).limbs()),
            &whole % &n256
        );
        // P-521, SHA-512: 512 bits are fewer than n's 521, the digest is taken whole.
        let sha512 = BigUint::from_bytes_be(&digest[..64]);
        assert_eq!(
            to_big(Scalar::<P521, 18>::from_digest(&digest[..64]).limbs()),
            sha512
        );
        // P-521 with a 66-byte digest: its leftmost 521 bits, 7 bits dropped on the right.
        let n521 = to_big(&P521::ORDER);
        let leftmost = BigUint::from_bytes_be(&digest[..66]) >> 7usize;
        assert_eq!(
            to_big(Scalar::<P521, 18>::from_digest(&digest[..66]).limbs()),
            leftmost % &n521
        );
        // P-384, SHA-384: 384 bits.
        let n384 = to_big(&P384::ORDER);
        let sha384 = BigUint::from_bytes_be(&digest[..48]);
        assert_eq!(
            to_big(Scalar::<P384, 14>::from_digest(&digest[..48]).limbs()),
            sha384 % &n384
        );
    }
}
