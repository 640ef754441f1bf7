//! Numbers as little-endian 29-bit limbs in u32s, the representation that ECDSA's field and
//! scalar arithmetic share, and the column sums of their products.
//!
//! 29 bits for the reason `crypto::rsa::montgomery` gives: in V8 the widest fast product is
//! `u32 * u32 -> u64`, and with limbs below 2^29 a whole column of a product (18 limbs for
//! P-521, 36 terms with a Montgomery reduction) adds up in a u64 without carries.
//!
//! Every number has room for the widest curve's limbs ([`MAX_LIMBS`]); a curve uses the first
//! `len` of them and leaves the others zero. So one copy of the code serves all three curves,
//! with `len` passed along, rather than one copy per limb count.

use crate::crypto::limb_bytes::limbs_to_be;
pub(super) use crate::crypto::limb_bytes::{LIMB_BITS, LIMB_MASK};
/// Limbs of P-521's numbers (521 bits, and one spare so that `2p` and `2n` fit).
pub(super) const MAX_LIMBS: usize = 18;

/// A number of up to [`MAX_LIMBS`] limbs.
pub(super) type Limbs = [u32; MAX_LIMBS];

/// The `2N - 1` column sums of a product of two `N`-limb numbers (column `c` sums the products
/// of limbs `i` and `j` with `i + j = c`), split in halves because `[u64; 2 * N]` cannot be
/// named for a generic `N`. Column `2N - 1` is always zero.
///
/// Generic over `N` where the rest of the code is not: products are where the time goes, and
/// with `N` a constant their loops unroll and their columns stay in locals.
pub(super) struct Columns<const N: usize> {
    low: [u64; N],
    high: [u64; N],
}

impl<const N: usize> Columns<N> {
    /// The column sums of `a * b`.
    #[inline(always)]
    pub(super) fn product(a: &[u32; N], b: &[u32; N]) -> Columns<N> {
        let mut columns = Columns {
            low: [0; N],
            high: [0; N],
        };
        for (i, &x) in a.iter().enumerate() {
            for (j, &y) in b.iter().enumerate() {
                columns.add(i + j, u64::from(x) * u64::from(y));
            }
        }
        columns
    }

    /// The column sums of `a * a`: each cross product `a[i] * a[j]` (i < j) computed once and
    /// doubled.
    #[inline(always)]
    pub(super) fn square(a: &[u32; N]) -> Columns<N> {
        let mut columns = Columns {
            low: [0; N],
            high: [0; N],
        };
        for (i, &x) in a.iter().enumerate() {
            let doubled = 2 * u64::from(x);
            for (j, &y) in a.iter().enumerate().skip(i + 1) {
                columns.add(i + j, doubled * u64::from(y));
            }
            columns.add(2 * i, u64::from(x) * u64::from(x));
        }
        columns
    }

    /// Adds `value` (wrapping) to column `c`; nothing beyond the last column.
    #[inline(always)]
    pub(super) fn add(&mut self, c: usize, value: u64) {
        let column = if c < N {
            self.low.get_mut(c)
        } else {
            self.high.get_mut(c - N)
        };
        if let Some(column) = column {
            *column = column.wrapping_add(value);
        }
    }

    /// Column `c` (0 beyond the last).
    #[inline(always)]
    pub(super) fn get(&self, c: usize) -> u64 {
        let column = if c < N {
            self.low.get(c)
        } else {
            self.high.get(c - N)
        };
        column.copied().unwrap_or(0)
    }
}

/// `N` limbs as a number, the limbs above zero.
#[inline(always)]
pub(super) fn widen<const N: usize>(a: &[u32; N]) -> Limbs {
    // Limb by limb rather than zeros then a copy: in V8 a filled or copied block is a call.
    std::array::from_fn(|i| a.get(i).copied().unwrap_or(0))
}

/// `a < b`, comparing their first `len` limbs.
pub(super) fn less_than(a: &Limbs, b: &Limbs, len: usize) -> bool {
    a.iter()
        .take(len)
        .rev()
        .zip(b.iter().take(len).rev())
        .find(|(x, y)| x != y)
        .is_some_and(|(x, y)| x < y)
}

// In place where it can be: in V8 copying a whole number is a call (`memory.copy`).

/// `a += b` over `len` limbs; whether it carried out of the top one.
pub(super) fn add_assign(a: &mut Limbs, b: &Limbs, len: usize) -> bool {
    let mut carry = 0;
    for (x, &y) in a.iter_mut().zip(b).take(len) {
        let total = *x + y + carry;
        *x = total & LIMB_MASK;
        carry = total >> LIMB_BITS;
    }
    carry != 0
}

