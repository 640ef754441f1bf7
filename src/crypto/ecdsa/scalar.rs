//! Arithmetic modulo a curve's group order `n`: what a verification needs of `r`, `s` and the
//! message digest. Scalars are plain integers below `n` (not in Montgomery form); the two
//! products per verification go through Montgomery multiplication and back, and the one
//! inversion is a binary extended Euclid, in variable time (`s` is public).

use super::limbs::{self, Columns, LIMB_BITS, LIMB_MASK, Limbs, MAX_LIMBS};

/// The constants of one group order.
pub(super) struct Order {
    /// The order `n`.
    n: Limbs,
    /// Limbs in use.
    len: usize,
    /// `R^2 mod n`, `R = 2^(29 MAX_LIMBS)`: products mod `n` run on P-521's width for every
    /// curve, one copy of the code for two products per verification.
    r2: Limbs,
    /// `-n^-1 mod 2^29`.
    neg_inverse: u32,
    /// Significant bits of `n`.
    bits: usize,
}

impl Order {
    pub(super) const fn new(n: Limbs) -> Order {
        let len = limbs::montgomery_len(&n);
        Order {
            n,
            len,
            r2: limbs::r_power_mod(&n, MAX_LIMBS, 2),
            neg_inverse: limbs::neg_inverse(&n),
            bits: limbs::bit_length(&n),
        }
    }

    pub(super) fn n(&self) -> &Limbs {
        &self.n
    }

    pub(super) fn bits(&self) -> usize {
        self.bits
    }

    /// A big-endian integer in `[1, n - 1]`, as ECDSA requires of `r` and `s`; `None` for 0 or
    /// anything from `n` on.
    pub(super) fn scalar_nonzero(&'static self, bytes: &[u8]) -> Option<Scalar> {
        let value = limbs::from_be_bytes(bytes, self.len)?;
        (!limbs::is_zero(&value) && limbs::less_than(&value, &self.n, self.len)).then_some(Scalar {
            limbs: value,
            order: self,
        })
    }

    /// The integer a message digest stands for (SEC 1 §4.1.4 steps 4-5, FIPS 186-5 §6.4.2):
    /// its leftmost `bits(n)` bits, reduced mod `n`. A digest no longer than `n` (SHA-512 for
    /// P-521's 521 bits) is taken whole.
    pub(super) fn scalar_of_digest(&'static self, digest: &[u8]) -> Scalar {
        let order_bytes = self.bits.div_ceil(8);
        let leftmost = digest.get(..order_bytes).unwrap_or(digest);
        // Within the leftmost whole bytes, drop the bits beyond bits(n) (fewer than 8).
        let excess = (8 * leftmost.len()).saturating_sub(self.bits) as u32;
        let mut shifted = Vec::with_capacity(leftmost.len());
        let mut previous = 0u8;
        for &byte in leftmost {
            shifted.push(((u16::from(previous) << 8 | u16::from(byte)) >> excess) as u8);
            previous = byte;
        }
        let mut value = limbs::from_be_bytes(&shifted, self.len).unwrap_or([0; limbs::MAX_LIMBS]);
        // Now below 2^bits(n) < 2n: one subtraction reduces it.
        if !limbs::less_than(&value, &self.n, self.len) {
            value = limbs::sub(&value, &self.n, self.len).0;
        }
        Scalar {
            limbs: value,
            order: self,
        }
    }

    /// `x = x / 2 mod n` for `x < n`: `x` or `x + n` (below `2n`, which fits) halved.
    fn half_mod_assign(&self, x: &mut Limbs) {
        let carried = x[0] & 1 == 1 && limbs::add_assign(x, &self.n, self.len);
        limbs::half_assign(x, carried, self.len);
    }

    /// `a = a - b mod n` for `a, b < n`.
    fn sub_mod_assign(&self, a: &mut Limbs, b: &Limbs) {
        if limbs::sub_assign(a, b, self.len) {
            limbs::add_assign(a, &self.n, self.len);
        }
    }

    /// Montgomery reduction modulo `n` of the columns of a product of two numbers below `n`:
    /// `x R^-1 mod n`. For column `c < MAX_LIMBS`, `m = v (-n^-1) mod 2^29` makes
    /// `v + m n_0` divisible by `2^29`, and `m n_j` goes to column `c + j`. Columns stay below
    /// `2 MAX_LIMBS 2^58 < 2^64`.
    fn reduce(&self, mut columns: Columns<MAX_LIMBS>) -> Limbs {
        let mut carry = 0u64;
        for c in 0..MAX_LIMBS {
            let value = columns.get(c).wrapping_add(carry);
            let m = (value as u32).wrapping_mul(self.neg_inverse) & LIMB_MASK;
            let mut limbs_of_n = self.n.iter().map(|&limb| u64::from(m) * u64::from(limb));
            let low = limbs_of_n.next().unwrap_or(0);
            carry = (value + low) >> LIMB_BITS;
            for (j, term) in (1..).zip(limbs_of_n) {
                columns.add(c + j, term);
            }
        }
        let mut out = [0; MAX_LIMBS];
        for (c, limb) in (MAX_LIMBS..).zip(out.iter_mut()) {
            let value = columns.get(c) + carry;
            *limb = value as u32 & LIMB_MASK;
            carry = value >> LIMB_BITS;
        }
        // Below 2n (and below R, as 2n < R): one subtraction.
        if carry != 0 || !limbs::less_than(&out, &self.n, MAX_LIMBS) {
            out = limbs::sub(&out, &self.n, MAX_LIMBS).0;
        }
        out
    }
}

/// An integer below the group order it carries.
#[derive(Clone, Copy)]
pub(super) struct Scalar {
    limbs: Limbs,
    order: &'static Order,
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.limbs == other.limbs
    }
}

