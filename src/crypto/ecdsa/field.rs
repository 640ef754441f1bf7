//! Arithmetic modulo a curve's field prime `p`, in Montgomery form (`a` is kept as
//! `a R mod p`, `R = 2^(29 N)`), always fully reduced, so equal elements have equal limbs.
//!
//! The three primes are one less than a short signed sum of powers of two, all at least 2^29
//! (`p + 1` is `2^256 - 2^224 + 2^192 + 2^96`, `2^384 - 2^128 - 2^96 + 2^32` and `2^521`).
//! So `-p^-1 mod 2^29` is 1, each reduction step's multiple `m` of `p` is the column's own low
//! limb, and adding `m p` is a few shifted additions into later columns instead of `N`
//! products: a multiplication costs about its `N^2` limb products (half that for a square).
//! Columns are u64 sums that may dip below zero while the negative powers are added; their
//! true values stay within an i64, so they are read as i64 when settled.

use super::curves::CurveParams;
use super::limbs::{self, Columns, LIMB_BITS, LIMB_MASK};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Add, Mul, Neg, Sub};

/// An element of the field of curve `C`.
pub(super) struct Fe<C, const N: usize> {
    limbs: [u32; N],
    curve: PhantomData<C>,
}

impl<C, const N: usize> Clone for Fe<C, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, const N: usize> Copy for Fe<C, N> {}
impl<C, const N: usize> PartialEq for Fe<C, N> {
    fn eq(&self, other: &Self) -> bool {
        self.limbs == other.limbs
    }
}
impl<C, const N: usize> Eq for Fe<C, N> {}

