//! The mix of requests: what each kind sends, and what the filter must answer it.

use crate::key_life::{KeyLife, KeyVerdict};
use devidp::{KeyPair, access_token_claims};
use serde_json::{Value, json};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const AUDIENCE: &str = "https://api.example.com";
pub const SCOPE: &str = "read:messages";
pub const UNKNOWN_KEY: &str = "Jwks doesn't have key to match kid or alg from Jwt";
/// Distinct subjects (and so tokens) per key and scope.
const POOL: usize = 32;

/// The kinds of request, and how often each is sent (weights out of their sum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A valid token of the current key, one of a few dozen that come back (cache hits).
    Valid,
    /// A valid token minted for this request: a full check every time.
    Fresh,
    /// A token with the scope a `/scoped` route requires.
    Scoped,
    /// A valid token without that scope, on that route: 403.
    Unscoped,
    /// A token of the newest key, also while the filter may not know it yet.
    NewKey,
    /// A token of an older key, also after it was removed from the JWKS.
    OldKey,
    Expired,
    /// A valid token whose signature was altered.
    Forged,
    WrongAudience,
    /// Not a JWT at all, or `alg: none`.
    Junk,
    Oversized,
    Missing,
    /// Signed by the current key under a `kid` nobody published: a refetch attempt.
    RandomKid,
    /// A public route without a token.
    Public,
    /// A path no rule matches.
    NoRule,
}

impl Kind {
    pub const MIX: [(Kind, u32); 15] = [
        (Kind::Valid, 25),
        (Kind::Fresh, 4),
        (Kind::Scoped, 8),
        (Kind::Unscoped, 5),
        (Kind::NewKey, 6),
        (Kind::OldKey, 6),
        (Kind::Expired, 5),
        (Kind::Forged, 5),
        (Kind::WrongAudience, 5),
        (Kind::Junk, 5),
        (Kind::Oversized, 2),
        (Kind::Missing, 5),
        (Kind::RandomKid, 5),
        (Kind::Public, 5),
        (Kind::NoRule, 4),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Fresh => "valid, new each time",
            Kind::Scoped => "scope granted",
            Kind::Unscoped => "scope missing",
            Kind::NewKey => "newest key",
            Kind::OldKey => "older key",
            Kind::Expired => "expired",
            Kind::Forged => "forged signature",
            Kind::WrongAudience => "wrong audience",
            Kind::Junk => "junk",
            Kind::Oversized => "oversized",
            Kind::Missing => "no token",
            Kind::RandomKid => "random kid",
            Kind::Public => "public route",
            Kind::NoRule => "no rule",
        }
    }

    /// Whether the filter may need keys it cannot get for this kind: then a documented 503
    /// (keys unavailable) is a right answer too.
    pub fn may_need_a_fetch(self) -> bool {
        matches!(self, Kind::NewKey | Kind::OldKey | Kind::RandomKid)
    }
}

/// What the filter must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Let through: the upstream answers 200 and got this `x-user-id` (none without a token)
    /// and no `authorization` header.
    Allow { sub: Option<String> },
    /// Refused with this status and `error_description`.
    Refuse { status: u16, description: String },
    /// A token of key `key`: `accepted` while the filter surely has the key, 401 unknown key
    /// once it surely has not, either in between.
    WithKey { key: usize, accepted: Box<Expect> },
}

