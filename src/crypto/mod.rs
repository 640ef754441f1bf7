//! Signature primitives. The asymmetric ones see public data only (keys, signatures,
//! messages), so none needs to run in constant time; [`hmac`] handles a secret and compares
//! tags in constant time. Each is proven by Wycheproof vectors, and our own arithmetic by a
//! differential test against a reference crate.

pub mod ecdsa;
pub mod ed25519;
pub mod hmac;
pub mod limb_bytes;
pub mod rsa;

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The SHA-2 hashes JOSE signs with (RFC 7518 §3.1: the 256, 384 and 512 of every family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// Length of a digest in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// Length of the blocks it hashes, in bytes (HMAC pads its key to one).
    pub const fn block_len(self) -> usize {
        match self {
            Hash::Sha256 => 64,
            Hash::Sha384 | Hash::Sha512 => 128,
        }
    }

    /// The digest of `message`, in a buffer long enough for any of them; the first
    /// [`Hash::output_len`] bytes are the digest.
    pub fn digest(self, message: &[u8]) -> Digest64 {
        let mut out = [0u8; 64];
        match self {
            Hash::Sha256 => out[..32].copy_from_slice(&Sha256::digest(message)),
            Hash::Sha384 => out[..48].copy_from_slice(&Sha384::digest(message)),
            Hash::Sha512 => out.copy_from_slice(&Sha512::digest(message)),
        }
        Digest64 {
            bytes: out,
            len: self.output_len(),
        }
    }
}

/// A SHA-2 digest of up to 64 bytes, kept on the stack.
#[derive(Clone, Copy)]
pub struct Digest64 {
    bytes: [u8; 64],
    len: usize,
}

impl AsRef<[u8]> for Digest64 {
    fn as_ref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_have_their_hash_length() {
        for hash in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
            assert_eq!(hash.digest(b"abc").as_ref().len(), hash.output_len());
        }
        // FIPS 180-4 example: SHA-256("abc") begins ba7816bf.
        assert_eq!(
            &Hash::Sha256.digest(b"abc").as_ref()[..4],
            &[0xba, 0x78, 0x16, 0xbf]
        );
    }
}