impl<C: CurveParams<N>, const N: usize> fmt::Debug for Fe<C, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_be_bytes();
        write!(f, "Fe(")?;
        for byte in bytes {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

impl<C: CurveParams<N>, const N: usize> Fe<C, N> {
    pub(super) const ZERO: Self = Self::from_montgomery([0; N]);
    pub(super) const ONE: Self = Self::from_montgomery(C::P_R);

    const fn from_montgomery(limbs: [u32; N]) -> Self {
        Fe {
            limbs,
            curve: PhantomData,
        }
    }

    /// The element `value` for `value < p`; `None` otherwise.
    pub(super) fn from_canonical(value: &[u32; N]) -> Option<Self> {
        limbs::less_than(value, &C::P)
            .then(|| Self::from_montgomery(*value) * Self::from_montgomery(C::P_R2))
    }

    /// A big-endian integer below `p`, of any length (leading zeros allowed).
    pub(super) fn from_be_bytes(bytes: &[u8]) -> Option<Self> {
        Self::from_canonical(&limbs::from_be_bytes(bytes)?)
    }

    /// The integer this element is, below `p`.
    pub(super) fn to_canonical(self) -> [u32; N] {
        let mut one = [0; N];
        if let Some(low) = one.first_mut() {
            *low = 1;
        }
        (self * Self::from_montgomery(one)).limbs
    }

    /// [`to_canonical`](Self::to_canonical) as `C::BYTES` big-endian bytes.
    pub(super) fn to_be_bytes(self) -> Vec<u8> {
        limbs::to_be_bytes(&self.to_canonical(), C::BYTES)
    }

    pub(super) fn is_zero(&self) -> bool {
        limbs::is_zero(&self.limbs)
    }

    // Not inlined, nor additions, subtractions and point operations: one copy of each per
    // curve keeps the module small, and their calls cost little beside their work.
    #[inline(never)]
    pub(super) fn square(self) -> Self {
        Self::reduce(Columns::square(&self.limbs))
    }

    /// `2 * self`.
    pub(super) fn double(self) -> Self {
        self + self
    }

    /// `self^-1` (zero for zero), by Fermat: `self^(p - 2)`. Used only when tables are built.
    pub(super) fn invert(self) -> Self {
        let two = {
            let mut two = [0; N];
            if let Some(low) = two.first_mut() {
                *low = 2;
            }
            two
        };
        let (exponent, _) = limbs::sub(&C::P, &two);
        let mut result = Self::ONE;
        for bit in (0..LIMB_BITS as usize * N).rev() {
            result = result.square();
            if limbs::bits(&exponent, bit, 1) == 1 {
                result = result * self;
            }
        }
        result
    }

    /// Montgomery reduction of the columns of a product of two elements: `x R^-1 mod p`.
    ///
    /// Column `c < N` plus the carry is `v`; `m = v mod 2^29` makes `v + m p` divisible by
    /// `2^29` (`p = -1 mod 2^29`), and the carry on is then `v >> 29`; `m p = m (p + 1) - m`
    /// adds `m (p + 1)` to the later columns. The result `(x + M p) / R` is below `2p`
    /// (`x < p^2`, `M < R`, `p < R`), and one subtraction reduces it.
    #[inline(always)]
    fn reduce(mut columns: Columns<N>) -> Self {
        let mut carry = 0i64;
        for c in 0..N {
            let value = (columns.get(c) as i64).wrapping_add(carry);
            let m = value & i64::from(LIMB_MASK);
            carry = value >> LIMB_BITS;
            for &(exponent, negative) in C::P_PLUS_ONE {
                let shifted = m << (exponent % LIMB_BITS);
                let term = if negative { -shifted } else { shifted };
                columns.add(c + (exponent / LIMB_BITS) as usize, term as u64);
            }
        }
        let mut out = [0; N];
        for (c, limb) in (N..).zip(out.iter_mut()) {
            let value = (columns.get(c) as i64).wrapping_add(carry);
            *limb = value as u32 & LIMB_MASK;
            carry = value >> LIMB_BITS;
        }
        Self::from_montgomery(out).reduced_once()
    }

    /// `self - p` if `self >= p`, for `self < 2p`.
    #[inline(always)]
    fn reduced_once(self) -> Self {
        if limbs::less_than(&self.limbs, &C::P) {
            self
        } else {
            Self::from_montgomery(limbs::sub(&self.limbs, &C::P).0)
        }
    }
}

impl<C: CurveParams<N>, const N: usize> Add for Fe<C, N> {
    type Output = Self;
    #[inline(never)]
    fn add(self, other: Self) -> Self {
        // Below 2p < 2^(29 N): no carry out of the top limb.
        let (sum, _) = limbs::add(&self.limbs, &other.limbs);
        Self::from_montgomery(sum).reduced_once()
    }
}

impl<C: CurveParams<N>, const N: usize> Sub for Fe<C, N> {
    type Output = Self;
    #[inline(never)]
    fn sub(self, other: Self) -> Self {
        let (difference, borrowed) = limbs::sub(&self.limbs, &other.limbs);
        if borrowed {
            Self::from_montgomery(limbs::add(&difference, &C::P).0)
        } else {
            Self::from_montgomery(difference)
        }
    }
}

impl<C: CurveParams<N>, const N: usize> Neg for Fe<C, N> {
    type Output = Self;
    fn neg(self) -> Self {
        Self::ZERO - self
    }
}

impl<C: CurveParams<N>, const N: usize> Mul for Fe<C, N> {
    type Output = Self;
    #[inline(never)]
    fn mul(self, other: Self) -> Self {
        Self::reduce(Columns::product(&self.limbs, &other.limbs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::curves::{P256, P384, P521};
    use crate::crypto::ecdsa::limbs::reference::{from_big, samples, to_big};
    use ::rsa::BigUint;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    fn prime<C: CurveParams<N>, const N: usize>() -> BigUint {
        to_big(&C::P)
    }

    fn primes_are_one_less_than_their_sums_of_powers<C: CurveParams<N>, const N: usize>() {
        let one = BigUint::from(1u8);
        let (mut plus, mut minus) = (BigUint::from(0u8), BigUint::from(0u8));
        for &(exponent, negative) in C::P_PLUS_ONE {
            assert!(exponent >= LIMB_BITS, "{}: a power below 2^29", C::NAME);
            if negative {
                minus += &one << exponent as usize;
            } else {
                plus += &one << exponent as usize;
            }
        }
        assert_eq!(plus - minus, prime::<C, N>() + &one, "{}", C::NAME);
    }

    #[test]
    fn primes_are_one_less_than_their_sums_of_powers_of_two() {
        primes_are_one_less_than_their_sums_of_powers::<P256, 9>();
        primes_are_one_less_than_their_sums_of_powers::<P384, 14>();
        primes_are_one_less_than_their_sums_of_powers::<P521, 18>();
        let one = BigUint::from(1u8);
        assert_eq!(prime::<P521, 18>(), (&one << 521usize) - &one);
    }

    fn arithmetic_matches<C: CurveParams<N>, const N: usize>(seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let p = prime::<C, N>();
        let values = samples(&mut rng, &p);
        let element = |v: &BigUint| Fe::<C, N>::from_canonical(&from_big(v)).unwrap();
        for a in &values {
            let fa = element(a);
            assert_eq!(to_big(&fa.to_canonical()), *a, "{} round trip", C::NAME);
            assert_eq!(to_big(&fa.square().to_canonical()), (a * a) % &p);
            assert_eq!(to_big(&(-fa).to_canonical()), (&p - a) % &p);
            for b in &values {
                let fb = element(b);
                let name = C::NAME;
                assert_eq!(
                    to_big(&(fa * fb).to_canonical()),
                    (a * b) % &p,
                    "{name} {a:x} * {b:x}"
                );
                assert_eq!(
                    to_big(&(fa + fb).to_canonical()),
                    (a + b) % &p,
                    "{name} {a:x} + {b:x}"
                );
                assert_eq!(
                    to_big(&(fa - fb).to_canonical()),
                    (a + &p - b) % &p,
                    "{name} {a:x} - {b:x}"
                );
                assert_eq!(fa == fb, a == b);
            }
            if !fa.is_zero() {
                assert_eq!(fa * fa.invert(), Fe::ONE, "{} {a:x}^-1", C::NAME);
            }
        }
        assert!(Fe::<C, N>::ZERO.invert().is_zero());
    }

    #[test]
    fn products_sums_and_inverses_match_biguint_mod_p256() {
        arithmetic_matches::<P256, 9>(256);
    }

    #[test]
    fn products_sums_and_inverses_match_biguint_mod_p384() {
        arithmetic_matches::<P384, 14>(384);
    }

    #[test]
    fn products_sums_and_inverses_match_biguint_mod_p521() {
        arithmetic_matches::<P521, 18>(521);
    }

    fn canonical_form_only<C: CurveParams<N>, const N: usize>() {
        let p = prime::<C, N>();
        let one = BigUint::from(1u8);
        assert!(Fe::<C, N>::from_be_bytes(&(&p - &one).to_bytes_be()).is_some());
        assert!(Fe::<C, N>::from_be_bytes(&p.to_bytes_be()).is_none());
        assert!(Fe::<C, N>::from_be_bytes(&(&p + &one).to_bytes_be()).is_none());
        assert!(Fe::<C, N>::from_be_bytes(&[0xff; 80]).is_none());
        let mut padded = vec![0; 20];
        padded.extend_from_slice(&[7]);
        assert_eq!(
            Fe::<C, N>::from_be_bytes(&padded).unwrap().to_be_bytes()[C::BYTES - 1],
            7
        );
    }

    #[test]
    fn only_integers_below_p_are_field_elements() {
        canonical_form_only::<P256, 9>();
        canonical_form_only::<P384, 14>();
        canonical_form_only::<P521, 18>();
    }
}
