//! Tables of multiples of a point, and the double-scalar multiplication `u1 G + u2 Q` of a
//! verification read from two of them.
//!
//! A scalar is written in signed digits `d_i` of `w = WINDOW` bits, `|d_i| <= 2^(w-1)`, so
//! that `k P = sum d_i 2^(w i) P`. A table holds, for every position `j`, the multiples
//! `1..=2^(w-1)` of `2^(w s j) P` (`s = SPACING`), affine. Digit `i = r + s j` is then one
//! table entry (negated for a negative digit) times `2^(w r)`, and the sum is evaluated as
//! `sum_r 2^(w r) sum_j d_(r + s j) T_j`, highest `r` first: `w (s - 1)` doublings in all, and
//! one mixed addition per nonzero digit. The doublings are shared by `G` and `Q`.
//!
//! So the tables are what trades memory for speed: `s = 1` would need no doubling at all, and
//! each step of `s` divides the table by about as much. The base point's table is the same
//! shape (it is built once per VM; a key's once per key set).

use super::curves::CurveParams;
use super::limbs;
use super::point::{Affine, Jacobian, to_affine_batch};
use super::scalar::Scalar;
use std::mem;

/// The largest number of digits of any curve (P-521, 6-bit windows: 88; 4-bit ones: 131).
const MAX_DIGITS: usize = 136;

/// The multiples of one point that scalar multiplications read.
pub(super) struct Table<C, const N: usize> {
    /// Position `j`'s multiples `1..=2^(w-1)` at `j * 2^(w-1)..`.
    points: Vec<Affine<C, N>>,
}

impl<C: CurveParams<N>, const N: usize> Table<C, N> {
    const MULTIPLES: usize = 1 << (C::WINDOW - 1);
    const POSITIONS: usize = C::DIGITS.div_ceil(C::SPACING);

    /// The table of `point`; `None` only if a multiple came out as the identity, which a point
    /// of the prime-order group never gives.
    #[inline(never)]
    pub(super) fn new(point: &Affine<C, N>) -> Option<Self> {
        let mut multiples = Vec::with_capacity(Self::POSITIONS * Self::MULTIPLES);
        let mut base = Jacobian::from_affine(point);
        for position in 0..Self::POSITIONS {
            if position > 0 {
                for _ in 0..C::WINDOW as usize * C::SPACING {
                    base = base.double();
                }
            }
            let mut multiple = base;
            multiples.push(multiple);
            for k in 2..=Self::MULTIPLES {
                multiple = if k == 2 {
                    base.double()
                } else {
                    multiple.add(&base)
                };
                multiples.push(multiple);
            }
        }
        Some(Table {
            points: to_affine_batch(&multiples)?,
        })
    }

    /// The base point's table.
    pub(super) fn of_base_point() -> Option<Self> {
        Self::new(&Affine::base_point()?)
    }

    /// Bytes this table keeps.
    pub(super) fn memory_bytes(&self) -> usize {
        mem::size_of::<Self>() + self.points.capacity() * mem::size_of::<Affine<C, N>>()
    }

    /// `digit 2^(w s position) P` added to `sum`.
    fn add_to(&self, sum: &Jacobian<C, N>, position: usize, digit: i8) -> Jacobian<C, N> {
        let magnitude = usize::from(digit.unsigned_abs());
        if magnitude == 0 {
            return *sum;
        }
        match self.points.get(position * Self::MULTIPLES + magnitude - 1) {
            Some(&point) if digit < 0 => sum.add_affine(&point.negated()),
            Some(point) => sum.add_affine(point),
            None => *sum,
        }
    }
}

