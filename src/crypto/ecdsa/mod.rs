//! ECDSA verification on the JOSE curves: ES256 (P-256, SHA-256), ES384 (P-384, SHA-384) and
//! ES512 (P-521, SHA-512), with signatures in JOSE's fixed-length `r || s` form only.
//!
//! A key's coordinates are checked once (exact length, below `p`, on the curve) and a table of
//! its multiples is built then, kept with the key; the base point's table is built on first
//! use in each VM. A verification is then one inversion mod `n`, two products mod `n`, and
//! `u1 G + u2 Q` read from the two tables ([`table`]), with `x(R) = r mod n` checked in
//! Jacobian form, without a field inversion.
//!
//! One copy of the code serves the three curves: a curve is a constant struct of parameters
//! ([`curves`]) handed to the arithmetic, numbers have room for P-521's 18 limbs, and a curve
//! uses the first 9, 14 or 18. Only the field's products, squares, sums and differences
//! (nearly all of the time) are compiled once per prime, with the limb count a constant:
//! their loops unroll and their numbers stay in locals, where a loop over a variable count or
//! a copy of a whole number through memory (a call in V8) would make a verification up to
//! twice as slow. So ECDSA adds 39.7 KB to the optimised module rather than the 65.0 KB of
//! code generic over the curve (2026-12-03), for verifications in V8 within 10% of that
//! code's (P-256 +8%, P-384 +7%, P-521 the same); tables keep only their curve's limbs.
//!
//! | file | job |
//! |------|-----|
//! | [`limbs`] | 29-bit limbs: conversions, carries, the column sums of products |
//! | [`field`] | arithmetic mod `p` (Montgomery form, reduction by shifts for these primes), the per-prime hot operations |
//! | [`scalar`] | arithmetic mod `n`: range checks, digest to integer, inversion, products |
//! | [`point`] | affine and Jacobian points: doubling, additions, batch conversion |
//! | [`table`] | tables of multiples (and the base point's, per VM), the double-scalar multiplication |
//! | [`curves`] | the curves' constants and the shape of their tables |
//!
//! Everything here handles public data (keys, signatures, messages), so it runs in variable
//! time; it never panics, whatever the input.

mod curves;
mod field;
mod limbs;
mod point;
mod scalar;
mod table;

use crate::crypto::Hash;
use point::Affine;
use std::fmt;
use std::sync::Arc;
use table::Table;

/// A curve that JOSE signs with (RFC 7518 §3.4, §6.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// The curve a JWK's `crv` names: `P-256`, `P-384` or `P-521`.
    pub fn from_jwk_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }

    /// The JWK `crv` name.
    pub const fn jwk_name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Bytes of a JWK coordinate (RFC 7518 §6.2.1.2: exactly this long, leading zeros kept).
    pub const fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// Bytes of a JOSE signature, `r || s` (RFC 7518 §3.4).
    pub const fn signature_len(self) -> usize {
        2 * self.coordinate_len()
    }

    /// The hash JOSE pairs with the curve: ES256, ES384, ES512.
    pub const fn hash(self) -> Hash {
        match self {
            Curve::P256 => Hash::Sha256,
            Curve::P384 => Hash::Sha384,
            Curve::P521 => Hash::Sha512,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jwk_name())
    }
}

/// Which coordinate of a key an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coordinate {
    X,
    Y,
}

impl fmt::Display for Coordinate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Coordinate::X => "x",
            Coordinate::Y => "y",
        })
    }
}

