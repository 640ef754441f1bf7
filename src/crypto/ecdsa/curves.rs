//! The NIST curves of JOSE (FIPS 186-5, SEC 2): `y^2 = x^3 - 3x + b` over a prime field, of
//! prime order `n` (cofactor 1), with their base points, and the table shapes chosen for each.
//!
//! Each curve is one constant struct that the shared arithmetic is handed, not a type that
//! it is generic over: one copy of the code serves the three curves.

use super::Curve;
use super::field::{Field, Prime};
use super::limbs::{Limbs, from_hex};
use super::scalar::Order;

/// One curve's constants, numbers as 29-bit limbs.
pub(super) struct CurveParams {
    pub(super) field: Field,
    pub(super) order: Order,
    /// `b` of the curve equation.
    pub(super) b: Limbs,
    pub(super) gx: Limbs,
    pub(super) gy: Limbs,
    /// Window of the signed digits a scalar is written in (a table holds `2^(window - 1)`
    /// multiples per position).
    pub(super) window: u32,
    /// Digits apart between two table positions: positions cover every `spacing`-th digit,
    /// and a scalar multiplication doubles `window * (spacing - 1)` times.
    pub(super) spacing: usize,
}

impl CurveParams {
    /// Signed digits of a scalar: enough for `n` and the carry out of the top digit.
    pub(super) fn digits(&self) -> usize {
        (self.order.bits() + 1).div_ceil(self.window as usize)
    }

    /// Multiples of a point per table position.
    pub(super) fn multiples(&self) -> usize {
        1 << (self.window - 1)
    }

    /// Positions of a table.
    pub(super) fn positions(&self) -> usize {
        self.digits().div_ceil(self.spacing)
    }
}

impl Curve {
    pub(super) fn params(self) -> &'static CurveParams {
        match self {
            Curve::P256 => &P256,
            Curve::P384 => &P384,
            Curve::P521 => &P521,
        }
    }
}

static P256: CurveParams = CurveParams {
    field: Field::new(
        Prime::P256,
        from_hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
        Curve::P256.coordinate_len(),
    ),
    order: Order::new(from_hex(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
    )),
    b: from_hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"),
    gx: from_hex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
    gy: from_hex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"),
    window: 6,
    spacing: 4,
};

static P384: CurveParams = CurveParams {
    field: Field::new(
        Prime::P384,
        from_hex(concat!(
            "ffffffffffffffffffffffffffffffffffffffffffffffff",
            "fffffffffffffffeffffffff0000000000000000ffffffff"
        )),
        Curve::P384.coordinate_len(),
    ),
    order: Order::new(from_hex(concat!(
        "ffffffffffffffffffffffffffffffffffffffffffffffff",
        "c7634d81f4372ddf581a0db248b0a77aecec196accc52973"
    ))),
    b: from_hex(concat!(
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe814112",
        "0314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef"
    )),
    gx: from_hex(concat!(
        "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b98",
        "59f741e082542a385502f25dbf55296c3a545e3872760ab7"
    )),
    gy: from_hex(concat!(
        "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147c",
        "e9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f"
    )),
    window: 6,
    spacing: 4,
};

static P521: CurveParams = CurveParams {
    field: Field::new(
        Prime::P521,
        from_hex(concat!(
            "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        )),
        Curve::P521.coordinate_len(),
    ),
    order: Order::new(from_hex(concat!(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
    ))),
    b: from_hex(concat!(
        "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109",
        "e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00"
    )),
    gx: from_hex(concat!(
        "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3d",
        "baa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66"
    )),
    gy: from_hex(concat!(
        "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e66",
        "2c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650"
    )),
    window: 6,
    spacing: 5,
};
