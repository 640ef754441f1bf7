//! Every answer against what it must be, and the tally of it all.

use crate::key_life::KeyVerdict;
use crate::traffic::{Expect, Keys, Kind, Planned, UNKNOWN_KEY, key_verdict};
use devstack::Response;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Wrong answers described in full, at most this many.
const EXAMPLES: usize = 20;

/// The counts for one kind of request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub sent: u64,
    /// Answered rightly.
    pub right: u64,
    pub wrong: u64,
    /// Right answers in a key's transition window: let through, refused.
    pub transition_allowed: u64,
    pub transition_refused: u64,
    /// Right answers that were the documented 503 (no keys could be had).
    pub keys_unavailable: u64,
}

/// What one client (or all of them, merged) saw.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub kinds: BTreeMap<Kind, KindCounts>,
    /// 5xx answers other than the documented keys-unavailable 503 (also counted as wrong).
    pub other_5xx: u64,
    /// Requests that got no HTTP answer at all (also counted as wrong).
    pub no_answer: u64,
    pub examples: Vec<String>,
}

impl Tally {
    pub fn requests(&self) -> u64 {
        self.kinds.values().map(|k| k.sent).sum()
    }

    pub fn wrong(&self) -> u64 {
        self.kinds.values().map(|k| k.wrong).sum()
    }

    pub fn keys_unavailable(&self) -> u64 {
        self.kinds.values().map(|k| k.keys_unavailable).sum()
    }

    pub fn merge(&mut self, other: Tally) {
        for (kind, counts) in other.kinds {
            let mine = self.kinds.entry(kind).or_default();
            mine.sent += counts.sent;
            mine.right += counts.right;
            mine.wrong += counts.wrong;
            mine.transition_allowed += counts.transition_allowed;
            mine.transition_refused += counts.transition_refused;
            mine.keys_unavailable += counts.keys_unavailable;
        }
        self.other_5xx += other.other_5xx;
        self.no_answer += other.no_answer;
        for example in other.examples {
            if self.examples.len() < EXAMPLES {
                self.examples.push(example);
            }
        }
    }

    /// Judges the answer to `planned`, sent at `sent` and answered at `answered`.
    pub fn record(
        &mut self,
        planned: &Planned,
        answer: std::io::Result<Response>,
        sent: Instant,
        answered: Instant,
        keys: &Keys,
        propagation: Duration,
    ) {
        let outcome = match answer {
            Ok(response) => {
                if response.status >= 500 && !is_keys_unavailable(&response) {
                    self.other_5xx += 1;
                }
                judge(planned, &response, sent, answered, keys, propagation)
            }
            Err(error) => {
                self.no_answer += 1;
                Outcome::Wrong(format!("no answer: {error}"))
            }
        };
        let counts = self.kinds.entry(planned.kind).or_default();
        counts.sent += 1;
        match outcome {
            Outcome::Right => counts.right += 1,
            Outcome::Transition { allowed } => {
                counts.right += 1;
                if allowed {
                    counts.transition_allowed += 1;
                } else {
                    counts.transition_refused += 1;
                }
            }
            Outcome::KeysUnavailable => {
                counts.right += 1;
                counts.keys_unavailable += 1;
            }
            Outcome::Wrong(why) => {
                counts.wrong += 1;
                self.example(planned, &why);
            }
        }
    }

    fn example(&mut self, planned: &Planned, why: &str) {
        if self.examples.len() < EXAMPLES {
            let mut line = format!("{} GET {}: {why}", planned.kind.name(), planned.path);
            let _ = write!(line, " (expected {:?})", planned.expect);
            self.examples.push(line);
        }
    }
}

enum Outcome {
    Right,
    /// Right, in a key's transition window.
    Transition {
        allowed: bool,
    },
    /// Right: the documented 503, for a kind that may need keys the IdP cannot give.
    KeysUnavailable,
    Wrong(String),
}

fn judge(
    planned: &Planned,
    response: &Response,
    sent: Instant,
    answered: Instant,
    keys: &Keys,
    propagation: Duration,
) -> Outcome {
    if planned.kind.may_need_a_fetch() && is_keys_unavailable(response) {
        return Outcome::KeysUnavailable;
    }
    let (expect, transition) = match &planned.expect {
        Expect::WithKey { key, accepted } => {
            match key_verdict(keys, *key, sent, answered, propagation) {
                KeyVerdict::Accepted => ((**accepted).clone(), false),
                KeyVerdict::Refused => (unknown_key(), false),
                KeyVerdict::Either => ((**accepted).clone(), true),
            }
        }
        other => (other.clone(), false),
    };
    match meets(response, &expect) {
        Ok(()) if transition => Outcome::Transition {
            allowed: matches!(expect, Expect::Allow { .. }),
        },
        Ok(()) => Outcome::Right,
        Err(_) if transition && meets(response, &unknown_key()).is_ok() => {
            Outcome::Transition { allowed: false }
        }
        Err(why) => Outcome::Wrong(why),
    }
}

fn unknown_key() -> Expect {
    Expect::Refuse {
        status: 401,
        description: UNKNOWN_KEY.into(),
    }
}

/// The documented answer when no key set can be had: 503, `Retry-After: 5`.
fn is_keys_unavailable(response: &Response) -> bool {
    response.status == 503
        && response.header("retry-after") == Some("5")
        && body(response).is_some_and(|b| {
            b["error"] == "temporarily_unavailable"
                && b["error_description"] == "Jwks is not available from the issuer"
        })
}

fn body(response: &Response) -> Option<Value> {
    serde_json::from_slice(&response.body).ok()
}

/// Whether `response` is what `expect` says (never a key-dependent expectation).
fn meets(response: &Response, expect: &Expect) -> Result<(), String> {
    match expect {
        Expect::Allow { sub } => {
            if response.status != 200 {
                return Err(format!("{} {}", response.status, response.text()));
            }
            // The echo upstream answers with what it received.
            let echoed = body(response).ok_or("the upstream's answer is not JSON")?;
            let headers = &echoed["headers"];
            if headers.get("authorization").is_some() {
                return Err("the token reached the upstream".into());
            }
            let got = headers.get("x-user-id").and_then(Value::as_str);
            if got != sub.as_deref() {
                return Err(format!("x-user-id {got:?}, not {sub:?}"));
            }
            Ok(())
        }
        Expect::Refuse {
            status,
            description,
        } => {
            let got = body(response);
            let got = got
                .as_ref()
                .and_then(|b| b["error_description"].as_str())
                .unwrap_or_default();
            if response.status == *status && got == description {
                Ok(())
            } else {
                Err(format!("{} {:?}", response.status, response.text()))
            }
        }
        Expect::WithKey { .. } => Err("a key-dependent expectation was not resolved".into()),
    }
}
