//! Arithmetic modulo a curve's group order `n`: what a verification needs of `r`, `s` and the
//! message digest. Scalars are plain integers below `n` (not in Montgomery form); the two
//! products per verification go through Montgomery multiplication and back, and the one
//! inversion is a binary extended Euclid, in variable time (`s` is public).

use super::curves::CurveParams;
use super::limbs::{self, Columns, LIMB_BITS, LIMB_MASK};
use std::marker::PhantomData;

/// An integer below the group order of curve `C`.
pub(super) struct Scalar<C, const N: usize> {
    limbs: [u32; N],
    curve: PhantomData<C>,
}

impl<C, const N: usize> Clone for Scalar<C, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C, const N: usize> Copy for Scalar<C, N> {}
impl<C, const N: usize> PartialEq for Scalar<C, N> {
    fn eq(&self, other: &Self) -> bool {
        self.limbs == other.limbs
    }
}
impl<C, const N: usize> std::fmt::Debug for Scalar<C, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scalar({:?})", self.limbs)
    }
}

impl<C: CurveParams<N>, const N: usize> Scalar<C, N> {
    const fn new(limbs: [u32; N]) -> Self {
        Scalar {
            limbs,
            curve: PhantomData,
        }
    }

    pub(super) fn limbs(&self) -> &[u32; N] {
        &self.limbs
    }

    /// A big-endian integer in `[1, n - 1]`, as ECDSA requires of `r` and `s`; `None` for 0 or
    /// anything from `n` on.
    pub(super) fn from_be_bytes_nonzero(bytes: &[u8]) -> Option<Self> {
        let value = limbs::from_be_bytes(bytes)?;
        (!limbs::is_zero(&value) && limbs::less_than(&value, &C::ORDER)).then(|| Self::new(value))
    }

    /// The integer a message digest stands for (SEC 1 §4.1.4 steps 4-5, FIPS 186-5 §6.4.2):
    /// its leftmost `bits(n)` bits, reduced mod `n`. A digest no longer than `n` (SHA-512 for
    /// P-521's 521 bits) is taken whole.
    pub(super) fn from_digest(digest: &[u8]) -> Self {
        let order_bits = bit_length(&C::ORDER);
        let order_bytes = order_bits.div_ceil(8);
        let leftmost = digest.get(..order_bytes).unwrap_or(digest);
        let mut value = limbs::from_be_bytes::<N>(leftmost).unwrap_or([0; N]);
        // Within the leftmost whole bytes, drop the bits beyond bits(n).
        let excess = (8 * leftmost.len()).saturating_sub(order_bits);
        for _ in 0..excess {
            value = limbs::half(&value, false);
        }
        // Now below 2^bits(n) < 2n: one subtraction reduces it.
        if !limbs::less_than(&value, &C::ORDER) {
            value = limbs::sub(&value, &C::ORDER).0;
        }
        Self::new(value)
    }

    /// `self * other mod n`: Montgomery products by `other` and by `R^2` (`a b R^-1 R^2 R^-1`).
    pub(super) fn mul(&self, other: &Self) -> Self {
        let product = montgomery_reduce::<C, N>(Columns::product(&self.limbs, &other.limbs));
        Self::new(montgomery_reduce::<C, N>(Columns::product(
            &product,
            &C::ORDER_R2,
        )))
    }

    /// `self^-1 mod n`, `None` for zero. Binary extended Euclid: `u = x1 self` and
    /// `v = x2 self (mod n)` all along, while `u` and `v` shrink to their gcd, 1 (n is prime).
    pub(super) fn invert(&self) -> Option<Self> {
        let (mut u, mut v) = (self.limbs, C::ORDER);
        let (mut x1, mut x2) = ([0; N], [0; N]);
        if let Some(low) = x1.first_mut() {
            *low = 1;
        }
        let is_one = |a: &[u32; N]| a.iter().enumerate().all(|(i, &l)| l == u32::from(i == 0));
        loop {
            if limbs::is_zero(&u) || limbs::is_zero(&v) {
                return None;
            }
            while u.first().is_some_and(|&low| low & 1 == 0) {
                u = limbs::half(&u, false);
                x1 = half_mod::<C, N>(&x1);
            }
            while v.first().is_some_and(|&low| low & 1 == 0) {
                v = limbs::half(&v, false);
                x2 = half_mod::<C, N>(&x2);
            }
            if is_one(&u) {
                return Some(Self::new(x1));
            }
            if is_one(&v) {
                return Some(Self::new(x2));
            }
            if limbs::less_than(&u, &v) {
                v = limbs::sub(&v, &u).0;
                x2 = sub_mod::<C, N>(&x2, &x1);
            } else {
                u = limbs::sub(&u, &v).0;
                x1 = sub_mod::<C, N>(&x1, &x2);
            }
        }
    }
}

/// `x / 2 mod n` for `x < n`: `x` or `x + n` (below `2n`, which fits) halved.
fn half_mod<C: CurveParams<N>, const N: usize>(x: &[u32; N]) -> [u32; N] {
    if x.first().is_some_and(|&low| low & 1 == 0) {
        limbs::half(x, false)
    } else {
        let (sum, carry) = limbs::add(x, &C::ORDER);
        limbs::half(&sum, carry)
    }
}

/// `a - b mod n` for `a, b < n`.
fn sub_mod<C: CurveParams<N>, const N: usize>(a: &[u32; N], b: &[u32; N]) -> [u32; N] {
    let (difference, borrowed) = limbs::sub(a, b);
    if borrowed {
        limbs::add(&difference, &C::ORDER).0
    } else {
        difference
    }
}

/// Montgomery reduction modulo `n` of the columns of a product of two numbers below `n`:
/// `x R^-1 mod n`. For column `c < N`, `m = v (-n^-1) mod 2^29` makes `v + m n_0` divisible
/// by `2^29`, and `m n_j` goes to column `c + j`. Columns stay below `2N 2^58 < 2^64`.
fn montgomery_reduce<C: CurveParams<N>, const N: usize>(mut columns: Columns<N>) -> [u32; N] {
    let mut carry = 0u64;
    for c in 0..N {
        let value = columns.get(c).wrapping_add(carry);
        let m = (value as u32).wrapping_mul(C::ORDER_NEG_INVERSE) & LIMB_MASK;
        let mut limbs_of_n = C::ORDER.iter().map(|&limb| u64::from(m) * u64::from(limb));
        let low = limbs_of_n.next().unwrap_or(0);
        carry = (value + low) >> LIMB_BITS;
        for (j, term) in (1..).zip(limbs_of_n) {
            columns.add(c + j, term);
        }
    }
    let mut out = [0; N];
    for (c, limb) in (N..).zip(out.iter_mut()) {
        let value = columns.get(c) + carry;
        *limb = value as u32 & LIMB_MASK;
        carry = value >> LIMB_BITS;
    }
    // Below 2n (and below R, as 2n < R for these orders): one subtraction.
    if carry != 0 || !limbs::less_than(&out, &C::ORDER) {
        out = limbs::sub(&out, &C::ORDER).0;
    }
    out
}

fn bit_length<const N: usize>(limbs: &[u32; N]) -> usize {
    limbs.iter().rposition(|&limb| limb != 0).map_or(0, |top| {
        top * LIMB_BITS as usize
            + (32 - limbs.get(top).copied().unwrap_or(0).leading_zeros() as usize)
    })
}
