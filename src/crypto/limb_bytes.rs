//! The limb width our own arithmetic shares (RSA's Montgomery code and ECDSA's fields), and
//! limbs back to bytes. 29 bits because V8 has no 64x64->128 multiply: a product of two limbs
//! and a column of sums of them fit in a u64.

/// Bits per limb.
pub const LIMB_BITS: u32 = 29;
/// The bits of one limb.
pub const LIMB_MASK: u32 = (1 << LIMB_BITS) - 1;

/// Little-endian limbs -> the last `len` bytes of their big-endian form (bits beyond them
/// dropped; where the limbs are shorter, zeros in front).
pub fn limbs_to_be(limbs: &[u32], len: usize) -> Vec<u8> {
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
