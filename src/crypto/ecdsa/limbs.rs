//! Numbers as little-endian 29-bit limbs in u32s, the representation that ECDSA's field and
//! scalar arithmetic share, and the column sums of their products.
//!
//! 29 bits for the reason `crypto::rsa::montgomery` gives: in V8 the widest fast product is
//! `u32 * u32 -> u64`, and with limbs below 2^29 a whole column of a product (18 limbs for
//! P-521, 36 terms with a Montgomery reduction) adds up in a u64 without carries.

/// Bits per limb.
pub(super) const LIMB_BITS: u32 = 29;
/// The low `LIMB_BITS` bits.
pub(super) const LIMB_MASK: u32 = (1 << LIMB_BITS) - 1;

/// The `2N - 1` column sums of a product of two `N`-limb numbers (column `c` sums the products
/// of limbs `i` and `j` with `i + j = c`), split in halves because `[u64; 2 * N]` cannot be
/// named for a generic `N`. Column `2N - 1` is always zero.
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

// The helpers below run on slices and are never inlined: one copy serves every curve, which
// keeps the module small; the multiplications, where the time goes, are the ones unrolled.

/// `a < b`, for numbers of the same number of limbs.
#[inline(never)]
pub(super) fn less_than(a: &[u32], b: &[u32]) -> bool {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .find(|(x, y)| x != y)
        .is_some_and(|(x, y)| x < y)
}

/// `a += b`; whether it carried out of the top limb.
#[inline(never)]
pub(super) fn add_assign(a: &mut [u32], b: &[u32]) -> bool {
    let mut carry = 0;
    for (x, &y) in a.iter_mut().zip(b) {
        let total = *x + y + carry;
        *x = total & LIMB_MASK;
        carry = total >> LIMB_BITS;
    }
    carry != 0
}

/// `a -= b` modulo `2^(29 len)`; whether it borrowed (`a < b`).
#[inline(never)]
pub(super) fn sub_assign(a: &mut [u32], b: &[u32]) -> bool {
    let mut borrow = 0;
    for (x, &y) in a.iter_mut().zip(b) {
        let total = x.wrapping_sub(y).wrapping_sub(borrow);
        *x = total & LIMB_MASK;
        // Limbs are below 2^29: the difference wrapped exactly when its top bit is set.
        borrow = total >> 31;
    }
    borrow != 0
}

/// `a /= 2`, with `top` as the bit above the top limb.
#[inline(never)]
pub(super) fn half_assign(a: &mut [u32], top: bool) {
    let mut above = u32::from(top);
    for x in a.iter_mut().rev() {
        let low = *x & 1;
        *x = (*x >> 1) | (above << (LIMB_BITS - 1));
        above = low;
    }
}

/// `a + b`, and whether it carried out of the top limb.
pub(super) fn add<const N: usize>(a: &[u32; N], b: &[u32; N]) -> ([u32; N], bool) {
    let mut sum = *a;
    let carried = add_assign(&mut sum, b);
    (sum, carried)
}

/// `a - b` modulo `2^(29 N)`, and whether it borrowed (`a < b`).
pub(super) fn sub<const N: usize>(a: &[u32; N], b: &[u32; N]) -> ([u32; N], bool) {
    let mut difference = *a;
    let borrowed = sub_assign(&mut difference, b);
    (difference, borrowed)
}

/// `a / 2`, with `top` as the bit above the top limb.
pub(super) fn half<const N: usize>(a: &[u32; N], top: bool) -> [u32; N] {
    let mut halved = *a;
    half_assign(&mut halved, top);
    halved
}

pub(super) fn is_zero(a: &[u32]) -> bool {
    a.iter().all(|&limb| limb == 0)
}

/// Big-endian bytes as limbs, or `None` if the number does not fit in `N` limbs.
pub(super) fn from_be_bytes<const N: usize>(bytes: &[u8]) -> Option<[u32; N]> {
    let mut limbs = [0; N];
    let (mut pending, mut pending_bits, mut filled) = (0u64, 0, 0);
    for &byte in bytes.iter().rev() {
        pending |= u64::from(byte) << pending_bits;
        pending_bits += 8;
        if pending_bits >= LIMB_BITS {
            push_limb(&mut limbs, &mut filled, pending as u32 & LIMB_MASK)?;
            pending >>= LIMB_BITS;
            pending_bits -= LIMB_BITS;
        }
    }
    push_limb(&mut limbs, &mut filled, pending as u32)?;
    Some(limbs)
}

/// Stores the next limb; a limb past the end must be zero.
fn push_limb<const N: usize>(limbs: &mut [u32; N], filled: &mut usize, limb: u32) -> Option<()> {
    match limbs.get_mut(*filled) {
        Some(slot) => *slot = limb,
        None if limb != 0 => return None,
        None => {}
    }
    *filled += 1;
    Some(())
}

