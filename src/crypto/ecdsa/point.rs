//! Points of a curve `y^2 = x^3 - 3x + b`: affine (for tables and keys, never the identity)
//! and Jacobian (`x = X / Z^2`, `y = Y / Z^3`, the identity where `Z = 0`) for sums.
//!
//! Formulas from the Explicit-Formulas Database: doubling `dbl-2001-b` (3M + 5S, `a = -3`),
//! mixed addition after `madd-2004-hmv` (8M + 3S), addition `add-1998-cmo-2` (12M + 4S). They
//! are not complete, so the cases they miss (the identity, `P + P`, `P - P`) take branches:
//! every input is public.

use super::curves::CurveParams;
use super::field::{Fe, Field};

/// A point on the curve other than the identity.
#[derive(Clone, Copy)]
pub(super) struct Affine {
    pub(super) x: Fe,
    pub(super) y: Fe,
}

/// A point in Jacobian coordinates; `z = 0` is the identity.
#[derive(Clone, Copy)]
pub(super) struct Jacobian {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Affine {
    /// The point `(x, y)` of `curve`'s field if it satisfies the curve equation.
    pub(super) fn on_curve(curve: &'static CurveParams, x: Fe, y: Fe) -> Option<Self> {
        let field = &curve.field;
        let b = field.element(&curve.b)?;
        let one = field.one();
        let right = (x.square() - one.double() - one) * x + b;
        (y.square() == right).then_some(Affine { x, y })
    }

    /// The base point `G`.
    pub(super) fn base_point(curve: &'static CurveParams) -> Option<Self> {
        let field = &curve.field;
        Self::on_curve(curve, field.element(&curve.gx)?, field.element(&curve.gy)?)
    }

    pub(super) fn negated(self) -> Self {
        Affine {
            x: self.x,
            y: -self.y,
        }
    }
}

impl Jacobian {
    pub(super) fn identity(field: &'static Field) -> Self {
        Jacobian {
            x: field.one(),
            y: field.one(),
            z: field.zero(),
        }
    }
    pub(super) fn is_identity(&self) -> bool {
        self.z.is_zero()
    }

    pub(super) fn from_affine(point: &Affine) -> Self {
        Jacobian {
            x: point.x,
            y: point.y,
            z: point.x.field().one(),
        }
    }

    /// Whether the affine x of this point (not the identity) is `x`: `X = x Z^2`.
    pub(super) fn has_x(&self, x: Fe) -> bool {
        self.x == x * self.z.square()
    }

    /// `2 P`. The identity stays the identity (`Z3 = 2 Y Z`); no point has order 2 here.
    #[inline(never)]
    pub(super) fn double(&self) -> Self {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x * gamma;
        let t = (self.x - delta) * (self.x + delta);
        let alpha = t.double() + t;
        let beta4 = beta.double().double();
        let x = alpha.square() - beta4.double();
        let z = (self.y + self.z).square() - gamma - delta;
        let gamma2 = gamma.square().double();
        let y = alpha * (beta4 - x) - gamma2.double().double();
        Jacobian { x, y, z }
    }

    /// `P + Q` for an affine `Q`.
    #[inline(never)]
    pub(super) fn add_affine(&self, other: &Affine) -> Self {
        if self.is_identity() {
            return Self::from_affine(other);
        }
        let z1z1 = self.z.square();
        let u2 = other.x * z1z1;
        let s2 = other.y * self.z * z1z1;
        let h = u2 - self.x;
        let r = s2 - self.y;
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Self::identity(self.z.field())
            };
        }
        let hh = h.square();
        let hhh = h * hh;
        let v = self.x * hh;
        let x = r.square() - hhh - v.double();
        let y = r * (v - x) - self.y * hhh;
        let z = self.z * h;
        Jacobian { x, y, z }
    }

    /// `P + Q`.
    #[inline(never)]
    pub(super) fn add(&self, other: &Self) -> Self {
        if self.is_identity() {
            return *other;
        }
        if other.is_identity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = other.z.square();
        let u1 = self.x * z2z2;
        let u2 = other.x * z1z1;
        let s1 = self.y * other.z * z2z2;
        let s2 = other.y * self.z * z1z1;
        let h = u2 - u1;
        let r = s2 - s1;
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Self::identity(self.z.field())
            };
        }
        let hh = h.square();
        let hhh = h * hh;
        let v = u1 * hh;
        let x = r.square() - hhh - v.double();
        let y = r * (v - x) - s1 * hhh;
        let z = self.z * other.z * h;
        Jacobian { x, y, z }
    }
}

/// The affine forms of many points with one field inversion (Montgomery's trick); `None` if
/// any is the identity.
pub(super) fn to_affine_batch(field: &'static Field, points: &[Jacobian]) -> Option<Vec<Affine>> {
    // prefix[i] = z_0 ... z_(i-1)
    let mut prefix = Vec::with_capacity(points.len());
    let mut product = field.one();
    for point in points {
        if point.is_identity() {
            return None;
        }
        prefix.push(product);
        product = product * point.z;
    }
    // inverse = (z_0 ... z_i)^-1 going down.
    let mut inverse = product.invert();
    let mut affine = Vec::with_capacity(points.len());
    for (point, before) in points.iter().zip(prefix).rev() {
        let z_inverse = inverse * before;
        inverse = inverse * point.z;
        let z2 = z_inverse.square();
        affine.push(Affine {
            x: point.x * z2,
            y: point.y * z2 * z_inverse,
        });
    }
    affine.reverse();
    Some(affine)
}