/// `a -= b` modulo `2^(29 len)`; whether it borrowed (`a < b`).
pub(super) fn sub_assign(a: &mut Limbs, b: &Limbs, len: usize) -> bool {
    let mut borrow = 0;
    for (x, &y) in a.iter_mut().zip(b).take(len) {
        let total = x.wrapping_sub(y).wrapping_sub(borrow);
        *x = total & LIMB_MASK;
        // Limbs are below 2^29: the difference wrapped exactly when its top bit is set.
        borrow = total >> 31;
    }
    borrow != 0
}

/// `a /= 2` over `len` limbs, with `top` as the bit above them.
pub(super) fn half_assign(a: &mut Limbs, top: bool, len: usize) {
    let mut above = u32::from(top);
    for x in a.iter_mut().take(len).rev() {
        let low = *x & 1;
        *x = (*x >> 1) | (above << (LIMB_BITS - 1));
        above = low;
    }
}

/// `a + b` over `len` limbs, and whether it carried out of the top one.
pub(super) fn add(a: &Limbs, b: &Limbs, len: usize) -> (Limbs, bool) {
    let mut sum = *a;
    let carried = add_assign(&mut sum, b, len);
    (sum, carried)
}

/// `a - b` modulo `2^(29 len)`, and whether it borrowed (`a < b`).
pub(super) fn sub(a: &Limbs, b: &Limbs, len: usize) -> (Limbs, bool) {
    let mut difference = *a;
    let borrowed = sub_assign(&mut difference, b, len);
    (difference, borrowed)
}

pub(super) fn is_zero(a: &Limbs) -> bool {
    a.iter().all(|&limb| limb == 0)
}

/// The number 1.
pub(super) const fn one() -> Limbs {
    let mut one = [0; MAX_LIMBS];
    one[0] = 1;
    one
}

/// Big-endian bytes as limbs, or `None` if the number does not fit in `len` limbs.
pub(super) fn from_be_bytes(bytes: &[u8], len: usize) -> Option<Limbs> {
    let mut limbs = [0; MAX_LIMBS];
    let (mut pending, mut pending_bits, mut filled) = (0u64, 0, 0);
    for &byte in bytes.iter().rev() {
        pending |= u64::from(byte) << pending_bits;
        pending_bits += 8;
        if pending_bits >= LIMB_BITS {
            push_limb(&mut limbs, len, &mut filled, pending as u32 & LIMB_MASK)?;
            pending >>= LIMB_BITS;
            pending_bits -= LIMB_BITS;
        }
    }
    push_limb(&mut limbs, len, &mut filled, pending as u32)?;
    Some(limbs)
}

/// Stores the next limb; a limb past `len` must be zero.
fn push_limb(limbs: &mut Limbs, len: usize, filled: &mut usize, limb: u32) -> Option<()> {
    match limbs.get_mut(*filled).filter(|_| *filled < len) {
        Some(slot) => *slot = limb,
        None if limb != 0 => return None,
        None => {}
    }
    *filled += 1;
    Some(())
}

/// The number as `len` big-endian bytes (bits beyond them dropped).
pub(super) fn to_be_bytes(limbs: &Limbs, len: usize) -> Vec<u8> {
    limbs_to_be(limbs, len)
}

/// Bits `start..start + width` (`width <= 29`) of the number.
pub(super) fn bits(limbs: &Limbs, start: usize, width: u32) -> u32 {
    let limb = start / LIMB_BITS as usize;
    let offset = (start % LIMB_BITS as usize) as u32;
    let low = u64::from(limbs.get(limb).copied().unwrap_or(0));
    let high = u64::from(limbs.get(limb + 1).copied().unwrap_or(0));
    (((high << LIMB_BITS | low) >> offset) & ((1 << width) - 1)) as u32
}

// Compile-time constants. These run in const evaluation only, where an index out of range or a
// bad hex digit stops the build: they never run on a request.

/// A big-endian hex constant as limbs.
#[allow(clippy::indexing_slicing, clippy::panic)]
pub(super) const fn from_hex(hex: &str) -> Limbs {
    let digits = hex.as_bytes();
    let mut limbs = [0u32; MAX_LIMBS];
    let mut bit = 0;
    let mut i = digits.len();
    while i > 0 {
        i -= 1;
        let digit = digits[i];
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        } as u32;
        let (limb, offset) = (bit / LIMB_BITS as usize, bit as u32 % LIMB_BITS);
        if value != 0 {
            limbs[limb] |= (value << offset) & LIMB_MASK;
            if offset + 4 > LIMB_BITS && value >> (LIMB_BITS - offset) != 0 {
                limbs[limb + 1] |= value >> (LIMB_BITS - offset);
            }
        }
        bit += 4;
    }
    limbs
}

