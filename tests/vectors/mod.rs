//! Running Wycheproof files (tests/fixtures/wycheproof/, see the README there): each vector
//! judged against the verdict its test file expects, every vector counted, the counts pinned.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

pub fn hex_field(value: &Value, name: &str) -> Vec<u8> {
    hex(value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no hex {name}")))
}

/// A Wycheproof file, its `algorithm` checked.
pub fn load(file: &str, algorithm: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wycheproof")
        .join(file);
    let document: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(document["algorithm"], algorithm, "{file}");
    document
}

/// What a test file expects of one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Accept,
    Refuse,
    /// A vector Wycheproof calls valid or acceptable that JOSE's profile refuses, with the
    /// reason. The test checks that the refusal is the one named.
    RefuseByPolicy(&'static str),
}

/// How many vectors of a file, by Wycheproof's result, and how many of them JOSE's profile
/// refuses though Wycheproof finds them valid or acceptable, by reason.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub valid: usize,
    pub invalid: usize,
    pub acceptable: usize,
    pub refused_by_policy: BTreeMap<&'static str, usize>,
}

impl Counts {
    pub fn new(valid: usize, invalid: usize, acceptable: usize) -> Counts {
        Counts {
            valid,
            invalid,
            acceptable,
            refused_by_policy: BTreeMap::new(),
        }
    }

    pub fn with_policy(mut self, reason: &'static str, count: usize) -> Counts {
        self.refused_by_policy.insert(reason, count);
        self
    }
}

pub fn flags(test: &Value) -> Vec<&str> {
    test["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect()
}

/// Runs every vector of `document` through `judge(group, test)`, which returns what it
/// expects (from the vector's result, flags and the group) and whether the vector was
/// refused for that reason (`Ok(())` for accepted, `Err(reason)` for refused, where the
/// reason is compared with a policy refusal's). Panics with every disagreement at once.
pub fn run(
    file: &str,
    document: &Value,
    mut judge: impl FnMut(&Value, &Value, &str) -> (Expect, Result<(), String>),
) -> Counts {
    let mut counts = Counts::default();
    let mut mismatches = Vec::new();
    let groups = document["testGroups"].as_array().unwrap();
    assert!(!groups.is_empty());
    for group in groups {
        for test in group["tests"].as_array().unwrap() {
            let id = format!("{file} tcId {}", test["tcId"]);
            let result = test["result"].as_str().unwrap();
            match result {
                "valid" => counts.valid += 1,
                "invalid" => counts.invalid += 1,
                "acceptable" => counts.acceptable += 1,
                other => panic!("{id}: unknown result {other:?}"),
            }
            let (expect, outcome) = judge(group, test, &id);
            let agrees = match (expect, &outcome) {
                (Expect::Accept, Ok(())) | (Expect::Refuse, Err(_)) => true,
                (Expect::RefuseByPolicy(reason), Err(got)) => {
                    assert_ne!(
                        result, "invalid",
                        "{id}: policy refusals are of valid vectors"
                    );
                    *counts.refused_by_policy.entry(reason).or_default() += 1;
                    got == reason
                }
                _ => false,
            };
            if !agrees {
                mismatches.push(format!(
                    "{id} ({result}, {:?}, {}): expected {expect:?}, got {outcome:?}",
                    flags(test),
                    test["comment"]
                ));
            }
        }
    }
    let total = counts.valid + counts.invalid + counts.acceptable;
    println!(
        "{file}: {} groups, {total} vectors, {counts:?}",
        groups.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(
        total as u64,
        document["numberOfTests"].as_u64().unwrap(),
        "{file}: numberOfTests"
    );
    counts
}
