//! Strict JSON for untrusted documents: duplicate member names are an error, not "last wins".
//!
//! Two parsers that resolve `{"iss":"a","iss":"b"}` differently are the classic JWT parser
//! differential, so tokens and key sets are read through this module only.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictJsonError {
    /// Not JSON, not UTF-8, trailing bytes, or nested too deeply.
    Syntax,
    /// The same member name twice in one object (after unescaping).
    DuplicateMember,
    /// Valid JSON, but not an object at the top level.
    NotAnObject,
}

/// Parses `bytes` as one JSON object, refusing duplicate member names at any depth.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, StrictJsonError> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(map))) => Ok(map),
        Ok(_) => Err(StrictJsonError::NotAnObject),
        // Syntax and end-of-input errors come from the reader; the only data error our
        // visitor raises is the duplicate member.
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            Err(StrictJsonError::DuplicateMember)
        }
        Err(_) => Err(StrictJsonError::Syntax),
    }
}

/// [`parse_object`] for documents people write, such as the configuration: a syntax error
/// says where it is.
pub fn parse_object_explained(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(map))) => Ok(map),
        Ok(_) => Err("must be a JSON object".into()),
        Err(e) if e.classify() == serde_json::error::Category::Data => Err(format!(
            "duplicate member name at line {} column {}",
            e.line(),
            e.column()
        )),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never produces a non-finite float, so `from_f64` cannot fail here.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let StrictValue(value) = map.next_value()?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_object_parses() {
        let map = parse_object(br#"{"a":1,"b":[true,null,"x"],"c":{"d":1.5}}"#).unwrap();
        assert_eq!(map["b"][2], "x");
        assert_eq!(map["c"]["d"], 1.5);
    }

    #[test]
    fn duplicate_top_level_member_is_refused() {
        assert_eq!(
            parse_object(br#"{"iss":"a","iss":"b"}"#),
            Err(StrictJsonError::DuplicateMember)
        );
    }

    #[test]
    fn duplicate_nested_member_is_refused() {
        assert_eq!(
            parse_object(br#"{"a":[{"x":1,"x":2}]}"#),
            Err(StrictJsonError::DuplicateMember)
        );
    }

    #[test]
    fn escaped_duplicate_is_still_a_duplicate() {
        assert_eq!(
            parse_object(br#"{"alg":"RS256","\u0061lg":"none"}"#),
            Err(StrictJsonError::DuplicateMember)
        );
    }

    #[test]
    fn non_object_and_garbage_are_refused() {
        assert_eq!(parse_object(b"[1]"), Err(StrictJsonError::NotAnObject));
        assert_eq!(parse_object(b"{\"a\":1} x"), Err(StrictJsonError::Syntax));
        assert_eq!(parse_object(b"\xff"), Err(StrictJsonError::Syntax));
        assert_eq!(parse_object(b""), Err(StrictJsonError::Syntax));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse_object(format!("{{\"a\":{deep}").as_bytes()),
            Err(StrictJsonError::Syntax)
        );
    }
}