/// Significant bits of a number (compile time).
#[allow(clippy::indexing_slicing)]
pub(super) const fn bit_length(limbs: &Limbs) -> usize {
    let mut i = MAX_LIMBS;
    while i > 0 {
        i -= 1;
        if limbs[i] != 0 {
            return i * LIMB_BITS as usize + (32 - limbs[i].leading_zeros() as usize);
        }
    }
    0
}

/// Limbs a Montgomery modulus `m` needs: `R = 2^(29 len)` above `2m`.
pub(super) const fn montgomery_len(m: &Limbs) -> usize {
    (bit_length(m) + 1).div_ceil(LIMB_BITS as usize)
}

/// `2^(29 len * k) mod m` for odd `m` below `2^(29 len - 1)`: `R^k mod m`, by doubling from 1.
#[allow(clippy::indexing_slicing)]
pub(super) const fn r_power_mod(m: &Limbs, len: usize, k: usize) -> Limbs {
    let mut x = one();
    let mut doublings = k * LIMB_BITS as usize * len;
    while doublings > 0 {
        doublings -= 1;
        // x = 2x, then minus m if it reached m (x < m before, so 2x < 2m).
        let mut carry = 0;
        let mut i = 0;
        while i < len {
            let doubled = (x[i] << 1) | carry;
            carry = doubled >> LIMB_BITS;
            x[i] = doubled & LIMB_MASK;
            i += 1;
        }
        let mut below = true;
        let mut i = len;
        while i > 0 {
            i -= 1;
            if x[i] != m[i] {
                below = x[i] < m[i];
                break;
            }
            if i == 0 {
                below = false;
            }
        }
        if !below || carry != 0 {
            let mut borrow = 0;
            let mut i = 0;
            while i < len {
                let total = x[i].wrapping_sub(m[i]).wrapping_sub(borrow);
                x[i] = total & LIMB_MASK;
                borrow = total >> 31;
                i += 1;
            }
        }
    }
    x
}

/// `-m^-1 mod 2^29` for odd `m`, by Newton's iteration (3, 6, 12, 24, 48 correct bits).
#[allow(clippy::indexing_slicing)]
pub(super) const fn neg_inverse(m: &Limbs) -> u32 {
    let m0 = m[0];
    let mut inverse = m0;
    let mut step = 0;
    while step < 4 {
        inverse = inverse.wrapping_mul(2u32.wrapping_sub(m0.wrapping_mul(inverse)));
        step += 1;
    }
    inverse.wrapping_neg() & LIMB_MASK
}

/// Conversions to and from the reference big integers of the tests.
#[cfg(test)]
pub(super) mod reference {
    use super::*;
    use ::rsa::BigUint;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::RngCore;

    pub(in crate::crypto::ecdsa) fn to_big(limbs: &Limbs) -> BigUint {
        limbs.iter().rev().fold(BigUint::from(0u8), |value, &limb| {
            assert!(limb <= LIMB_MASK, "limb {limb:#x} too wide");
            (value << LIMB_BITS as usize) + limb
        })
    }

    pub(in crate::crypto::ecdsa) fn from_big(value: &BigUint) -> Limbs {
        from_be_bytes(&value.to_bytes_be(), MAX_LIMBS).expect("fits")
    }

    /// Values below `m` worth testing: 0, 1, 2, m - 1, m - 2, the all-ones number below m,
    /// the powers of two at limb edges and random ones (some with long runs of ones/zeros).
    pub(in crate::crypto::ecdsa) fn samples(rng: &mut ChaCha8Rng, m: &BigUint) -> Vec<BigUint> {
        let one = BigUint::from(1u8);
        let mut values = vec![
            BigUint::from(0u8),
            one.clone(),
            BigUint::from(2u8),
            m - &one,
            m - BigUint::from(2u8),
            (&one << (m.bits() - 1)) - &one,
            &one << (m.bits() - 1),
            &one << 29usize,
            (&one << 58usize) - &one,
        ];
        for _ in 0..24 {
            let mut bytes = vec![0u8; m.to_bytes_be().len() + 8];
            rng.fill_bytes(&mut bytes);
            if rng.next_u32().is_multiple_of(3) {
                // Runs of 0x00 and 0xff bytes stress carries and borrows.
                for byte in bytes.iter_mut() {
                    *byte = if *byte < 128 { 0 } else { 0xff };
                }
            }
            values.push(BigUint::from_bytes_be(&bytes) % m);
        }
        values.retain(|v| v < m);
        values
    }
}

#[cfg(test)]
mod tests {
    use super::reference::*;
    use super::*;
    use ::rsa::BigUint;

    #[test]
    fn bytes_round_trip_through_limbs() {
        for bytes in [
            vec![],
            vec![0],
            vec![1],
            vec![0xff; 32],
            [vec![1], vec![0x80; 65]].concat(),
            (0..66).collect(),
        ] {
            let limbs = from_be_bytes(&bytes, MAX_LIMBS).unwrap();
            assert_eq!(to_big(&limbs), BigUint::from_bytes_be(&bytes));
            assert_eq!(to_be_bytes(&limbs, bytes.len()), bytes);
        }
    }