impl Expect {
    fn refuse(status: u16, description: &str) -> Expect {
        Expect::Refuse {
            status,
            description: description.into(),
        }
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Planned {
    pub kind: Kind,
    pub path: &'static str,
    pub authorization: Option<String>,
    pub expect: Expect,
}

/// A key with its life and its pools of valid tokens: `(sub, token)`.
struct KeyState {
    pair: Arc<KeyPair>,
    life: KeyLife,
    scoped: Vec<(String, String)>,
    unscoped: Vec<(String, String)>,
}

/// Every key the IdP has signed with during the soak, shared by the controller (which adds
/// and retires them) and the clients (which sign with them and judge answers by them).
pub struct Keys {
    issuer: String,
    states: RwLock<Vec<KeyState>>,
}

impl Keys {
    /// Starts with the IdP's first key, published since before the soak.
    pub fn new(issuer: String, first: Arc<KeyPair>, since: Instant) -> Keys {
        let keys = Keys {
            issuer,
            states: RwLock::new(Vec::new()),
        };
        keys.add(first, since);
        keys
    }

    /// A key published at `published`, with its token pools.
    pub fn add(&self, pair: Arc<KeyPair>, published: Instant) {
        let pool = |scopes: &[&str]| -> Vec<(String, String)> {
            (0..POOL)
                .map(|i| {
                    let client = format!("soak-{i}");
                    let claims = self.claims(&client, AUDIENCE, scopes);
                    (format!("{client}@clients"), mint(&pair, &claims))
                })
                .collect()
        };
        let state = KeyState {
            scoped: pool(&[SCOPE]),
            unscoped: pool(&[]),
            pair,
            life: KeyLife {
                published,
                retired: None,
            },
        };
        self.write().push(state);
    }

    /// Every key but the newest is removed from the JWKS at `at`.
    pub fn retire_all_but_newest(&self, at: Instant) {
        let mut states = self.write();
        let newest = states.len().saturating_sub(1);
        for state in states.iter_mut().take(newest) {
            state.life.retired.get_or_insert(at);
        }
    }

    pub fn life(&self, key: usize) -> Option<KeyLife> {
        self.read().get(key).map(|s| s.life)
    }

    pub fn count(&self) -> usize {
        self.read().len()
    }

    fn claims(&self, client: &str, audience: &str, scopes: &[&str]) -> Value {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_string()).collect();
        access_token_claims(&self.issuer, client, audience, &scopes, unix_now(), 86_400)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<KeyState>> {
        self.states.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<KeyState>> {
        self.states.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Plans requests for one client.
pub struct Traffic {
    keys: Arc<Keys>,
    propagation: Duration,
    rng: Rng,
    total_weight: u32,
    fresh: u64,
    client: usize,
}

impl Traffic {
    pub fn new(keys: Arc<Keys>, propagation: Duration, client: usize) -> Traffic {
        Traffic {
            keys,
            propagation,
            rng: Rng::new(client as u64 + 1),
            total_weight: Kind::MIX.iter().map(|(_, w)| w).sum(),
            fresh: 0,
            client,
        }
    }

    pub fn next(&mut self, now: Instant) -> Planned {
        let mut pick = self.rng.below(u64::from(self.total_weight));
        let mut kind = Kind::Valid;
        for (candidate, weight) in Kind::MIX {
            if pick < u64::from(weight) {
                kind = candidate;
                break;
            }
            pick -= u64::from(weight);
        }
        self.plan(kind, now)
    }

    fn plan(&mut self, kind: Kind, now: Instant) -> Planned {
        let states = self.keys.read();
        // The newest key every worker surely knows: what clients are handed tokens of (in the
        // moment between the old key's removal and that, the newest key).
        let newest = states.len().saturating_sub(1);
        let current = states
            .iter()
            .rposition(|s| s.life.retired.is_none() && now >= s.life.published + self.propagation)
            .unwrap_or(newest);
        let pick = self.rng.below(POOL as u64) as usize;
        let (sub, token) = states
            .get(current)
            .and_then(|s| s.scoped.get(pick))
            .cloned()
            .unwrap_or_default();
        let allow = |sub: &str| Expect::Allow {
            sub: Some(sub.to_string()),
        };
        let with_key = |key: usize, accepted: Expect| Expect::WithKey {
            key,
            accepted: Box::new(accepted),
        };
        let pair = |key: usize| states.get(key).map(|s| Arc::clone(&s.pair));
        let bearer = |token: &str| Some(format!("Bearer {token}"));
        let (path, authorization, expect) = match kind {
            Kind::Valid => (
                "/api/orders",
                bearer(&token),
                with_key(current, allow(&sub)),
            ),
            Kind::Fresh => {
                self.fresh += 1;
                let client = format!("soak-fresh-{}-{}", self.client, self.fresh);
                let claims = self.keys.claims(&client, AUDIENCE, &[SCOPE]);
                let token = pair(current).map(|p| mint(&p, &claims)).unwrap_or_default();
                let sub = format!("{client}@clients");
                (
                    "/api/orders",
                    bearer(&token),
                    with_key(current, allow(&sub)),
                )
            }
            Kind::Scoped => (
                "/scoped/messages",
                bearer(&token),
                with_key(current, allow(&sub)),
            ),
            Kind::Unscoped => {
                let (_, token) = states
                    .get(current)
                    .and_then(|s| s.unscoped.get(pick))
                    .cloned()
                    .unwrap_or_default();
                let refusal = Expect::refuse(403, &format!("Jwt lacks required scope: {SCOPE}"));
                (
                    "/scoped/messages",
                    bearer(&token),
                    with_key(current, refusal),
                )
            }
            Kind::NewKey | Kind::OldKey => {
                let key = if kind == Kind::NewKey || newest == 0 {
                    newest
                } else {
                    // One of the (up to three) keys before the newest.
                    let back = 1 + self.rng.below(newest.min(3) as u64) as usize;
                    newest - back
                };
                let (sub, token) = states
                    .get(key)
                    .and_then(|s| s.scoped.get(pick))
                    .cloned()
                    .unwrap_or_default();
                ("/api/orders", bearer(&token), with_key(key, allow(&sub)))
            }
            Kind::Expired => {
                let mut claims = self.keys.claims("soak-expired", AUDIENCE, &[]);
                let now = unix_now();
                claims["iat"] = json!(now - 7200);
                claims["exp"] = json!(now - 3600);
                let token = pair(current).map(|p| mint(&p, &claims)).unwrap_or_default();
                (
                    "/api/orders",
                    bearer(&token),
                    Expect::refuse(401, "Jwt is expired"),
                )
            }
            Kind::Forged => {
                let forged = forge(&token);
                let refusal = Expect::refuse(401, "Jwt verification fails");
                ("/api/orders", bearer(&forged), with_key(current, refusal))
            }
            Kind::WrongAudience => {
                let claims = self
                    .keys
                    .claims("soak-other", "https://other.example.com", &[]);
                let token = pair(current).map(|p| mint(&p, &claims)).unwrap_or_default();
                let refusal = Expect::refuse(401, "Jwt audience is not allowed");
                ("/api/orders", bearer(&token), refusal)
            }
            Kind::Junk => {
                let (junk, description) = JUNK[self.rng.below(JUNK.len() as u64) as usize];
                (
                    "/api/orders",
                    bearer(junk),
                    Expect::refuse(401, description),
                )
            }
            Kind::Oversized => {
                let big = "a".repeat(9000);
                let refusal = Expect::refuse(401, "Jwt exceeds the size limit");
                ("/api/orders", bearer(&big), refusal)
            }
            Kind::Missing => ("/api/orders", None, Expect::refuse(401, "Jwt is missing")),
            Kind::RandomKid => {
                let kid = format!("spray-{}", self.rng.next_u64());
                let header = json!({"alg": "RS256", "kid": kid}).to_string();
                let claims = self.keys.claims("soak-spray", AUDIENCE, &[]).to_string();
                let token = pair(current)
                    .map(|p| p.sign_raw(&header, &claims))
                    .unwrap_or_default();
                (
                    "/api/orders",
                    bearer(&token),
                    Expect::refuse(401, UNKNOWN_KEY),
                )
            }
            Kind::Public => ("/public/status", None, Expect::Allow { sub: None }),
            Kind::NoRule => (
                "/elsewhere",
                bearer(&token),
                Expect::refuse(403, "No rule matches this request"),
            ),
        };
        Planned {
            kind,
            path,
            authorization,
            expect,
        }
    }
}

/// Not JWTs, each with the refusal it earns.
const JUNK: [(&str, &str); 4] = [
    ("abc", "Jwt is not in the form of Header.Payload.Signature"),
    ("a.b.c", "Jwt header is not base64url encoded"),
    (
        "eyJhbGciOiJub25lIn0.e30.c2ln",
        "Jwt algorithm is not allowed",
    ),
    (
        "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
        "Jwt payload is not a JSON object",
    ),
];

/// The verdict for a token of `key`, sent and answered at these times.
pub fn key_verdict(
    keys: &Keys,
    key: usize,
    sent: Instant,
    answered: Instant,
    propagation: Duration,
) -> KeyVerdict {
    keys.life(key).map_or(KeyVerdict::Either, |life| {
        life.verdict(sent, answered, propagation)
    })
}

/// The token with one character in the middle of its signature changed (still canonical
/// base64url, so the signature decodes and fails to verify).
fn forge(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let signature_start = token.rfind('.').map_or(0, |i| i + 1);
    let at = signature_start + (chars.len() - signature_start) / 2;
    if let Some(c) = chars.get_mut(at) {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

fn mint(pair: &KeyPair, claims: &Value) -> String {
    match pair.mint(claims) {
        Ok(token) => token,
        Err(e) => panic!("cannot sign a soak token: {e}"),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// xorshift64*: enough randomness to mix requests, reproducible per client.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough below `n` (> 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forging_keeps_the_token_well_formed_but_changes_the_signature() {
        let token = "aGVhZGVy.cGF5bG9hZA.QUJDREVGR0hJSktMTU5PUA";
        let forged = forge(token);
        assert_ne!(forged, token);
        assert_eq!(forged.len(), token.len());
        assert_eq!(forged.rsplit_once('.').unwrap().0, "aGVhZGVy.cGF5bG9hZA");
    }

    #[test]
    fn the_mix_sends_every_kind() {
        let keys = Arc::new(Keys::new(
            "https://idp/".into(),
            Arc::new(KeyPair::generate("k1").unwrap()),
            Instant::now() - Duration::from_secs(60),
        ));
        let mut traffic = Traffic::new(keys, Duration::from_secs(12), 0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            seen.insert(traffic.next(Instant::now()).kind);
        }
        assert_eq!(seen.len(), Kind::MIX.len());
    }

    #[test]
    fn tokens_of_an_older_key_are_judged_by_its_life() {
        let t0 = Instant::now();
        let w = Duration::from_secs(12);
        let keys = Keys::new(
            "https://idp/".into(),
            Arc::new(KeyPair::generate("k1").unwrap()),
            t0 - w,
        );
        keys.add(Arc::new(KeyPair::generate("k2").unwrap()), t0);
        keys.retire_all_but_newest(t0 + w);
        assert_eq!(key_verdict(&keys, 0, t0, t0, w), KeyVerdict::Accepted);
        assert_eq!(key_verdict(&keys, 1, t0, t0, w), KeyVerdict::Either);
        assert_eq!(
            key_verdict(&keys, 1, t0 + w, t0 + w, w),
            KeyVerdict::Accepted
        );
        assert_eq!(
            key_verdict(&keys, 0, t0 + w * 2, t0 + w * 2, w),
            KeyVerdict::Refused
        );
    }
}
