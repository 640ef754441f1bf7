//! Proof keys prepared before, by their JWK. A client signs its proofs with one key for many
//! requests, and preparing a key (an EC key's table of multiples: about 1 ms in V8) costs
//! several verifications; so each Wasm VM keeps the keys of its latest proofs, bounded, the
//! least recently used leaving first.
//!
//! Two JWKs share an entry only if they make the same key: the same RFC 7638 thumbprint (the
//! key's required members) and the same `alg` and `use`, the members that narrow what a key
//! verifies. A JWK with `key_ops`, or with an `alg` or `use` other than a short name of
//! letters and digits, is not kept.

use crate::jose::algorithm::Algorithm;
use crate::jose::jwks::Key;
use serde_json::{Map, Value};

/// The lookup key of a proof's `jwk` whose RFC 7638 thumbprint is `thumbprint` (base64url);
/// `None` for a JWK not to be kept. `|` is in none of the parts, so none run together.
pub fn lookup_key(thumbprint: &str, jwk: &Map<String, Value>) -> Option<String> {
    if jwk.contains_key("key_ops") {
        return None;
    }
    let mut lookup = thumbprint.to_string();
    for member in ["alg", "use"] {
        lookup.push('|');
        match jwk.get(member) {
            None => {}
            Some(Value::String(name))
                if name.len() <= 16 && name.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                lookup.push_str(name)
            }
            Some(_) => return None,
        }
    }
    Some(lookup)
}

/// Keys kept per VM. A key with its table holds 25 KiB (P-256) to 81 KiB (P-521), so at most
/// 400 KiB to 1.3 MiB per worker.
pub const CAPACITY: usize = 16;

/// Headers kept per VM, each at most [`MAX_KEPT_HEADER_BYTES`] of base64url.
pub const HEADER_CAPACITY: usize = 16;
/// Longest header text kept: an RSA-4096 `jwk` fits.
pub const MAX_KEPT_HEADER_BYTES: usize = 1024;

/// What a proof's JOSE header came to: its algorithm, its key's thumbprint and the key.
#[derive(Clone)]
pub struct KnownHeader {
    pub algorithm: Algorithm,
    pub thumbprint: String,
    pub key: Key,
}

/// The keys and the headers, each most recently used first.
///
/// A client sends the same header with every proof, so a header whose proof verified is also
/// kept by its exact base64url text: the next proof with it skips decoding and checking it,
/// its thumbprint and the key lookup. What depends on the provider (its `algorithms`) is
/// checked again; every signature is verified.
#[derive(Default)]
pub struct ProofKeys {
    entries: Vec<(String, Key)>,
    headers: Vec<(String, KnownHeader)>,
}

impl std::fmt::Debug for ProofKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofKeys")
            .field("kept", &self.entries.len())
            .finish()
    }
}

impl ProofKeys {
    /// The key looked up as `jwk` ([`lookup_key`]): kept from before, or made by `prepare`
    /// and kept. A JWK `prepare` refuses is not kept.
    pub fn get_or_prepare<E>(
        &mut self,
        jwk: &str,
        prepare: impl FnOnce() -> Result<Key, E>,
    ) -> Result<Key, E> {
        if let Some(at) = self.entries.iter().position(|(text, _)| text == jwk) {
            let entry = self.entries.remove(at);
            let key = entry.1.clone();
            self.entries.insert(0, entry);
            return Ok(key);
        }
        let key = prepare()?;
        self.entries.truncate(CAPACITY - 1);
        self.entries.insert(0, (jwk.to_string(), key.clone()));
        Ok(key)
    }

    /// The header kept as `text`, if any.
    pub fn header(&mut self, text: &str) -> Option<KnownHeader> {
        let at = self.headers.iter().position(|(kept, _)| kept == text)?;
        let entry = self.headers.remove(at);
        let known = entry.1.clone();
        self.headers.insert(0, entry);
        Some(known)
    }