    #[test]
    fn numbers_too_wide_for_the_limbs_are_refused() {
        // 9 limbs hold 261 bits.
        let mut bytes = vec![0u8; 33];
        bytes[0] = 0x1f;
        assert!(from_be_bytes(&bytes, 9).is_some());
        bytes[0] = 0x20;
        assert!(from_be_bytes(&bytes, 9).is_none());
        assert!(from_be_bytes(&bytes, MAX_LIMBS).is_some());
        assert!(from_be_bytes(&[0; 100], 9).is_some());
        let mut wide = vec![0u8; 68];
        wide[0] = 0x40;
        assert!(from_be_bytes(&wide, MAX_LIMBS).is_none());
    }

    #[test]
    fn hex_constants_are_parsed_exactly() {
        let limbs = from_hex("1fffffffdeadbeef01");
        assert_eq!(
            to_big(&limbs),
            BigUint::parse_bytes(b"1fffffffdeadbeef01", 16).unwrap()
        );
        assert_eq!(bit_length(&limbs), 69);
        assert_eq!(montgomery_len(&limbs), 3);
    }

    #[test]
    fn powers_of_r_and_the_negated_inverse_match_their_definitions() {
        let m_big = BigUint::parse_bytes(b"fffffffffffffffffffffffffffffffffffc3", 16).unwrap();
        let m = from_big(&m_big);
        let r = BigUint::from(1u8) << (LIMB_BITS as usize * 6);
        assert_eq!(to_big(&r_power_mod(&m, 6, 1)), &r % &m_big);
        assert_eq!(to_big(&r_power_mod(&m, 6, 2)), (&r * &r) % &m_big);
        let m0 = m[0];
        assert_eq!(m0.wrapping_mul(neg_inverse(&m)) & LIMB_MASK, LIMB_MASK);
    }

    #[test]
    fn products_and_squares_sum_their_columns() {
        let a = from_big(&BigUint::parse_bytes(b"1234567890abcdef1234567890abcdef", 16).unwrap());
        let b = from_big(&BigUint::parse_bytes(b"fedcba0987654321fedcba", 16).unwrap());
        let value = |columns: &Columns<5>| {
            (0..10).rev().fold(BigUint::from(0u8), |value, c| {
                (value << LIMB_BITS as usize) + columns.get(c)
            })
        };
        let (a5, b5) = (a.first_chunk::<5>().unwrap(), b.first_chunk::<5>().unwrap());
        assert_eq!(value(&Columns::product(a5, b5)), to_big(&a) * to_big(&b));
        assert_eq!(value(&Columns::square(a5)), to_big(&a) * to_big(&a));
        assert_eq!(widen(a5), a);
    }

    #[test]
    fn sums_differences_and_halves_work_on_the_first_limbs() {
        let all_ones = from_be_bytes(&[0xff; 4], 2).unwrap();
        let (sum, carried) = add(&all_ones, &one(), 2);
        assert!(!carried);
        assert_eq!(to_big(&sum), BigUint::from(1u64 << 32));
        let top = from_big(&((BigUint::from(1u8) << 58usize) - 1u8));
        assert!(add(&top, &one(), 2).1);
        let (difference, borrowed) = sub(&one(), &all_ones, 2);
        assert!(borrowed);
        let wrapped = (BigUint::from(1u8) << 58usize) + 1u8 - (BigUint::from(1u64 << 32) - 1u8);
        assert_eq!(to_big(&difference), wrapped);
        assert!(less_than(&one(), &all_ones, 2));
        assert!(!less_than(&all_ones, &all_ones, 2));
    }

    #[test]
    fn halving_shifts_in_the_bit_above() {
        let value = from_be_bytes(&[0x12, 0x34, 0x56, 0x79], 2).unwrap();
        let mut halved = value;
        half_assign(&mut halved, false, 2);
        assert_eq!(to_big(&halved), BigUint::from(0x1234_5679u32 >> 1));
        let mut halved = value;
        half_assign(&mut halved, true, 2);
        let top = BigUint::from(1u8) << (2 * LIMB_BITS as usize - 1);
        assert_eq!(to_big(&halved), top + (0x1234_5679u32 >> 1));
    }

    #[test]
    fn bits_are_read_across_limb_edges() {
        let value = from_big(&(BigUint::from(0b1011u8) << 27usize));
        assert_eq!(bits(&value, 27, 4), 0b1011);
        assert_eq!(bits(&value, 28, 3), 0b101);
        assert_eq!(bits(&value, 56, 6), 0);
    }
}
