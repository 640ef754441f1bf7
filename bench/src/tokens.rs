//! The tokens the workloads send: minted with the dev IdP's key, and pools that hand out each
//! token again only after every other token in the pool has been sent.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devidp::KeyPair;
use serde_json::Value;

/// The JOSE header of every token, with the key's kid.
fn header_json(key: &KeyPair) -> String {
    serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()}).to_string()
}

/// `base` (the IdP's claims for a client) with a distinct `jti`.
fn claims_with_jti(base: &Value, jti: &str) -> String {
    let mut claims = base.clone();
    claims["jti"] = Value::String(jti.to_string());
    claims.to_string()
}

/// One valid token with `jti`.
pub fn mint(key: &KeyPair, base_claims: &Value, jti: &str) -> String {
    key.sign_raw(&header_json(key), &claims_with_jti(base_claims, jti))
}

/// `count` valid tokens, `jti` `{prefix}-0` and on, signed on `threads` threads.
pub fn mint_many(
    key: &Arc<KeyPair>,
    base_claims: &Value,
    prefix: &str,
    count: usize,
    threads: usize,
) -> Vec<String> {
    let threads = threads.clamp(1, count.max(1));
    let chunk = count.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let key = Arc::clone(key);
            let base = base_claims.clone();
            let prefix = prefix.to_string();
            std::thread::spawn(move || {
                (t * chunk..((t + 1) * chunk).min(count))
                    .map(|i| mint(&key, &base, &format!("{prefix}-{i}")))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("minting thread panicked"))
        .collect()
}

/// A token with the claims of `base` and `jti`, carrying `donor`'s signature with its last
/// byte flipped: well-formed, for the right key, and wrong, so a verifier has to do the whole
/// signature check to refuse it. Only the signature is decoded and re-encoded, so the
/// base64url stays canonical (flipping the last character would not be).
pub fn with_bad_signature(key: &KeyPair, base_claims: &Value, jti: &str, donor: &str) -> String {
    let signature = donor.rsplit('.').next().unwrap_or_default();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header_json(key)),
        URL_SAFE_NO_PAD.encode(claims_with_jti(base_claims, jti)),
        URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Tokens handed out in a ring: each run starts where the previous one stopped, so a token
/// is sent again only after all the others in the pool have been.
#[derive(Debug)]
pub struct TokenPool {
    tokens: Vec<String>,
    cursor: usize,
}

impl TokenPool {
    pub fn new(tokens: Vec<String>) -> TokenPool {
        assert!(!tokens.is_empty(), "a token pool needs tokens");
        TokenPool { tokens, cursor: 0 }
    }

    /// Every token once, starting at the cursor.
    pub fn ring(&self) -> impl Iterator<Item = &str> {
        self.ring_from(0)
    }

    /// Every token once, starting `skip` tokens past the cursor.
    fn ring_from(&self, skip: usize) -> impl Iterator<Item = &str> {
        let start = (self.cursor + skip) % self.tokens.len();
        let (before, after) = self.tokens.split_at(start);
        after.iter().chain(before).map(String::as_str)
    }

    /// Moves the cursor past `sent` tokens.
    pub fn advance(&mut self, sent: u64) {
        self.cursor = ((self.cursor as u64 + sent) % self.tokens.len() as u64) as usize;
    }

    /// Writes one h2load `-i` file per path: one `{base_url}?access_token=TOKEN` per line,
    /// the whole ring in each, file k starting k/n of the way round from the cursor, so n
    /// connections going at the same pace never send the same token close together.
    pub fn write_uri_files(&self, base_url: &str, paths: &[PathBuf]) -> std::io::Result<()> {
        for (k, path) in paths.iter().enumerate() {
            let mut out = BufWriter::new(std::fs::File::create(path)?);
            for token in self.ring_from(k * self.tokens.len() / paths.len()) {
                writeln!(out, "{}", token_uri(base_url, token))?;
            }
            out.flush()?;
        }
        Ok(())
    }
}

/// The request URI carrying `token` in the query.
pub fn token_uri(base_url: &str, token: &str) -> String {
    format!("{base_url}?access_token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One key for all tests: generating RSA keys is slow.
    fn key() -> Arc<KeyPair> {
        static KEY: std::sync::OnceLock<Arc<KeyPair>> = std::sync::OnceLock::new();
        Arc::clone(KEY.get_or_init(|| Arc::new(KeyPair::generate("bench-test").unwrap())))
    }

    fn decode_part(token: &str, index: usize) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(token.split('.').nth(index).unwrap())
            .unwrap()
    }

    #[test]
    fn minted_tokens_are_distinct_by_jti() {
        let key = key();
        let tokens = mint_many(&key, &json!({"sub": "x"}), "t", 5, 2);
        assert_eq!(tokens.len(), 5);
        let mut unique = tokens.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 5);
        let claims: Value = serde_json::from_slice(&decode_part(&tokens[3], 1)).unwrap();
        assert_eq!(claims, json!({"sub": "x", "jti": "t-3"}));
        let header: Value = serde_json::from_slice(&decode_part(&tokens[0], 0)).unwrap();
        assert_eq!(header["kid"], "bench-test");
        assert_eq!(header["alg"], "RS256");
    }

    #[test]
    fn a_bad_signature_differs_from_the_donor_in_its_last_bit() {
        let key = key();
        let donor = mint(&key, &json!({"sub": "x"}), "donor");
        let junk = with_bad_signature(&key, &json!({"sub": "x"}), "junk-1", &donor);
        let (good, bad) = (decode_part(&donor, 2), decode_part(&junk, 2));
        assert_eq!(bad.len(), 256);
        assert_eq!(good[..255], bad[..255]);
        assert_eq!(good[255] ^ bad[255], 0x01);
        let claims: Value = serde_json::from_slice(&decode_part(&junk, 1)).unwrap();
        assert_eq!(claims["jti"], "junk-1");
        // Signed over other claims too, so it would be wrong even with the donor's signature.
        assert_ne!(junk.split('.').nth(1), donor.split('.').nth(1));
    }

    #[test]
    fn the_ring_goes_on_where_the_last_run_stopped() {
        let mut pool = TokenPool::new(["a", "b", "c", "d"].map(String::from).to_vec());
        assert_eq!(pool.ring().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        pool.advance(3);
        assert_eq!(pool.ring().collect::<Vec<_>>(), ["d", "a", "b", "c"]);
        pool.advance(6);
        assert_eq!(pool.ring().collect::<Vec<_>>(), ["b", "c", "d", "a"]);
    }

    #[test]
    fn uri_files_have_one_request_per_line_and_start_apart() {
        let dir = std::env::temp_dir().join(format!("bench-uris-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let paths = [dir.join("0"), dir.join("1")];
        let mut pool = TokenPool::new(["t1", "t2", "t3", "t4"].map(String::from).to_vec());
        pool.advance(1);
        pool.write_uri_files("http://127.0.0.1:1/", &paths).unwrap();
        let read = |path| std::fs::read_to_string(path).unwrap();
        let (first, second) = (read(&paths[0]), read(&paths[1]));
        std::fs::remove_dir_all(&dir).unwrap();
        let uri = |t: &str| format!("http://127.0.0.1:1/?access_token={t}\n");
        assert_eq!(first, ["t2", "t3", "t4", "t1"].map(uri).concat());
        assert_eq!(second, ["t4", "t1", "t2", "t3"].map(uri).concat());
    }
}