/// The number as `len` big-endian bytes (bits beyond them dropped).
pub(super) fn to_be_bytes<const N: usize>(limbs: &[u32; N], len: usize) -> Vec<u8> {
    let mut le_bytes = Vec::with_capacity(len);
    let (mut pending, mut pending_bits) = (0u64, 0);
    let mut limbs = limbs.iter();
    while le_bytes.len() < len {
        if pending_bits < 8 {
            pending |= u64::from(limbs.next().copied().unwrap_or(0)) << pending_bits;
            pending_bits += LIMB_BITS;
        }
        le_bytes.push(pending as u8);
        pending >>= 8;
        pending_bits -= 8;
    }
    le_bytes.reverse();
    le_bytes
}

/// Bits `start..start + width` (`width <= 29`) of the number.
pub(super) fn bits<const N: usize>(limbs: &[u32; N], start: usize, width: u32) -> u32 {
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
pub(super) const fn from_hex<const N: usize>(hex: &str) -> [u32; N] {
    let digits = hex.as_bytes();
    let mut limbs = [0u32; N];
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

/// `2^(29 N * k) mod m` for odd `m` below `2^(29 N - 1)`: `R^k mod m`, by doubling from 1.
#[allow(clippy::indexing_slicing)]
pub(super) const fn r_power_mod<const N: usize>(m: &[u32; N], k: usize) -> [u32; N] {
    let mut x = [0u32; N];
    x[0] = 1;
    let mut doublings = k * LIMB_BITS as usize * N;
    while doublings > 0 {
        doublings -= 1;
        // x = 2x, then minus m if it reached m (x < m before, so 2x < 2m).
        let mut carry = 0;
        let mut i = 0;
        while i < N {
            let doubled = (x[i] << 1) | carry;
            carry = doubled >> LIMB_BITS;
            x[i] = doubled & LIMB_MASK;
            i += 1;
        }
        let mut below = true;
        let mut i = N;
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
            while i < N {
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
pub(super) const fn neg_inverse<const N: usize>(m: &[u32; N]) -> u32 {
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

    pub(in crate::crypto::ecdsa) fn to_big<const N: usize>(limbs: &[u32; N]) -> BigUint {
        limbs.iter().rev().fold(BigUint::from(0u8), |value, &limb| {
            assert!(limb <= LIMB_MASK, "limb {limb:#x} too wide");
            (value << LIMB_BITS as usize) + limb
        })
    }

    pub(in crate::crypto::ecdsa) fn from_big<const N: usize>(value: &BigUint) -> [u32; N] {
        from_be_bytes(&value.to_bytes_be()).expect("fits")
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
            let limbs: [u32; 18] = from_be_bytes(&bytes).unwrap();
            assert_eq!(to_big(&limbs), BigUint::from_bytes_be(&bytes));
            assert_eq!(to_be_bytes(&limbs, bytes.len()), bytes);
        }
    }

    #[test]
    fn numbers_too_wide_for_the_limbs_are_refused() {
        // 9 limbs hold 261 bits.
        let mut bytes = vec![0u8; 33];
        bytes[0] = 0x1f;
        assert!(from_be_bytes::<9>(&bytes).is_some());
        bytes[0] = 0x20;
        assert!(from_be_bytes::<9>(&bytes).is_none());
        assert!(from_be_bytes::<9>(&[0; 100]).is_some());
    }

    #[test]
    fn hex_constants_are_parsed_exactly() {
        let limbs: [u32; 3] = from_hex("1fffffffdeadbeef01");
        assert_eq!(
            to_big(&limbs),
            BigUint::parse_bytes(b"1fffffffdeadbeef01", 16).unwrap()
        );
    }

    #[test]
    fn powers_of_r_and_the_negated_inverse_match_their_definitions() {
        let m_big = BigUint::parse_bytes(b"fffffffffffffffffffffffffffffffffffc3", 16).unwrap();
        let m: [u32; 6] = from_big(&m_big);
        let r = BigUint::from(1u8) << (LIMB_BITS as usize * 6);
        assert_eq!(to_big(&r_power_mod(&m, 1)), &r % &m_big);
        assert_eq!(to_big(&r_power_mod(&m, 2)), (&r * &r) % &m_big);
        let m0 = m[0];
        assert_eq!(m0.wrapping_mul(neg_inverse(&m)) & LIMB_MASK, LIMB_MASK);
    }

    #[test]
    fn halving_shifts_in_the_bit_above() {
        let value: [u32; 2] = from_be_bytes(&[0x12, 0x34, 0x56, 0x79]).unwrap();
        assert_eq!(
            to_big(&half(&value, false)),
            BigUint::from(0x1234_5679u32 >> 1)
        );
        let top = BigUint::from(1u8) << (2 * LIMB_BITS as usize - 1);
        assert_eq!(to_big(&half(&value, true)), top + (0x1234_5679u32 >> 1));
    }

    #[test]
    fn bits_are_read_across_limb_edges() {
        let value: [u32; 2] = from_big(&(BigUint::from(0b1011u8) << 27usize));
        assert_eq!(bits(&value, 27, 4), 0b1011);
        assert_eq!(bits(&value, 28, 3), 0b101);
        assert_eq!(bits(&value, 56, 6), 0);
    }
}
