//! Tables of multiples of a point, and the double-scalar multiplication `u1 G + u2 Q` of a
//! verification read from two of them.
//!
//! A scalar is written in signed digits `d_i` of `w` bits (the curve's window), `|d_i| <= 2^(w-1)`, so
//! that `k P = sum d_i 2^(w i) P`. A table holds, for every position `j`, the multiples
//! `1..=2^(w-1)` of `2^(w s j) P` (`s`, the curve's spacing), affine. Digit `i = r + s j` is then one
//! table entry (negated for a negative digit) times `2^(w r)`, and the sum is evaluated as
//! `sum_r 2^(w r) sum_j d_(r + s j) T_j`, highest `r` first: `w (s - 1)` doublings in all, and
//! one mixed addition per nonzero digit. The doublings are shared by `G` and `Q`.
//!
//! So the tables are what trades memory for speed: `s = 1` would need no doubling at all, and
//! each step of `s` divides the table by about as much. The base point's table is the same
//! shape (it is built once per VM; a key's once per key set).

use super::Curve;
use super::curves::CurveParams;
use super::limbs::{self, Limbs};
use super::point::{Affine, Jacobian, to_affine_batch};
use super::scalar::Scalar;
use std::mem;
use std::sync::OnceLock;

/// The largest number of digits of any curve (P-521, 6-bit windows: 88; 4-bit ones: 131).
const MAX_DIGITS: usize = 136;

/// The multiples of one point that scalar multiplications read.
pub(super) struct Table {
    curve: &'static CurveParams,
    /// Position `j`'s multiples `1..=2^(w-1)` from entry `j * 2^(w-1)` on, each entry the
    /// limbs of `x` then of `y` (Montgomery form), just the curve's limbs: the unused top
    /// limbs of P-521's width would double a P-256 table.
    coordinates: Vec<u32>,
}

impl Table {
    /// The table of `point`; `None` only if a multiple came out as the identity, which a point
    /// of the prime-order group never gives.
    pub(super) fn new(curve: &'static CurveParams, point: &Affine) -> Option<Self> {
        let multiples_per_position = curve.multiples();
        let mut multiples = Vec::with_capacity(curve.positions() * multiples_per_position);
        let mut base = Jacobian::from_affine(point);
        for position in 0..curve.positions() {
            if position > 0 {
                for _ in 0..curve.window as usize * curve.spacing {
                    base = base.double();
                }
            }
            let mut multiple = base;
            multiples.push(multiple);
            for k in 2..=multiples_per_position {
                multiple = if k == 2 {
                    base.double()
                } else {
                    multiple.add(&base)
                };
                multiples.push(multiple);
            }
        }
        let len = curve.field.len();
        let mut coordinates = Vec::with_capacity(multiples.len() * 2 * len);
        for multiple in to_affine_batch(&curve.field, &multiples)? {
            coordinates.extend(multiple.x.montgomery_limbs().iter().take(len));
            coordinates.extend(multiple.y.montgomery_limbs().iter().take(len));
        }
        Some(Table { curve, coordinates })
    }

    /// Bytes this table keeps.
    pub(super) fn memory_bytes(&self) -> usize {
        mem::size_of::<Self>() + self.coordinates.capacity() * mem::size_of::<u32>()
    }

    /// Entry `index` of the table.
    fn entry(&self, index: usize) -> Option<Affine> {
        let field = &self.curve.field;
        let len = field.len();
        let limbs = self
            .coordinates
            .get(2 * len * index..2 * len * (index + 1))?;
        let (x, y) = limbs.split_at(len);
        let coordinate = |stored: &[u32]| {
            let value: Limbs = std::array::from_fn(|i| stored.get(i).copied().unwrap_or(0));
            field.of_montgomery_limbs(value)
        };
        Some(Affine {
            x: coordinate(x),
            y: coordinate(y),
        })
    }

    /// `digit 2^(w s position) P` added to `sum`.
    fn add_to(&self, sum: &Jacobian, position: usize, digit: i8) -> Jacobian {
        let magnitude = usize::from(digit.unsigned_abs());
        if magnitude == 0 {
            return *sum;
        }
        match self.entry(position * self.curve.multiples() + magnitude - 1) {
            Some(point) if digit < 0 => sum.add_affine(&point.negated()),
            Some(point) => sum.add_affine(&point),
            None => *sum,
        }
    }
}