/// `u1 G + u2 Q` from the tables of `G` and `Q`.
pub(super) fn double_mul<C: CurveParams<N>, const N: usize>(
    g: &Table<C, N>,
    u1: &Scalar<C, N>,
    q: &Table<C, N>,
    u2: &Scalar<C, N>,
) -> Jacobian<C, N> {
    let (d1, d2) = (digits::<C, N>(u1), digits::<C, N>(u2));
    let mut sum = Jacobian::IDENTITY;
    for r in (0..C::SPACING).rev() {
        if r + 1 < C::SPACING {
            for _ in 0..C::WINDOW {
                sum = sum.double();
            }
        }
        let digit_pairs = d1.iter().zip(&d2).skip(r).step_by(C::SPACING);
        for (position, (&digit1, &digit2)) in digit_pairs.enumerate() {
            sum = g.add_to(&sum, position, digit1);
            sum = q.add_to(&sum, position, digit2);
        }
    }
    sum
}

/// The signed digits of `k < n`, lowest first: `d_i` in `[-(2^(w-1) - 1), 2^(w-1)]`, and
/// zeros after the first `C::DIGITS`.
fn digits<C: CurveParams<N>, const N: usize>(k: &Scalar<C, N>) -> [i8; MAX_DIGITS] {
    let mut digits = [0; MAX_DIGITS];
    let window = C::WINDOW;
    let mut carry = 0;
    for (i, digit) in digits.iter_mut().take(C::DIGITS).enumerate() {
        let value = limbs::bits(k.limbs(), i * window as usize, window) + carry;
        carry = u32::from(value > 1 << (window - 1));
        *digit = (value as i32 - ((carry as i32) << window)) as i8;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::curves::{P256, P384, P521};
    use crate::crypto::ecdsa::limbs::reference::{from_big, samples, to_big};
    use ::rsa::BigUint;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    fn digits_sum_to_the_scalar<C: CurveParams<N>, const N: usize>() {
        assert!(C::DIGITS <= MAX_DIGITS, "{}", C::NAME);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = to_big(&C::ORDER);
        let half = 1i32 << (C::WINDOW - 1);
        for k in samples(&mut rng, &n) {
            let digits = digits::<C, N>(&Scalar::from_limbs(from_big(&k)));
            let (mut positive, mut negative) = (BigUint::from(0u8), BigUint::from(0u8));
            for (i, &digit) in digits.iter().enumerate() {
                assert!(-half < i32::from(digit) && i32::from(digit) <= half);
                assert!(i < C::DIGITS || digit == 0);
                let term = BigUint::from(digit.unsigned_abs()) << (C::WINDOW as usize * i);
                if digit < 0 {
                    negative += term;
                } else {
                    positive += term;
                }
            }
            assert_eq!(positive - negative, k, "{} {k:x}", C::NAME);
        }
    }

    #[test]
    fn signed_digits_sum_to_the_scalar() {
        digits_sum_to_the_scalar::<P256, 9>();
        digits_sum_to_the_scalar::<P384, 14>();
        digits_sum_to_the_scalar::<P521, 18>();
    }

    fn products_of_the_base_point<C: CurveParams<N>, const N: usize>() {
        let g = Table::<C, N>::of_base_point().unwrap();
        let one = Scalar::from_limbs(from_big(&BigUint::from(1u8)));
        let n_minus_one = Scalar::from_limbs(from_big(&(to_big(&C::ORDER) - 1u8)));
        let base = Affine::<C, N>::base_point().unwrap();
        // 1 G + (n - 1) G is the identity; 1 G + 1 G is 2 G.
        assert!(
            double_mul(&g, &one, &g, &n_minus_one).is_identity(),
            "{}",
            C::NAME
        );
        let two_g = double_mul(&g, &one, &g, &one);
        assert!(
            two_g.has_x(to_affine_batch(&[Jacobian::from_affine(&base).double()]).unwrap()[0].x)
        );
    }

    #[test]
    fn base_point_multiples_add_up() {
        products_of_the_base_point::<P256, 9>();
        products_of_the_base_point::<P384, 14>();
        products_of_the_base_point::<P521, 18>();
    }
}
