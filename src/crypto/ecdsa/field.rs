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
    /// `p + 1` as a sum of signed powers of two, each at least `2^29`: `(exponent, negative)`.
    p_plus_one: &'static [(u32, bool)],
    /// `R mod p`: one in Montgomery form.
    r: Limbs,
    /// `R^2 mod p`: Montgomery form in one multiplication.
    r2: Limbs,
    /// Bytes of an element in JOSE.
    bytes: usize,
}

impl Field {
    /// The field of the prime `p = sum(p_plus_one) - 1`, its elements `bytes` long in JOSE.
    pub(super) const fn new(p: Limbs, p_plus_one: &'static [(u32, bool)], bytes: usize) -> Field {
        let len = limbs::montgomery_len(&p);
        Field {
            p,
            len,
            p_plus_one,
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

    /// Montgomery reduction of the columns of a product of two elements: `x R^-1 mod p`.
    ///
    /// Column `c < len` plus the carry is `v`; `m = v mod 2^29` makes `v + m p` divisible by
    /// `2^29` (`p = -1 mod 2^29`), and the carry on is then `v >> 29`; `m p = m (p + 1) - m`
    /// adds `m (p + 1)` to the later columns. The result `(x + M p) / R` is below `2p`
    /// (`x < p^2`, `M < R`, `p < R`), and one subtraction reduces it.
    #[inline(always)]
    fn reduce(&'static self, mut columns: Columns) -> Fe {
        let mut carry = 0i64;
        for c in 0..self.len {
            let value = (columns.get(c).copied().unwrap_or(0) as i64).wrapping_add(carry);
            let m = value & i64::from(LIMB_MASK);
            carry = value >> LIMB_BITS;
            for &(exponent, negative) in self.p_plus_one {
                let shifted = m << (exponent % LIMB_BITS);
                let term = if negative { -shifted } else { shifted };
                limbs::add_to_column(
                    &mut columns,
                    c + (exponent / LIMB_BITS) as usize,
                    term as u64,
                );
            }
        }
        let mut out = [0; limbs::MAX_LIMBS];
        let high_columns = columns.iter().skip(self.len);
        for (limb, &column) in out.iter_mut().take(self.len).zip(high_columns) {
            let value = (column as i64).wrapping_add(carry);
            *limb = value as u32 & LIMB_MASK;
            carry = value >> LIMB_BITS;
        }
        self.of_montgomery_limbs(out).reduced_once()
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
        let columns = with_constant_len(self.field.len, |len| limbs::square(&self.limbs, len));
        self.field.reduce(columns)
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

    /// `self - p` if `self >= p`, for `self < 2p`.
    #[inline(always)]
    fn reduced_once(self) -> Self {
        let field = self.field;
        if limbs::less_than(&self.limbs, &field.p, field.len) {
            self
        } else {
            field.of_montgomery_limbs(limbs::sub(&self.limbs, &field.p, field.len).0)
        }
    }
}

impl Add for Fe {
    type Output = Self;
    #[inline(never)]
    fn add(self, other: Self) -> Self {
        // Below 2p < 2^(29 len): no carry out of the top limb.
        let (sum, _) = limbs::add(&self.limbs, &other.limbs, self.field.len);
        self.field.of_montgomery_limbs(sum).reduced_once()
    }
}

impl Sub for Fe {
    type Output = Self;
    #[inline(never)]
    fn sub(self, other: Self) -> Self {
        let field = self.field;
        let (difference, borrowed) = limbs::sub(&self.limbs, &other.limbs, field.len);
        if borrowed {
            field.of_montgomery_limbs(limbs::add(&difference, &field.p, field.len).0)
        } else {
            field.of_montgomery_limbs(difference)
        }
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
        let field = self.field;
        let columns = with_constant_len(field.len, |len| {
            limbs::product(&self.limbs, &other.limbs, len)
        });
        field.reduce(columns)
    }
}

/// `columns(len)` with `len` a constant in each arm, one per curve, so that the compiler
/// unrolls the products (where the time goes) for each limb count.
#[inline(always)]
fn with_constant_len(len: usize, columns: impl Fn(usize) -> Columns) -> Columns {
    match len {
        9 => columns(9),
        14 => columns(14),
        _ => columns(limbs::MAX_LIMBS),
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
            for &(exponent, negative) in field.p_plus_one {
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
        let lens = CURVES.map(|curve| field(curve).len);
        assert_eq!(lens, [9, 14, 18]);
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
