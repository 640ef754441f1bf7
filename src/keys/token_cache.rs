//! Tokens whose signature already verified, so a token that comes back (Auth0 tokens live for
//! hours and clients reuse them) costs a lookup instead of a parse and an RSA verification.
//!
//! Bounded by construction: a fixed number of slots chosen by a hash of the token, each
//! holding at most one entry, so 100,000 distinct tokens take no more memory than the slots
//! do. Only verified tokens enter, and each remembers the key set it verified with: when the
//! key set changes, its entries stop counting, so a key removed from the JWKS stops working
//! for cached tokens too. Time, issuer and audience are still checked on every hit.

use serde_json::{Map, Value};
use std::cell::OnceCell;
use std::rc::Rc;

/// What a verified token leaves behind.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key-set generation the signature verified with.
    pub generation: u64,
    pub claims: Rc<Map<String, Value>>,
    /// The token's payload segment (base64url), for `forward_payload_header`.
    pub payload_b64: Rc<str>,
    /// The token's DPoP `ath`, made when a proof first comes with it: a client sends its
    /// cached token with a new proof on every request.
    pub access_token_hash: OnceCell<String>,
}

#[derive(Debug)]
struct Slot {
    token: Box<str>,
    entry: Entry,
}

/// A direct-mapped cache of verified tokens of one provider.
#[derive(Debug)]
pub struct TokenCache {
    slots: Vec<Option<Slot>>,
    /// Tokens longer than this are not kept (they would make the bound meaningless).
    max_token_bytes: usize,
}

impl TokenCache {
    /// A cache of `capacity` slots; 0 disables it.
    pub fn new(capacity: usize, max_token_bytes: usize) -> TokenCache {
        TokenCache {
            slots: (0..capacity).map(|_| None).collect(),
            max_token_bytes,
        }
    }

    /// The entry of `token` if it verified with key-set `generation`.
    pub fn get(&self, token: &str, generation: u64) -> Option<&Entry> {
        let slot = self.slots.get(self.slot_of(token)?)?.as_ref()?;
        (slot.entry.generation == generation && same_bytes(slot.token.as_bytes(), token.as_bytes()))
            .then_some(&slot.entry)
    }

    /// Remembers a verified token, replacing whatever shared its slot.
    pub fn insert(&mut self, token: &str, entry: Entry) {
        if token.len() > self.max_token_bytes {
            return;
        }
        let Some(index) = self.slot_of(token) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Some(Slot {
                token: token.into(),
                entry,
            });
        }
    }

    /// How many tokens are remembered now.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most memory the remembered tokens themselves can take (claims come on top,
    /// bounded by the token size they were decoded from).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn slot_of(&self, token: &str) -> Option<usize> {
        let slots = u64::try_from(self.slots.len()).ok().filter(|n| *n > 0)?;
        usize::try_from(spread(signature_tail(token)) % slots).ok()
    }
}

/// Byte equality eight bytes at a time: a cached token is compared whole on every hit, and
/// the Wasm C library's `memcmp` goes byte by byte.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails_equal = words_a.remainder() == words_b.remainder();
    let word = |c: &[u8]| <[u8; 8]>::try_from(c).map(u64::from_ne_bytes).ok();
    tails_equal && words_a.zip(words_b).all(|(x, y)| word(x) == word(y))
}

/// The last 32 bytes of the token: its signature ends it, and two tokens that verified
/// differ there as much as anywhere, so hashing the tail spreads them as well as hashing the
/// whole would, at a fraction of the cost. (A hit still compares the whole token.)
fn signature_tail(token: &str) -> &[u8] {
    let bytes = token.as_bytes();
    bytes.get(bytes.len().saturating_sub(32)..).unwrap_or(bytes)
}

/// A fast multiply-rotate hash of the token, eight bytes at a time. Slots need spread, not
/// secrecy: only verified tokens enter, and a hit compares the whole token.
fn spread(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    let mut h = (&mut chunks)
        .filter_map(|c| <[u8; 8]>::try_from(c).ok())
        .fold(0, |h, c| mix(h, u64::from_le_bytes(c)));
    for b in chunks.remainder() {
        h = mix(h, u64::from(*b));
    }
    // A multiply carries differences only upwards: fold the high bits back down (the
    // finalizer of MurmurHash3), so every input bit reaches the low bits a slot index uses.
    let mut h = mix(h, bytes.len() as u64);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(generation: u64, sub: &str) -> Entry {
        let claims = match json!({"sub": sub}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        Entry {
            generation,
            claims: Rc::new(claims),
            payload_b64: "e30".into(),
            access_token_hash: OnceCell::new(),
        }
    }

    #[test]
    fn bytes_are_compared_whole() {
        let token = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
        for len in 0..token.len() {
            assert!(same_bytes(&token[..len], &token[..len]));
            let mut other = token[..len].to_vec();
            for at in 0..len {
                other[at] ^= 1;
                assert!(!same_bytes(&token[..len], &other), "{len} {at}");
                other[at] ^= 1;
            }
            assert!(!same_bytes(&token[..len], &token[..len + 1]));
        }
    }

    #[test]
    fn a_verified_token_is_found_again() {
        let mut cache = TokenCache::new(16, 8192);
        cache.insert("a.b.c", entry(1, "alice"));
        let hit = cache.get("a.b.c", 1).expect("cached");
        assert_eq!(hit.claims["sub"], "alice");
        assert!(
            cache.get("a.b.d", 1).is_none(),
            "another token is another entry"
        );
    }

    #[test]
    fn a_new_key_set_invalidates_every_entry() {
        let mut cache = TokenCache::new(16, 8192);
        cache.insert("a.b.c", entry(1, "alice"));
        assert!(cache.get("a.b.c", 2).is_none());
    }

    #[test]
    fn memory_is_bounded_by_the_slots_whatever_the_traffic() {
        let mut cache = TokenCache::new(64, 8192);
        for i in 0..100_000 {
            cache.insert(&format!("token-{i}"), entry(1, "x"));
        }
        assert!(cache.len() <= 64);
        assert_eq!(cache.capacity(), 64);
        assert!(cache.get("token-99999", 1).is_some(), "the latest is kept");
    }

    #[test]
    fn tokens_spread_over_the_slots() {
        let mut used = vec![0u32; 64];
        for i in 0..6400 {
            let token = format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLXtpfSJ9.sig{i}");
            used[(spread(signature_tail(&token)) % 64) as usize] += 1;
        }
        assert!(used.iter().all(|n| (50..=150).contains(n)), "{used:?}");
    }

    #[test]
    fn oversized_tokens_are_not_kept_and_zero_capacity_disables() {
        let mut cache = TokenCache::new(16, 4);
        cache.insert("a.b.c", entry(1, "x"));
        assert!(cache.is_empty());
        let mut off = TokenCache::new(0, 8192);
        off.insert("a.b.c", entry(1, "x"));
        assert!(off.get("a.b.c", 1).is_none());
    }
}