/// The table of `curve`'s base point, built on first use in this VM (`None` only if the
/// constants were wrong, which the unit tests rule out).
pub(super) fn of_base_point(curve: Curve) -> Option<&'static Table> {
    static TABLES: [OnceLock<Option<Table>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let params = curve.params();
    let index = match curve {
        Curve::P256 => 0,
        Curve::P384 => 1,
        Curve::P521 => 2,
    };
    TABLES
        .get(index)?
        .get_or_init(|| Table::new(params, &Affine::base_point(params)?))
        .as_ref()
}

/// `u1 G + u2 Q` from the tables of `G` and `Q` (of the same curve).
pub(super) fn double_mul(g: &Table, u1: &Scalar, q: &Table, u2: &Scalar) -> Jacobian {
    let curve = g.curve;
    let (d1, d2) = (digits(curve, u1), digits(curve, u2));
    let mut sum = Jacobian::identity(&curve.field);
    for r in (0..curve.spacing).rev() {
        if r + 1 < curve.spacing {
            for _ in 0..curve.window {
                sum = sum.double();
            }
        }
        let digit_pairs = d1.iter().zip(&d2).skip(r).step_by(curve.spacing);
        for (position, (&digit1, &digit2)) in digit_pairs.enumerate() {
            sum = g.add_to(&sum, position, digit1);
            sum = q.add_to(&sum, position, digit2);
        }
    }
    sum
}

/// The signed digits of `k < n`, lowest first: `d_i` in `[-(2^(w-1) - 1), 2^(w-1)]`, and
/// zeros after the first `curve.digits()`.
fn digits(curve: &CurveParams, k: &Scalar) -> [i8; MAX_DIGITS] {
    let mut digits = [0; MAX_DIGITS];
    let window = curve.window;
    let mut carry = 0;
    for (i, digit) in digits.iter_mut().take(curve.digits()).enumerate() {
        let value = limbs::bits(k.limbs(), i * window as usize, window) + carry;
        carry = u32::from(value > 1 << (window - 1));
        *digit = (value as i32 - ((carry as i32) << window)) as i8;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::limbs::reference::{from_big, samples, to_big};
    use ::rsa::BigUint;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    const CURVES: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    #[test]
    fn signed_digits_sum_to_the_scalar() {
        for curve in CURVES {
            let params = curve.params();
            assert!(params.digits() <= MAX_DIGITS, "{curve}");
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let n = to_big(params.order.n());
            let half = 1i32 << (params.window - 1);
            for k in samples(&mut rng, &n) {
                let digits = digits(params, &Scalar::from_limbs(&params.order, from_big(&k)));
                let (mut positive, mut negative) = (BigUint::from(0u8), BigUint::from(0u8));
                for (i, &digit) in digits.iter().enumerate() {
                    assert!(-half < i32::from(digit) && i32::from(digit) <= half);
                    assert!(i < params.digits() || digit == 0);
                    let term = BigUint::from(digit.unsigned_abs()) << (params.window as usize * i);
                    if digit < 0 {
                        negative += term;
                    } else {
                        positive += term;
                    }
                }
                assert_eq!(positive - negative, k, "{curve} {k:x}");
            }
        }
    }

    #[test]
    fn base_point_multiples_add_up() {
        for curve in CURVES {
            let params = curve.params();
            let g = of_base_point(curve).unwrap();
            let order = &params.order;
            let one = Scalar::from_limbs(order, from_big(&BigUint::from(1u8)));
            let n_minus_one = Scalar::from_limbs(order, from_big(&(to_big(order.n()) - 1u8)));
            let base = Affine::base_point(params).unwrap();
            // 1 G + (n - 1) G is the identity; 1 G + 1 G is 2 G.
            assert!(
                double_mul(g, &one, g, &n_minus_one).is_identity(),
                "{curve}"
            );
            let two_g = double_mul(g, &one, g, &one);
            let doubled = Jacobian::from_affine(&base).double();
            assert!(two_g.has_x(to_affine_batch(&params.field, &[doubled]).unwrap()[0].x));
        }
    }

    #[test]
    fn tables_keep_only_the_limbs_of_their_curve() {
        let bytes = CURVES.map(|curve| of_base_point(curve).unwrap().memory_bytes());
        // Entries of 2 * len limbs: 11 * 32 * 18 * 4, 17 * 32 * 28 * 4, 18 * 32 * 36 * 4.
        assert_eq!(
            bytes.map(|b| b - mem::size_of::<Table>()),
            [25344, 60928, 82944]
        );
    }
}