/// Why coordinates are not a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// A coordinate is not exactly [`Curve::coordinate_len`] bytes.
    Length {
        curve: Curve,
        coordinate: Coordinate,
        len: usize,
    },
    /// A coordinate is not below the field prime.
    NotInField {
        curve: Curve,
        coordinate: Coordinate,
    },
    /// `x = y = 0`, which some encodings use for the point at infinity.
    Identity,
    /// `(x, y)` does not satisfy the curve's equation.
    NotOnCurve { curve: Curve },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Length {
                curve,
                coordinate,
                len,
            } => write!(
                f,
                "{coordinate} is {len} bytes, {curve} needs {}",
                curve.coordinate_len()
            ),
            KeyError::NotInField { curve, coordinate } => {
                write!(f, "{coordinate} is not below the field prime of {curve}")
            }
            KeyError::Identity => f.write_str("point is the identity (x = y = 0), not a key"),
            KeyError::NotOnCurve { curve } => write!(f, "point is not on the curve {curve}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// Not exactly [`Curve::signature_len`] bytes (a DER signature, another curve's).
    Length { curve: Curve, len: usize },
    /// `r` is 0 or not below the group order.
    RangeR,
    /// `s` is 0 or not below the group order.
    RangeS,
    /// A well-formed signature that this key did not make for this message.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::Length { curve, len } => write!(
                f,
                "signature is {len} bytes, {curve} needs r || s of {}",
                curve.signature_len()
            ),
            SignatureError::RangeR => f.write_str("r is 0 or not below the group order"),
            SignatureError::RangeS => f.write_str("s is 0 or not below the group order"),
            SignatureError::Mismatch => f.write_str("signature does not match"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// An ECDSA public key with its table of multiples; cloning shares the table.
#[derive(Clone)]
pub struct PublicKey {
    prepared: Arc<Prepared>,
}

struct Prepared {
    curve: Curve,
    point: Affine,
    table: Table,
}

impl PublicKey {
    /// The key `(x, y)` on `curve`: each coordinate exactly [`Curve::coordinate_len`]
    /// big-endian bytes and below `p`, the point on the curve (which rules out the identity,
    /// which has no coordinates). Builds the key's table.
    pub fn from_coordinates(curve: Curve, x: &[u8], y: &[u8]) -> Result<PublicKey, KeyError> {
        Ok(PublicKey {
            prepared: Arc::new(Prepared::new(curve, x, y)?),
        })
    }

    pub fn curve(&self) -> Curve {
        self.prepared.curve
    }

    /// Checks `signature` (`r || s`, exactly [`Curve::signature_len`] bytes, `1 <= r, s < n`)
    /// over `message`, hashed with [`Curve::hash`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let curve = self.curve();
        if signature.len() != curve.signature_len() {
            return Err(SignatureError::Length {
                curve,
                len: signature.len(),
            });
        }
        let digest = curve.hash().digest(message);
        let (r, s) = signature.split_at(curve.coordinate_len());
        self.prepared.verify(digest.as_ref(), r, s)
    }

    /// Bytes this key keeps (its table and coordinates), shared by its clones.
    pub fn memory_bytes(&self) -> usize {
        mem_of_arc::<Prepared>() + self.prepared.table.memory_bytes()
    }

    /// The coordinates, `coordinate_len` bytes each.
    pub fn coordinates(&self) -> (Vec<u8>, Vec<u8>) {
        let point = &self.prepared.point;
        (point.x.to_be_bytes(), point.y.to_be_bytes())
    }
}

/// The allocation behind an `Arc<T>`: the value and two counters.
const fn mem_of_arc<T>() -> usize {
    std::mem::size_of::<T>() + 2 * std::mem::size_of::<usize>()
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.curve() == other.curve() && self.coordinates() == other.coordinates()
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (x, _) = self.coordinates();
        let x_start: String = x.iter().take(4).map(|b| format!("{b:02x}")).collect();
        f.debug_struct("PublicKey")
            .field("curve", &self.curve())
            .field("x", &format_args!("{x_start}.."))
            .finish_non_exhaustive()
    }
}

impl Prepared {
    fn new(curve: Curve, x: &[u8], y: &[u8]) -> Result<Self, KeyError> {
        let params = curve.params();
        let coordinate = |bytes: &[u8], coordinate| {
            if bytes.len() != curve.coordinate_len() {
                return Err(KeyError::Length {
                    curve,
                    coordinate,
                    len: bytes.len(),
                });
            }
            params
                .field
                .element_of_bytes(bytes)
                .ok_or(KeyError::NotInField { curve, coordinate })
        };
        let (x, y) = (coordinate(x, Coordinate::X)?, coordinate(y, Coordinate::Y)?);
        if x.is_zero() && y.is_zero() {
            return Err(KeyError::Identity);
        }
        let point = Affine::on_curve(params, x, y).ok_or(KeyError::NotOnCurve { curve })?;
        // Every point on these curves has the prime order n: its multiples are never the
        // identity, so the table cannot fail.
        let table = Table::new(params, &point).ok_or(KeyError::NotOnCurve { curve })?;
        Ok(Prepared {
            curve,
            point,
            table,
        })
    }

    /// SEC 1 §4.1.4 with `r, s` as big-endian bytes and the message digest.
    fn verify(&self, digest: &[u8], r: &[u8], s: &[u8]) -> Result<(), SignatureError> {
        let params = self.curve.params();
        let order = &params.order;
        let r = order.scalar_nonzero(r).ok_or(SignatureError::RangeR)?;
        let s = order.scalar_nonzero(s).ok_or(SignatureError::RangeS)?;
        let e = order.scalar_of_digest(digest);
        let w = s.invert().ok_or(SignatureError::Mismatch)?;
        let (u1, u2) = (e.mul(&w), r.mul(&w));
        let base = table::of_base_point(self.curve).ok_or(SignatureError::Mismatch)?;
        let sum = table::double_mul(base, &u1, &self.table, &u2);
        if sum.is_identity() {
            return Err(SignatureError::Mismatch);
        }
        // x(R) mod n = r: x(R) is r, or r + n where that is still below p.
        let field = &params.field;
        let matches =
            |candidate: &limbs::Limbs| field.element(candidate).is_some_and(|x| sum.has_x(x));
        let (r_plus_n, carried) = limbs::add(r.limbs(), order.n(), field.len());
        if matches(r.limbs()) || (!carried && matches(&r_plus_n)) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}
