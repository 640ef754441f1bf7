//! Arithmetic modulo a curve's field prime `p`, in Montgomery form (`a` is kept as
//! `a R mod p`, `R = 2^(29 len)`), always fully reduced, so equal elements have equal limbs.
//!
//! The three primes are one less than a short signed sum of powers of two, all at least 2^29
//! (`p + 1` is `2^256 - 2^224 + 2^192 + 2^96`, `2^384 - 2^128 - 2^96 + 2^32` and `2^521`).
//! So `-p^-1 mod 2^29` is 1, each reduction step's multiple `m` of `p` is the column's own low
//! limb, and adding `m p` is a few shifted additions into later columns instead of `len`
//! products: a multiplication costs about its `len^2` limb products (half that for a square).
//! Columns are u64 sums that may dip below zero while the negative powers are added; their
//! true values stay within an i64, so they are read as i64 when settled.
//!
//! An element carries a reference to its [`Field`], so formulas read as arithmetic.

use super::limbs::{self, Columns, LIMB_BITS, LIMB_MASK, Limbs};
use std::fmt;
use std::ops::{Add, Mul, Neg, Sub};

/// The constants of one prime field.
pub(super) struct Field {
    /// The prime `p`.
    p: Limbs,
    /// Limbs in use.
    len: usize,
    /// Which of the three primes, for the operations compiled once for each.
    prime: Prime,
    /// `R mod p`: one in Montgomery form.
    r: Limbs,
    /// `R^2 mod p`: Montgomery form in one multiplication.
    r2: Limbs,
    /// Bytes of an element in JOSE.
    bytes: usize,
}

impl Field {
    /// The field of `prime`, which is `p`, its elements `bytes` long in JOSE.
    pub(super) const fn new(prime: Prime, p: Limbs, bytes: usize) -> Field {
        let len = limbs::montgomery_len(&p);
        Field {
            p,
            len,
            prime,
            r: limbs::r_power_mod(&p, len, 1),
            r2: limbs::r_power_mod(&p, len, 2),
            bytes,
        }
    }

    pub(super) fn zero(&'static self) -> Fe {
        Fe {
            limbs: [0; limbs::MAX_LIMBS],
            field: self,
        }
    }

    pub(super) fn one(&'static self) -> Fe {
        Fe {
            limbs: self.r,
            field: self,
        }
    }

    /// The element `value` for `value < p`; `None` otherwise.
    pub(super) fn element(&'static self, value: &Limbs) -> Option<Fe> {
        let r2 = Fe {
            limbs: self.r2,
            field: self,
        };
        limbs::less_than(value, &self.p, self.len).then(|| {
            Fe {
                limbs: *value,
                field: self,
            } * r2
        })
    }

    /// A big-endian integer below `p`, of any length (leading zeros allowed).
    pub(super) fn element_of_bytes(&'static self, bytes: &[u8]) -> Option<Fe> {
        self.element(&limbs::from_be_bytes(bytes, self.len)?)
    }

