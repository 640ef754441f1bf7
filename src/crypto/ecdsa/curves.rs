//! The NIST curves of JOSE (FIPS 186-5, SEC 2): `y^2 = x^3 - 3x + b` over a prime field, of
//! prime order `n` (cofactor 1), with their base points, and the table shapes chosen for each.

use super::limbs::{from_hex, neg_inverse, r_power_mod};
use super::table::Table;
use std::sync::OnceLock;

/// One curve's constants, all as 29-bit limbs (`N` of them).
pub(super) trait CurveParams<const N: usize>: Copy + Send + Sync + 'static {
    /// The JWK `crv` name, for messages.
    const NAME: &'static str;
    /// Bytes of a coordinate or scalar in JOSE (RFC 7518 §6.2.1.2, §3.4).
    const BYTES: usize;
    /// The field prime `p`.
    const P: [u32; N];
    /// `p + 1` as a sum of signed powers of two, each at least `2^29`: `(exponent, negative)`.
    /// This is what makes the field's Montgomery reduction shifts rather than products.
    const P_PLUS_ONE: &'static [(u32, bool)];
    /// The group order `n`.
    const ORDER: [u32; N];
    /// `b` of the curve equation.
    const B: [u32; N];
    const GX: [u32; N];
    const GY: [u32; N];
    /// Window of the signed digits a scalar is written in (a table holds `2^(WINDOW - 1)`
    /// multiples per position).
    const WINDOW: u32;
    /// Digits apart between two table positions: positions cover every `SPACING`-th digit, and
    /// a scalar multiplication doubles `WINDOW * (SPACING - 1)` times.
    const SPACING: usize;

    /// Signed digits of a scalar: enough for `n` and the carry out of the top digit.
    const DIGITS: usize = (bit_length(&Self::ORDER) + 1).div_ceil(Self::WINDOW as usize);
    /// `R^2 mod p`, `R = 2^(29 N)`: Montgomery form in one multiplication.
    const P_R2: [u32; N] = r_power_mod(&Self::P, 2);
    /// `R mod p`: one in Montgomery form.
    const P_R: [u32; N] = r_power_mod(&Self::P, 1);
    /// `R^2 mod n`.
    const ORDER_R2: [u32; N] = r_power_mod(&Self::ORDER, 2);
    /// `-n^-1 mod 2^29`.
    const ORDER_NEG_INVERSE: u32 = neg_inverse(&Self::ORDER);

    /// The table of the base point, built on first use in this VM (`None` only if the
    /// constants were wrong, which the unit tests rule out).
    fn base_table() -> Option<&'static Table<Self, N>>;
}

/// Significant bits of a number in limbs (compile time).
#[allow(clippy::indexing_slicing)]
const fn bit_length<const N: usize>(limbs: &[u32; N]) -> usize {
    let mut i = N;
    while i > 0 {
        i -= 1;
        if limbs[i] != 0 {
            return i * 29 + (32 - limbs[i].leading_zeros() as usize);
        }
    }
    0
}

#[derive(Debug, Clone, Copy)]
pub(super) struct P256;
#[derive(Debug, Clone, Copy)]
pub(super) struct P384;
#[derive(Debug, Clone, Copy)]
pub(super) struct P521;

impl CurveParams<9> for P256 {
    const NAME: &'static str = "P-256";
    const BYTES: usize = 32;
    const P: [u32; 9] =
        from_hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    const P_PLUS_ONE: &'static [(u32, bool)] =
        &[(256, false), (224, true), (192, false), (96, false)];
    const ORDER: [u32; 9] =
        from_hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    const B: [u32; 9] =
        from_hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b");
    const GX: [u32; 9] =
        from_hex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
    const GY: [u32; 9] =
        from_hex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
    const WINDOW: u32 = 6;
    const SPACING: usize = 4;

    fn base_table() -> Option<&'static Table<Self, 9>> {
        static TABLE: OnceLock<Option<Table<P256, 9>>> = OnceLock::new();
        TABLE.get_or_init(Table::of_base_point).as_ref()
    }
}

impl CurveParams<14> for P384 {
    const NAME: &'static str = "P-384";
    const BYTES: usize = 48;
    const P: [u32; 14] = from_hex(concat!(
        "ffffffffffffffffffffffffffffffffffffffffffffffff",
        "fffffffffffffffeffffffff0000000000000000ffffffff"
    ));
    const P_PLUS_ONE: &'static [(u32, bool)] =
        &[(384, false), (128, true), (96, true), (32, false)];
    const ORDER: [u32; 14] = from_hex(concat!(
        "ffffffffffffffffffffffffffffffffffffffffffffffff",
        "c7634d81f4372ddf581a0db248b0a77aecec196accc52973"
    ));
    const B: [u32; 14] = from_hex(concat!(
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe814112",
        "0314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef"
    ));
    const GX: [u32; 14] = from_hex(concat!(
        "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b98",
        "59f741e082542a385502f25dbf55296c3a545e3872760ab7"
    ));
    const GY: [u32; 14] = from_hex(concat!(
        "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147c",
        "e9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f"
    ));
    const WINDOW: u32 = 6;
    const SPACING: usize = 4;

    fn base_table() -> Option<&'static Table<Self, 14>> {
        static TABLE: OnceLock<Option<Table<P384, 14>>> = OnceLock::new();
        TABLE.get_or_init(Table::of_base_point).as_ref()
    }
}

impl CurveParams<18> for P521 {
    const NAME: &'static str = "P-521";
    const BYTES: usize = 66;
    const P: [u32; 18] = from_hex(concat!(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    ));
    const P_PLUS_ONE: &'static [(u32, bool)] = &[(521, false)];
    const ORDER: [u32; 18] = from_hex(concat!(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
    ));
    const B: [u32; 18] = from_hex(concat!(
        "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109",
        "e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00"
    ));
    const GX: [u32; 18] = from_hex(concat!(
        "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3d",
        "baa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66"
    ));
    const GY: [u32; 18] = from_hex(concat!(
        "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e66",
        "2c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650"
    ));
    const WINDOW: u32 = 6;
    const SPACING: usize = 5;

    fn base_table() -> Option<&'static Table<Self, 18>> {
        static TABLE: OnceLock<Option<Table<P521, 18>>> = OnceLock::new();
        TABLE.get_or_init(Table::of_base_point).as_ref()
    }
}
