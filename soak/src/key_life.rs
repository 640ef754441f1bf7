//! What is right when: for a token of a given key, the answer expected depends on when the
//! key was published and removed, and when the request was sent and answered.
//!
//! A change to the JWKS takes time to reach every worker: a worker's keys are refreshed at
//! 90 % of `cache_duration` (checked on its 500 ms tick), a fetch takes up to `timeout`, and a
//! worker whose refresh falls while another fetches waits for that fetch, whose answer may
//! predate the change, and then refreshes once more. So two refreshes, each with a tick and
//! a fetch, bound the time to the change being seen everywhere; with 5 s on top for a busy
//! machine, that is [`Timing::propagation`]. Within that window after a key is published or
//! removed, both answers are right; outside it, exactly one is. The IdP misbehaves only where no such
//! window is open (see the crate's `drive_idp`).

use std::time::{Duration, Instant};

/// The filter's fetch settings the soak configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub cache_duration: Duration,
    pub timeout: Duration,
    pub min_refetch_interval: Duration,
}

/// The filter's tick, on which refreshes start.
const TICK: Duration = Duration::from_millis(500);
/// Slack for a busy machine on top of the computed bound.
const MARGIN: Duration = Duration::from_secs(5);

impl Timing {
    /// The longest a JWKS change may take to reach every worker while the IdP is healthy.
    pub fn propagation(&self) -> Duration {
        let refresh = self.cache_duration.mul_f64(0.9) + TICK + self.timeout;
        refresh * 2 + MARGIN
    }
}

/// When a key was published in the JWKS and when (if ever) it was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLife {
    pub published: Instant,
    pub retired: Option<Instant>,
}

/// What the filter must answer a valid token of some key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyVerdict {
    Accepted,
    /// Refused with "Jwks doesn't have key to match kid or alg from Jwt".
    Refused,
    /// The change is still on its way to some worker: either answer is right.
    Either,
}

impl KeyLife {
    /// The verdict for a request sent at `sent` and answered at `answered`, given how long a
    /// change takes to reach every worker. The whole exchange must fall in a window for its
    /// verdict to be certain.
    pub fn verdict(&self, sent: Instant, answered: Instant, propagation: Duration) -> KeyVerdict {
        if let Some(retired) = self.retired
            && sent >= retired + propagation
        {
            return KeyVerdict::Refused;
        }
        let known = sent >= self.published + propagation;
        let still_published = self.retired.is_none_or(|retired| answered < retired);
        if known && still_published {
            KeyVerdict::Accepted
        } else {
            KeyVerdict::Either
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    const TIMING: Timing = Timing {
        cache_duration: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        min_refetch_interval: Duration::from_secs(2),
    };

    #[test]
    fn propagation_covers_two_refreshes_with_ticks_and_fetches() {
        // 2 x (1.8 + 0.5 + 1) + 5
        assert_eq!(TIMING.propagation(), Duration::from_millis(11_600));
    }

    #[test]
    fn a_new_key_is_certain_once_it_has_propagated() {
        let t0 = Instant::now();
        let w = s(12);
        let key = KeyLife {
            published: t0,
            retired: None,
        };
        assert_eq!(key.verdict(t0, t0, w), KeyVerdict::Either);
        assert_eq!(key.verdict(t0 + s(11), t0 + s(13), w), KeyVerdict::Either);
        assert_eq!(key.verdict(t0 + s(12), t0 + s(12), w), KeyVerdict::Accepted);
    }

    #[test]
    fn a_removed_key_is_certain_once_the_removal_has_propagated() {
        let t0 = Instant::now();
        let w = s(12);
        let key = KeyLife {
            published: t0,
            retired: Some(t0 + s(30)),
        };
        assert_eq!(key.verdict(t0 + s(29), t0 + s(29), w), KeyVerdict::Accepted);
        // Answered after the removal: the answer may already reflect it.
        assert_eq!(key.verdict(t0 + s(29), t0 + s(31), w), KeyVerdict::Either);
        assert_eq!(key.verdict(t0 + s(41), t0 + s(41), w), KeyVerdict::Either);
        assert_eq!(key.verdict(t0 + s(42), t0 + s(42), w), KeyVerdict::Refused);
    }
}
