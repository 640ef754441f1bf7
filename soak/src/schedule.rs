//! The soak's timeline, and what is right when: the IdP rotates its signing key, removes the
//! old key, and misbehaves, each at fixed times; for a token of a given key, the answer
//! expected depends on when it was sent and when it was answered.
//!
//! A change to the JWKS takes time to reach every worker: a worker's keys are refreshed at
//! 90 % of `cache_duration` (checked on its 500 ms tick), a fetch takes up to `timeout`, and a
//! worker whose refresh falls while another fetches waits for that fetch, whose answer may
//! predate the change, and then refreshes once more. So two refreshes, each with a tick and
//! a fetch, bound the time to the change being seen everywhere; a margin on top makes it
//! [`Timing::propagation`]. Within that window after a key is published or removed, both
//! answers are right; outside it, exactly one is. Faults are injected only where no such
//! window is open, and stop early enough for the filter's backoff (doubling from 1 s) to
//! have run out before the next change.

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
const MARGIN: Duration = Duration::from_secs(3);

impl Timing {
    /// The longest a JWKS change may take to reach every worker while the IdP is healthy.
    pub fn propagation(&self) -> Duration {
        let refresh = self.cache_duration.mul_f64(0.9) + TICK + self.timeout;
        refresh * 2 + MARGIN
    }
}

/// What the IdP is told to do at a point of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Sign with a new key, publishing it next to the old one.
    Rotate,
    /// Publish the signing key only: the old key is removed.
    Retire,
    /// Start misbehaving in the given way (an index into the fault list).
    Fault(usize),
    /// Answer normally again.
    Heal,
}

/// Warm-up, then cycles of: rotate; retire after one propagation window; faults after
/// another; quiet while the filter's backoff runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub warm_up: Duration,
    pub propagation: Duration,
    /// How long the IdP misbehaves per cycle.
    pub faults: Duration,
    /// How many kinds of fault take turns in that time.
    pub fault_kinds: usize,
}

impl Schedule {
    pub fn new(timing: Timing, warm_up: Duration, faults: Duration, fault_kinds: usize) -> Self {
        Schedule {
            warm_up,
            propagation: timing.propagation(),
            faults,
            fault_kinds: fault_kinds.max(1),
        }
    }

    /// Quiet time after the faults: the backoff after failures spread over `faults` (1, 2,
    /// 4 ... s) ends at most `faults` after the last one, plus a fetch.
    fn quiet(&self) -> Duration {
        self.faults + Duration::from_secs(2)
    }

    pub fn cycle(&self) -> Duration {
        self.propagation * 2 + self.faults + self.quiet()
    }

    /// The events of one cycle, by offset from its start.
    fn cycle_events(&self) -> Vec<(Duration, Event)> {
        let mut events = vec![
            (Duration::ZERO, Event::Rotate),
            (self.propagation, Event::Retire),
        ];
        let start = self.propagation * 2;
        let each = self.faults / u32::try_from(self.fault_kinds).unwrap_or(u32::MAX);
        for kind in 0..self.fault_kinds {
            let at = start + each * u32::try_from(kind).unwrap_or(u32::MAX);
            events.push((at, Event::Fault(kind)));
        }
        events.push((start + self.faults, Event::Heal));
        events
    }

    /// The events due after `from` and up to `to` (times since the soak started), in order.
    pub fn events_between(&self, from: Duration, to: Duration) -> Vec<(Duration, Event)> {
        let mut due = Vec::new();
        if to <= self.warm_up {
            return due;
        }
        let cycle = self.cycle();
        let first = from.saturating_sub(self.warm_up).as_nanos() / cycle.as_nanos();
        let last = (to - self.warm_up).as_nanos() / cycle.as_nanos();
        for n in first..=last {
            let Ok(n) = u32::try_from(n) else { break };
            let start = self.warm_up + cycle * n;
            for (offset, event) in self.cycle_events() {
                let at = start + offset;
                if at > from && at <= to {
                    due.push((at, event));
                }
            }
        }
        due
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
        cache_duration: Duration::from_secs(3),
        timeout: Duration::from_secs(1),
        min_refetch_interval: Duration::from_secs(2),
    };

    #[test]
    fn propagation_covers_two_refreshes_with_ticks_and_fetches() {
        // 2 x (2.7 + 0.5 + 1) + 3
        assert_eq!(TIMING.propagation(), Duration::from_millis(11_400));
    }

    #[test]
    fn a_cycle_rotates_retires_then_misbehaves_then_rests() {
        let schedule = Schedule::new(TIMING, s(10), s(8), 4);
        let w = schedule.propagation;
        assert_eq!(schedule.cycle(), w * 2 + s(8) + s(10));
        let events = schedule.events_between(Duration::ZERO, s(10) + schedule.cycle());
        let kinds: Vec<Event> = events.iter().map(|(_, e)| *e).collect();
        assert_eq!(
            kinds,
            vec![
                Event::Rotate,
                Event::Retire,
                Event::Fault(0),
                Event::Fault(1),
                Event::Fault(2),
                Event::Fault(3),
                Event::Heal,
                Event::Rotate,
            ]
        );
        assert_eq!(events[0].0, s(10));
        assert_eq!(events[1].0, s(10) + w);
        assert_eq!(events[2].0, s(10) + w * 2);
        assert_eq!(events[3].0, s(10) + w * 2 + s(2));
        assert_eq!(events[6].0, s(10) + w * 2 + s(8));
        assert_eq!(events[7].0, s(10) + schedule.cycle());
    }

    #[test]
    fn each_event_is_due_once_however_time_is_sliced() {
        let schedule = Schedule::new(TIMING, s(10), s(8), 4);
        let mut seen = Vec::new();
        let mut at = Duration::ZERO;
        while at < s(200) {
            let next = at + Duration::from_millis(70);
            seen.extend(schedule.events_between(at, next));
            at = next;
        }
        assert_eq!(seen, schedule.events_between(Duration::ZERO, at));
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(schedule.events_between(Duration::ZERO, s(9)).is_empty());
    }

    #[test]
    fn faults_end_before_the_backoff_could_reach_the_next_rotation() {
        let schedule = Schedule::new(TIMING, s(10), s(8), 4);
        let events = schedule.events_between(Duration::ZERO, s(10) + schedule.cycle() * 2);
        let heal = events.iter().find(|(_, e)| *e == Event::Heal).unwrap().0;
        let next_rotate = events
            .iter()
            .filter(|(_, e)| *e == Event::Rotate)
            .nth(1)
            .unwrap()
            .0;
        // Failures at 0, 1, 3, 7 s into the faults: the next retry is 8 s after the last.
        assert!(next_rotate >= heal + s(8) + TIMING.timeout);
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
