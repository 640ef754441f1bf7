//! YAML (every document of a stream) to the JSON values the filter's configuration reader takes.
//!
//! Strict where YAML is lax, so that a YAML configuration means exactly one JSON document:
//! duplicate keys are refused (a parser that keeps the last one would hide a mistake), keys must
//! be scalars, and plain scalars are resolved by the YAML 1.2 core schema (`true`, `60`, `null`;
//! `yes` and `on` stay strings). Aliases are expanded, within a bound.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Values an alias may expand to, in all: a few nested aliases must not blow up memory.
const MAX_NODES: usize = 1_000_000;

/// One document of a YAML stream, with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub value: Value,
    pub line: usize,
}

/// Every document of `text`; an empty stream has none.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, String> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: Vec::new(),
        nodes: 0,
    };
    builder.stream()
}

/// Exactly one document (a bare plugin configuration, an Envoy bootstrap).
pub fn parse_single(text: &str) -> Result<Value, String> {
    let mut documents = parse_documents(text)?;
    match documents.len() {
        1 => Ok(documents.remove(0).value),
        0 => Err("no YAML document".into()),
        n => Err(format!("{n} YAML documents where one was expected")),
    }
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    /// Anchored values by anchor id (ids start at 1).
    anchors: Vec<(usize, Value)>,
    nodes: usize,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), String> {
        self.parser.next_token().map_err(|e| e.to_string())
    }

    fn stream(&mut self) -> Result<Vec<Document>, String> {
        let mut documents = Vec::new();
        loop {
            match self.next()? {
                (Event::StreamStart | Event::DocumentEnd | Event::Nothing, _) => {}
                (Event::StreamEnd, _) => return Ok(documents),
                (Event::DocumentStart, mark) => {
                    let (event, at) = self.next()?;
                    let value = self.node(event, at)?;
                    documents.push(Document {
                        value,
                        line: mark.line(),
                    });
                }
                (event, mark) => return Err(unexpected(&event, mark)),
            }
        }
    }

    fn node(&mut self, event: Event, mark: Marker) -> Result<Value, String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!(
                "line {}: more than {MAX_NODES} values (aliases expanding too far?)",
                mark.line()
            ));
        }
        let (anchor, value) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                (anchor, scalar(&text, style, tag.as_ref(), mark)?)
            }
            Event::SequenceStart(anchor, tag) => {
                expect_tag(tag.as_ref(), "seq", mark)?;
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break,
                        (event, at) => items.push(self.node(event, at)?),
                    }
                }
                (anchor, Value::Array(items))
            }
            Event::MappingStart(anchor, tag) => {
                expect_tag(tag.as_ref(), "map", mark)?;
                (anchor, Value::Object(self.mapping()?))
            }
            Event::Alias(id) => {
                let value = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| format!("line {}: unknown alias", mark.line()))?;
                self.nodes += count(&value);
                if self.nodes > MAX_NODES {
                    return Err(format!(
                        "line {}: more than {MAX_NODES} values (aliases expanding too far?)",
                        mark.line()
                    ));
                }
                return Ok(value);
            }
            other => return Err(unexpected(&other, mark)),
        };
        if anchor > 0 {
            self.anchors.push((anchor, value.clone()));
        }
        Ok(value)
    }

    fn mapping(&mut self) -> Result<Map<String, Value>, String> {
        let mut map = Map::new();
        loop {
            let (event, mark) = self.next()?;
            let key = match event {
                Event::MappingEnd => return Ok(map),
                Event::Scalar(text, ..) => text,
                Event::Alias(_) => self
                    .node(event, mark)?
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("line {}: a key must be a string", mark.line()))?,
                _ => {
                    return Err(format!(
                        "line {}: a key must be a string, not a list or a map",
                        mark.line()
                    ));
                }
            };
            if map.contains_key(&key) {
                return Err(format!("line {}: duplicate key {key:?}", mark.line()));
            }
            let (event, at) = self.next()?;
            let value = self.node(event, at)?;
            map.insert(key, value);
        }
    }
}