    /// An element's own limbs (Montgomery form), as a table stores them.
    pub(super) fn of_montgomery_limbs(&'static self, limbs: Limbs) -> Fe {
        Fe { limbs, field: self }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// `a * b` (or `a^2`, with `a = b` and `square`), reduced, on the first `N` limbs (`N` the
    /// prime's `len`).
    ///
    /// Montgomery reduction of the product's columns: `x R^-1 mod p`. Column `c < N` plus the
    /// carry is `v`; `m = v mod 2^29` makes `v + m p` divisible by `2^29` (`p = -1 mod 2^29`),
    /// and the carry on is then `v >> 29`; `m p = m (p + 1) - m` adds `m (p + 1)` to the later
    /// columns. The result `(x + M p) / R` is below `2p` (`x < p^2`, `M < R`, `p < R`), and
    /// one subtraction reduces it.
    #[inline(always)]
    fn mul_limbs<const N: usize>(&self, prime: Prime, a: &Limbs, b: &Limbs, square: bool) -> Limbs {
        let (Some(a), Some(b)) = (a.first_chunk::<N>(), b.first_chunk::<N>()) else {
            return [0; limbs::MAX_LIMBS];
        };
        let mut columns = if square {
            Columns::square(a)
        } else {
            Columns::product(a, b)
        };
        let mut carry = 0i64;
        for c in 0..N {
            let value = (columns.get(c) as i64).wrapping_add(carry);
            let m = value & i64::from(LIMB_MASK);
            carry = value >> LIMB_BITS;
            for &(exponent, negative) in prime.p_plus_one() {
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
        self.reduced_once(N, limbs::widen(&out))
    }

    /// `value - p` if `value >= p`, for `value < 2p`.
    #[inline(always)]
    fn reduced_once(&self, len: usize, value: Limbs) -> Limbs {
        if limbs::less_than(&value, &self.p, len) {
            value
        } else {
            limbs::sub(&value, &self.p, len).0
        }
    }
}

/// One of the three primes. Products, squares, sums and differences (nearly all of a
/// verification's time) are compiled once for each, with its limb count and `p + 1` as
/// constants: their loops unroll and their intermediate numbers stay in locals instead of
/// being copied through memory (in V8 a copy of a P-521-sized number is a call). The rest
/// of the code is shared by the three curves.
#[derive(Clone, Copy)]
pub(super) enum Prime {
    P256,
    P384,
    P521,
}

impl Prime {
    /// Limbs of the prime's numbers: `R = 2^(29 len)` is above `2p`.
    #[inline(always)]
    const fn len(self) -> usize {
        match self {
            Prime::P256 => 9,
            Prime::P384 => 14,
            Prime::P521 => 18,
        }
    }

    /// `p + 1` as a sum of signed powers of two, each at least `2^29`: `(exponent, negative)`.
    #[inline(always)]
    const fn p_plus_one(self) -> &'static [(u32, bool)] {
        match self {
            Prime::P256 => &[(256, false), (224, true), (192, false), (96, false)],
            Prime::P384 => &[(384, false), (128, true), (96, true), (32, false)],
            Prime::P521 => &[(521, false)],
        }
    }
}

impl Field {
    /// [`mul_limbs`](Self::mul_limbs) for this field's prime.
    #[inline(always)]
    fn mul_limbs_of_prime(&self, a: &Limbs, b: &Limbs, square: bool) -> Limbs {
        const P256: usize = Prime::P256.len();
        const P384: usize = Prime::P384.len();
        const P521: usize = Prime::P521.len();
        match self.prime {
            Prime::P256 => self.mul_limbs::<P256>(Prime::P256, a, b, square),
            Prime::P384 => self.mul_limbs::<P384>(Prime::P384, a, b, square),
            Prime::P521 => self.mul_limbs::<P521>(Prime::P521, a, b, square),
        }
    }
}

/// `op` compiled for each prime, with the prime a constant.
#[inline(always)]
fn for_prime(prime: Prime, op: impl Fn(Prime) -> Limbs) -> Limbs {
    match prime {
        Prime::P256 => op(Prime::P256),
        Prime::P384 => op(Prime::P384),
        Prime::P521 => op(Prime::P521),
    }
}

/// An element of a prime field.
#[derive(Clone, Copy)]
pub(super) struct Fe {
    limbs: Limbs,
    field: &'static Field,
}

impl PartialEq for Fe {
    fn eq(&self, other: &Self) -> bool {
        self.limbs == other.limbs
    }
}
impl Eq for Fe {}

impl fmt::Debug for Fe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fe(")?;
        for byte in self.to_be_bytes() {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

impl Fe {
    pub(super) fn field(&self) -> &'static Field {
        self.field
    }

    /// The limbs as kept (Montgomery form).
    pub(super) fn montgomery_limbs(&self) -> &Limbs {
        &self.limbs
    }

    /// The integer this element is, below `p`.
    pub(super) fn to_canonical(self) -> Limbs {
        (self * self.field.of_montgomery_limbs(limbs::one())).limbs
    }

    /// [`to_canonical`](Self::to_canonical) as big-endian bytes, JOSE's length.
    pub(super) fn to_be_bytes(self) -> Vec<u8> {
        limbs::to_be_bytes(&self.to_canonical(), self.field.bytes)
    }

    pub(super) fn is_zero(&self) -> bool {
        limbs::is_zero(&self.limbs)
    }

    // Not inlined, nor additions, subtractions and point operations: one copy of each keeps
    // the module small, and their calls cost little beside their work.
    #[inline(never)]
    pub(super) fn square(self) -> Self {
        let limbs = self
            .field
            .mul_limbs_of_prime(&self.limbs, &self.limbs, true);
        Fe {
            limbs,
            field: self.field,
        }
    }

    /// `2 * self`.
    pub(super) fn double(self) -> Self {
        self + self
    }

    /// `self^-1` (zero for zero), by Fermat: `self^(p - 2)`. Used only when tables are built.
    pub(super) fn invert(self) -> Self {
        let field = self.field;
        let two = limbs::add(&limbs::one(), &limbs::one(), field.len).0;
        let (exponent, _) = limbs::sub(&field.p, &two, field.len);
        let mut result = field.one();
        for bit in (0..LIMB_BITS as usize * field.len).rev() {
            result = result.square();
            if limbs::bits(&exponent, bit, 1) == 1 {
                result = result * self;
            }
        }
        result
    }
}

impl Add for Fe {
    type Output = Self;
    #[inline(never)]
    fn add(self, other: Self) -> Self {
        let field = self.field;
        let limbs = for_prime(field.prime, |prime| {
            // Below 2p < 2^(29 len): no carry out of the top limb.
            let (sum, _) = limbs::add(&self.limbs, &other.limbs, prime.len());
            field.reduced_once(prime.len(), sum)
        });
        Fe { limbs, field }
    }
}

impl Sub for Fe {
    type Output = Self;
    #[inline(never)]
    fn sub(self, other: Self) -> Self {
        let field = self.field;
        let limbs = for_prime(field.prime, |prime| {
            let (difference, borrowed) = limbs::sub(&self.limbs, &other.limbs, prime.len());
            if borrowed {
                limbs::add(&difference, &field.p, prime.len()).0
            } else {
                difference
            }
        });
        Fe { limbs, field }
    }
}

impl Neg for Fe {
    type Output = Self;
    fn neg(self) -> Self {
        self.field.zero() - self
    }
}

impl Mul for Fe {
    type Output = Self;
    #[inline(never)]
    fn mul(self, other: Self) -> Self {
        let limbs = self
            .field
            .mul_limbs_of_prime(&self.limbs, &other.limbs, false);
        Fe {
            limbs,
            field: self.field,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::Curve;
    use crate::crypto::ecdsa::limbs::reference::{from_big, samples, to_big};
    use ::rsa::BigUint;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    const CURVES: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    fn field(curve: Curve) -> &'static Field {
        &curve.params().field
    }

    #[test]
    fn primes_are_one_less_than_their_sums_of_powers_of_two() {
        let one = BigUint::from(1u8);
        for curve in CURVES {
            let field = field(curve);
            let (mut plus, mut minus) = (BigUint::from(0u8), BigUint::from(0u8));
            for &(exponent, negative) in field.prime.p_plus_one() {
                assert!(exponent >= LIMB_BITS, "{curve}: a power below 2^29");
                if negative {
                    minus += &one << exponent as usize;
                } else {
                    plus += &one << exponent as usize;
                }
            }
            assert_eq!(plus - minus, to_big(&field.p) + &one, "{curve}");
            assert!(to_big(&field.p) << 1usize < one.clone() << (29 * field.len));
        }
        let p521 = to_big(&field(Curve::P521).p);
        assert_eq!(p521, (&one << 521usize) - &one);
        for curve in CURVES {
            assert_eq!(field(curve).len, field(curve).prime.len(), "{curve}");
        }
    }

    fn arithmetic_matches(curve: Curve, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let field = field(curve);
        let p = to_big(&field.p);
        let values = samples(&mut rng, &p);
        let element = |v: &BigUint| field.element(&from_big(v)).unwrap();
        for a in &values {
            let fa = element(a);
            assert_eq!(to_big(&fa.to_canonical()), *a, "{curve} round trip");
            assert_eq!(to_big(&fa.square().to_canonical()), (a * a) % &p);
            assert_eq!(to_big(&(-fa).to_canonical()), (&p - a) % &p);
            for b in &values {
                let fb = element(b);
                assert_eq!(
                    to_big(&(fa * fb).to_canonical()),
                    (a * b) % &p,
                    "{curve} {a:x} * {b:x}"
                );
                assert_eq!(
                    to_big(&(fa + fb).to_canonical()),
                    (a + b) % &p,
                    "{curve} {a:x} + {b:x}"
                );
                assert_eq!(
                    to_big(&(fa - fb).to_canonical()),
                    (a + &p - b) % &p,
                    "{curve} {a:x} - {b:x}"
                );
                assert_eq!(fa == fb, a == b);
            }
            if !fa.is_zero() {
                assert_eq!(fa * fa.invert(), field.one(), "{curve} {a:x}^-1");
            }
        }
        assert!(field.zero().invert().is_zero());
    }

    #[test]
    fn products_sums_and_inverses_match_biguint_mod_p256() {
        arithmetic_matches(Curve::P256, 256);
    }

    #[test]
    fn products_sums_and_inverses_match_biguint_mod_p384() {
        arithmetic_matches(Curve::P384, 384);
    }

    #[test]
    fn products_sums_and_inverses_match_biguint_mod_p521() {
        arithmetic_matches(Curve::P521, 521);
    }

    #[test]
    fn only_integers_below_p_are_field_elements() {
        for curve in CURVES {
            let field = field(curve);
            let p = to_big(&field.p);
            let one = BigUint::from(1u8);
            assert!(field.element_of_bytes(&(&p - &one).to_bytes_be()).is_some());
            assert!(field.element_of_bytes(&p.to_bytes_be()).is_none());
            assert!(field.element_of_bytes(&(&p + &one).to_bytes_be()).is_none());
            assert!(field.element_of_bytes(&[0xff; 80]).is_none());
            // Above p but within P-521's limbs: refused for the smaller curves too.
            assert!(field.element_of_bytes(&[0x02; 66]).is_none(), "{curve}");
            let mut padded = vec![0; 20];
            padded.extend_from_slice(&[7]);
            let bytes = field.element_of_bytes(&padded).unwrap().to_be_bytes();
            assert_eq!(bytes.len(), curve.coordinate_len());
            assert_eq!(bytes[curve.coordinate_len() - 1], 7);
        }
    }
}