impl std::fmt::Debug for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scalar({:?})", self.limbs)
    }
}

impl Scalar {
    #[cfg(test)]
    pub(super) fn from_limbs(order: &'static Order, limbs: Limbs) -> Self {
        Scalar { limbs, order }
    }

    pub(super) fn limbs(&self) -> &Limbs {
        &self.limbs
    }

    /// `self * other mod n`: Montgomery products by `other` and by `R^2` (`a b R^-1 R^2 R^-1`).
    pub(super) fn mul(&self, other: &Self) -> Self {
        let order = self.order;
        let product = order.reduce(Columns::product(&self.limbs, &other.limbs));
        let limbs = order.reduce(Columns::product(&product, &order.r2));
        Scalar { limbs, order }
    }

    /// `self^-1 mod n`, `None` for zero. Binary extended Euclid: `u = x1 self` and
    /// `v = x2 self (mod n)` all along, while `u` and `v` shrink to their gcd, 1 (n is prime).
    pub(super) fn invert(&self) -> Option<Self> {
        let order = self.order;
        let len = order.len;
        let (mut u, mut v) = (self.limbs, order.n);
        let (mut x1, mut x2) = (limbs::one(), [0; limbs::MAX_LIMBS]);
        let one = limbs::one();
        loop {
            if limbs::is_zero(&u) || limbs::is_zero(&v) {
                return None;
            }
            while u[0] & 1 == 0 {
                limbs::half_assign(&mut u, false, len);
                order.half_mod_assign(&mut x1);
            }
            while v[0] & 1 == 0 {
                limbs::half_assign(&mut v, false, len);
                order.half_mod_assign(&mut x2);
            }
            if u == one {
                return Some(Scalar { limbs: x1, order });
            }
            if v == one {
                return Some(Scalar { limbs: x2, order });
            }
            if limbs::less_than(&u, &v, len) {
                limbs::sub_assign(&mut v, &u, len);
                order.sub_mod_assign(&mut x2, &x1);
            } else {
                limbs::sub_assign(&mut u, &v, len);
                order.sub_mod_assign(&mut x1, &x2);
            }
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

    fn order(curve: Curve) -> &'static Order {
        &curve.params().order
    }

    fn arithmetic_matches(curve: Curve, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let order = order(curve);
        let n = to_big(&order.n);
        let values = samples(&mut rng, &n);
        let scalar = |v: &BigUint| Scalar::from_limbs(order, from_big(v));
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
                assert_eq!(product, (a * b) % &n, "{curve} {a:x} * {b:x}");
            }
        }
    }

    #[test]
    fn products_and_inverses_match_biguint_mod_n() {
        arithmetic_matches(Curve::P256, 2560);
        arithmetic_matches(Curve::P384, 3840);
        arithmetic_matches(Curve::P521, 5210);
    }

    #[test]
    fn r_and_s_must_lie_between_1_and_n_minus_1() {
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let order = order(curve);
            let n = to_big(&order.n);
            let one = BigUint::from(1u8);
            let bytes = curve.coordinate_len();
            let fixed = |v: &BigUint| {
                let be = v.to_bytes_be();
                let mut out = vec![0; bytes - be.len().min(bytes)];
                out.extend(be);
                out
            };
            let accepted = |v: &BigUint| order.scalar_nonzero(&fixed(v)).is_some();
            assert!(!accepted(&BigUint::from(0u8)));
            assert!(accepted(&one));
            assert!(accepted(&(&n - &one)));
            assert!(!accepted(&n));
            assert!(!accepted(&(&n + &one)));
            assert!(order.scalar_nonzero(&vec![0xff; bytes]).is_none());
            // Within P-521's limbs but above a smaller curve's: refused.
            assert!(order.scalar_nonzero(&[0x02; 66]).is_none(), "{curve}");
        }
    }

    #[test]
    fn a_digest_is_its_leftmost_bits_of_n_reduced_mod_n() {
        let digest: Vec<u8> = (0..80u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(200))
            .collect();
        let (p256, p384, p521) = (order(Curve::P256), order(Curve::P384), order(Curve::P521));
        // P-256, SHA-256: all 256 bits, minus n when at least n.
        let n256 = to_big(&p256.n);
        let whole = BigUint::from_bytes_be(&digest[..32]);
        assert_eq!(
            to_big(p256.scalar_of_digest(&digest[..32]).limbs()),
            &whole % &n256
        );
        let all_ones = BigUint::from_bytes_be(&[0xff; 32]);
        assert!(all_ones > n256);
        assert_eq!(
            to_big(p256.scalar_of_digest(&[0xff; 32]).limbs()),
            &all_ones - &n256
        );
        // A longer digest gives its leftmost 256 bits.
        assert_eq!(
            to_big(p256.scalar_of_digest(&digest[..64]).limbs()),
            &whole % &n256
        );
        // P-521, SHA-512: 512 bits are fewer than n's 521, the digest is taken whole.
        let sha512 = BigUint::from_bytes_be(&digest[..64]);
        assert_eq!(to_big(p521.scalar_of_digest(&digest[..64]).limbs()), sha512);
        // P-521 with a 66-byte digest: its leftmost 521 bits, 7 bits dropped on the right.
        let n521 = to_big(&p521.n);
        let leftmost = BigUint::from_bytes_be(&digest[..66]) >> 7usize;
        assert_eq!(
            to_big(p521.scalar_of_digest(&digest[..66]).limbs()),
            leftmost % &n521
        );
        // P-384, SHA-384: 384 bits.
        let n384 = to_big(&p384.n);
        let sha384 = BigUint::from_bytes_be(&digest[..48]);
        assert_eq!(
            to_big(p384.scalar_of_digest(&digest[..48]).limbs()),
            sha384 % &n384
        );
    }
}