    /// Keeps `known` as what the header `text` came to, if `text` is short enough.
    pub fn remember_header(&mut self, text: &str, known: KnownHeader) {
        if text.len() > MAX_KEPT_HEADER_BYTES || self.headers.iter().any(|(kept, _)| kept == text) {
            return;
        }
        self.headers.truncate(HEADER_CAPACITY - 1);
        self.headers.insert(0, (text.to_string(), known));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::algorithm::KeyKind;
    use crate::jose::jwks;
    use crate::jose::test_signers;
    use std::cell::Cell;

    fn prepare(jwk: &str, made: &Cell<usize>) -> Result<Key, String> {
        made.set(made.get() + 1);
        let value: serde_json::Value = serde_json::from_str(jwk).map_err(|e| e.to_string())?;
        let members = value.as_object().ok_or("not an object")?;
        jwks::public_key(members)
    }

    fn jwk(kid: usize) -> String {
        test_signers::jwk(KeyKind::Ed25519, &format!("k{kid}")).to_string()
    }

    #[test]
    fn jwks_share_an_entry_only_if_they_make_the_same_key() {
        let jwk = |extra: Value| {
            let mut members = Map::new();
            members.insert("kty".into(), "EC".into());
            if let Value::Object(extra) = extra {
                members.extend(extra);
            }
            members
        };
        let plain = lookup_key("T", &jwk(Value::Null));
        assert_eq!(plain.as_deref(), Some("T||"));
        assert_eq!(
            lookup_key("T", &jwk(serde_json::json!({"kid": "x"}))),
            plain
        );
        assert_ne!(lookup_key("U", &jwk(Value::Null)), plain);
        let with_alg = lookup_key("T", &jwk(serde_json::json!({"alg": "ES256"})));
        assert_eq!(with_alg.as_deref(), Some("T|ES256|"));
        let with_use = lookup_key("T", &jwk(serde_json::json!({"use": "sig"})));
        assert_eq!(with_use.as_deref(), Some("T||sig"));
        for not_kept in [
            serde_json::json!({"key_ops": ["verify"]}),
            serde_json::json!({"alg": 1}),
            serde_json::json!({"use": null}),
            serde_json::json!({"alg": "a|b"}),
            serde_json::json!({"alg": "ES256", "use": "a very long use name"}),
        ] {
            assert_eq!(lookup_key("T", &jwk(not_kept.clone())), None, "{not_kept}");
        }
    }

    #[test]
    fn a_key_is_prepared_once_while_it_is_kept() {
        let mut keys = ProofKeys::default();
        let made = Cell::new(0);
        for _ in 0..3 {
            keys.get_or_prepare(&jwk(0), || prepare(&jwk(0), &made))
                .unwrap();
        }
        assert_eq!((made.get(), keys.len()), (1, 1));
        // Another JWK text is another entry, even for the same key.
        keys.get_or_prepare(&jwk(1), || prepare(&jwk(1), &made))
            .unwrap();
        assert_eq!((made.get(), keys.len()), (2, 2));
    }

    #[test]
    fn the_least_recently_used_key_leaves_first_and_refusals_are_not_kept() {
        let mut keys = ProofKeys::default();
        let made = Cell::new(0);
        for kid in 0..CAPACITY {
            keys.get_or_prepare(&jwk(kid), || prepare(&jwk(kid), &made))
                .unwrap();
        }
        // Key 0 used again: key 1 is now the least recently used.
        keys.get_or_prepare(&jwk(0), || prepare(&jwk(0), &made))
            .unwrap();
        keys.get_or_prepare(&jwk(CAPACITY), || prepare(&jwk(CAPACITY), &made))
            .unwrap();
        assert_eq!((made.get(), keys.len()), (CAPACITY + 1, CAPACITY));
        keys.get_or_prepare(&jwk(0), || prepare(&jwk(0), &made))
            .unwrap();
        assert_eq!(made.get(), CAPACITY + 1, "key 0 was kept");
        keys.get_or_prepare(&jwk(1), || prepare(&jwk(1), &made))
            .unwrap();
        assert_eq!(made.get(), CAPACITY + 2, "key 1 had left");
        let refused = keys.get_or_prepare("{}", || prepare("{}", &made));
        assert!(refused.is_err());
        assert_eq!(keys.len(), CAPACITY);
        assert!(!keys.entries.iter().any(|(text, _)| text == "{}"));
    }
}