fn count(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

fn unexpected(event: &Event, mark: Marker) -> String {
    format!("line {}: unexpected YAML event {event:?}", mark.line())
}

/// The core-schema name of a `!!` tag, if it is one.
fn core_tag(tag: Option<&Tag>) -> Option<&str> {
    tag.and_then(|t| (t.handle == "tag:yaml.org,2002:").then_some(t.suffix.as_str()))
        .or_else(|| tag.and_then(|t| (t.handle == "!!").then_some(t.suffix.as_str())))
}

fn expect_tag(tag: Option<&Tag>, expected: &str, mark: Marker) -> Result<(), String> {
    match (tag, core_tag(tag)) {
        (None, _) => Ok(()),
        (Some(_), Some(name)) if name == expected => Ok(()),
        (Some(t), _) => Err(format!(
            "line {}: unsupported tag {}{}",
            mark.line(),
            t.handle,
            t.suffix
        )),
    }
}

fn scalar(
    text: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    mark: Marker,
) -> Result<Value, String> {
    let line = mark.line();
    let resolved = match (tag, core_tag(tag)) {
        (None, _) if style != TScalarStyle::Plain => return Ok(Value::String(text.to_owned())),
        (None, _) => plain(text),
        (Some(_), Some("str")) => return Ok(Value::String(text.to_owned())),
        (Some(_), Some(kind @ ("int" | "float" | "bool" | "null"))) => {
            let value = plain(text);
            let matches = match kind {
                "int" => value.as_ref().is_some_and(|v| v.is_i64() || v.is_u64()),
                "float" => value.as_ref().is_some_and(Value::is_number),
                "bool" => value.as_ref().is_some_and(Value::is_boolean),
                _ => value.as_ref().is_some_and(Value::is_null),
            };
            if !matches {
                return Err(format!("line {line}: {text:?} is not a valid !!{kind}"));
            }
            value
        }
        (Some(t), _) => {
            return Err(format!(
                "line {line}: unsupported tag {}{}",
                t.handle, t.suffix
            ));
        }
    };
    match resolved {
        Some(value) => Ok(value),
        None if is_special_float(text) => {
            Err(format!("line {line}: {text} has no JSON equivalent"))
        }
        None => Ok(Value::String(text.to_owned())),
    }
}

/// A plain scalar by the YAML 1.2 core schema; `None` means it is a string.
fn plain(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return digits(hex, 16)
            .then(|| u64::from_str_radix(hex, 16).ok().map(Value::from))
            .flatten();
    }
    if let Some(octal) = unsigned.strip_prefix("0o") {
        return digits(octal, 8)
            .then(|| u64::from_str_radix(octal, 8).ok().map(Value::from))
            .flatten();
    }
    let magnitude = unsigned.strip_prefix('-').unwrap_or(unsigned);
    if digits(magnitude, 10) {
        if let Ok(n) = unsigned.parse::<u64>() {
            return Some(Value::from(n));
        }
        if let Ok(n) = unsigned.parse::<i64>() {
            return Some(Value::from(n));
        }
    }
    if is_float(magnitude) {
        return unsigned
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    None
}

/// `[0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)?` with at least one digit before the exponent.
fn is_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok =
        all_digits(whole) && all_digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

fn is_special_float(text: &str) -> bool {
    let t = text.trim_start_matches(['+', '-']);
    matches!(t, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        parse_single(text).unwrap()
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        assert_eq!(
            one(
                "a: 60\nb: -3\nc: 1.5\nd: true\ne: null\nf: ~\ng: yes\nh: on\ni: 0x1F\nj: 1e3\nk: \"60\"\nl: '5s'\nm: 5s\nn:\n"
            ),
            json!({"a": 60, "b": -3, "c": 1.5, "d": true, "e": null, "f": null, "g": "yes", "h": "on",
                   "i": 31, "j": 1000.0, "k": "60", "l": "5s", "m": "5s", "n": null})
        );
    }

    #[test]
    fn block_scalars_are_strings() {
        assert_eq!(
            one("value: |\n  {\"a\": 1}\nfolded: >\n  two\n  words\n"),
            json!({"value": "{\"a\": 1}\n", "folded": "two words\n"})
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_line() {
        let error = parse_single("a: 1\nb:\n  c: 2\n  c: 3\n").unwrap_err();
        assert_eq!(error, "line 4: duplicate key \"c\"");
    }

    #[test]
    fn every_document_of_a_stream_with_its_line() {
        let docs =
            parse_documents("kind: A\n---\nkind: B\n---\n# nothing but a comment\n").unwrap();
        let kinds: Vec<(&Value, usize)> = docs.iter().map(|d| (&d.value["kind"], d.line)).collect();
        assert_eq!(
            kinds,
            vec![(&json!("A"), 1), (&json!("B"), 2), (&Value::Null, 4)]
        );
        assert!(parse_documents("").unwrap().is_empty());
    }

    #[test]
    fn aliases_expand_and_are_bounded() {
        assert_eq!(
            one("base: &b {x: 1}\ncopy: *b\n"),
            json!({"base": {"x": 1}, "copy": {"x": 1}})
        );
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(parse_single(&bomb).unwrap_err().contains("more than"));
    }

    #[test]
    fn tags_are_honoured_or_refused() {
        assert_eq!(one("a: !!str 60\nb: !!int 7\n"), json!({"a": "60", "b": 7}));
        assert!(
            parse_single("a: !!int x\n")
                .unwrap_err()
                .contains("not a valid !!int")
        );
        assert!(
            parse_single("a: !custom x\n")
                .unwrap_err()
                .contains("unsupported tag")
        );
        assert!(
            parse_single("a: .inf\n")
                .unwrap_err()
                .contains("no JSON equivalent")
        );
    }

    #[test]
    fn keys_must_be_scalars_and_syntax_errors_have_a_line() {
        assert!(
            parse_single("? [a]\n: 1\n")
                .unwrap_err()
                .contains("a key must be a string")
        );
        assert!(parse_single("a: [1, 2\n").unwrap_err().contains("line"));
    }
}
