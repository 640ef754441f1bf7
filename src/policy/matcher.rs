//! Envoy's `StringMatcher`, as jwt_authn's `subjects` and the route conditions of a rule use it:
//! exactly one of `exact`, `prefix`, `suffix`, `contains` or `safe_regex`, and `ignore_case`.

/// A condition on one string.
#[derive(Debug, Clone)]
pub struct StringMatch {
    pub pattern: Pattern,
    /// ASCII letters compare without case (as Envoy's): the pattern is then lower case, and
    /// so is the value before it is compared. Not with `safe_regex`.
    pub ignore_case: bool,
}

#[derive(Debug, Clone)]
pub enum Pattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    /// The whole value matches (anchored when compiled).
    Regex(regex_lite::Regex),
}

impl StringMatch {
    pub fn matches(&self, value: &str) -> bool {
        // Compiled patterns with `ignore_case` are lower case already.
        let lowered;
        let value = if self.ignore_case {
            lowered = value.to_ascii_lowercase();
            lowered.as_str()
        } else {
            value
        };
        match &self.pattern {
            Pattern::Exact(exact) => value == exact,
            Pattern::Prefix(prefix) => value.starts_with(prefix.as_str()),
            Pattern::Suffix(suffix) => value.ends_with(suffix.as_str()),
            Pattern::Contains(part) => value.contains(part.as_str()),
            Pattern::Regex(regex) => regex.is_match(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(pattern: Pattern, ignore_case: bool) -> StringMatch {
        StringMatch {
            pattern,
            ignore_case,
        }
    }

    #[test]
    fn each_pattern_matches_as_envoys() {
        let cases = [
            (Pattern::Exact("abc".into()), "abc", "abcd"),
            (Pattern::Prefix("ab".into()), "abc", "xabc"),
            (Pattern::Suffix("bc".into()), "abc", "abcx"),
            (Pattern::Contains("b".into()), "abc", "acd"),
            (
                Pattern::Regex(regex_lite::Regex::new("^(?:a.c)$").unwrap()),
                "abc",
                "abcc",
            ),
        ];
        for (pattern, yes, no) in cases {
            let m = matcher(pattern, false);
            assert!(m.matches(yes), "{m:?} {yes}");
            assert!(!m.matches(no), "{m:?} {no}");
        }
    }

    #[test]
    fn ignore_case_compares_ascii_letters_without_case() {
        for pattern in [
            Pattern::Exact("abc".into()),
            Pattern::Prefix("ab".into()),
            Pattern::Suffix("bc".into()),
            Pattern::Contains("b".into()),
        ] {
            assert!(matcher(pattern.clone(), true).matches("ABC"), "{pattern:?}");
            assert!(!matcher(pattern, false).matches("ABC"));
        }
        assert!(matcher(Pattern::Suffix("a".into()), true).matches("éA"));
        assert!(!matcher(Pattern::Exact("é".into()), true).matches("É"));
    }
}
