//! `jwt-authz convert FILE...`: the jwt-authz configuration that decides as an existing one
//! does, from Envoy's `jwt_authn` filter ([`jwt_authn`]) or Istio's `RequestAuthentication`
//! and `AuthorizationPolicy` ([`istio`]), with everything it could not carry and why.
//!
//! Every result passes the filter's own validation (the `check` command's) before it is
//! returned: convert never writes a configuration the filter refuses.

pub mod istio;
pub mod jwt_authn;

use crate::check;
use crate::yaml;
use serde_json::{Map, Value};
use std::fmt;

/// One configuration converted.
#[derive(Debug)]
pub struct Conversion {
    /// Where the original is: file, document, path.
    pub origin: String,
    /// The jwt-authz configuration.
    pub config: Value,
    /// What the original says that the result does not.
    pub not_carried: Vec<NotCarried>,
}

/// Something the original configuration says that the converted one does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCarried {
    /// The field in the original (`providers.auth0.from_cookies`, `rules[2].match`).
    pub at: String,
    pub why: String,
    pub effect: Effect,
}

/// What leaving it out does to the decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// None: it is about metadata, metrics, fetching or the response's form.
    NoDecision,
    /// Some requests the original lets through are refused.
    RefusesMore,
    /// Some requests the original refuses are let through: read before deploying.
    LetsMoreThrough,
}

impl fmt::Display for NotCarried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let effect = match self.effect {
            Effect::NoDecision => "no decision changes",
            Effect::RefusesMore => "refuses more",
            Effect::LetsMoreThrough => "LETS MORE THROUGH",
        };
        write!(f, "{}: {} ({effect})", self.at, self.why)
    }
}

/// The list a conversion keeps of what it could not carry.
#[derive(Debug, Default)]
pub struct Notes(pub Vec<NotCarried>);

impl Notes {
    pub fn add(&mut self, at: impl Into<String>, why: impl Into<String>, effect: Effect) {
        let item = NotCarried {
            at: at.into(),
            why: why.into(),
            effect,
        };
        if !self.0.contains(&item) {
            self.0.push(item);
        }
    }
}

/// A document of the input, with where it is.
pub struct Document {
    pub place: String,
    pub value: Value,
}

/// Converts every configuration in `files` (name, contents): Istio resources from all the
/// files together (a `RequestAuthentication` and the policies that use it are often apart),
/// else each `jwt_authn` configuration on its own. Each result passed the filter's checks.
pub fn convert(files: &[(String, String)]) -> Result<Vec<Conversion>, String> {
    let mut documents = Vec::new();
    for (name, text) in files {
        documents.extend(read(name, text).map_err(|e| format!("{name}: {e}"))?);
    }
    let conversions = if documents.iter().any(|d| istio::is_istio(&d.value)) {
        vec![istio::convert(&documents)?]
    } else {
        let mut conversions = Vec::new();
        for document in &documents {
            for (path, config) in jwt_authn::find(&document.value) {
                let origin = match path.is_empty() {
                    true => document.place.clone(),
                    false => format!("{}: {path}", document.place),
                };
                conversions.push(jwt_authn::convert(&origin, config, &document.value)?);
            }
        }
        conversions
    };
    if conversions.is_empty() {
        return Err(format!(
            "no jwt_authn configuration ({}), RequestAuthentication or AuthorizationPolicy found",
            jwt_authn::FILTER_TYPE
        ));
    }
    for conversion in &conversions {
        validate(conversion)?;
    }
    Ok(conversions)
}

/// The documents of one file: JSON (read strictly, as the filter reads), or a YAML stream,
/// with `kubectl`'s Lists unpacked.
fn read(name: &str, text: &str) -> Result<Vec<Document>, String> {
    let values = if text.trim_start().starts_with('{') {
        let object = jwt_authz::json::parse_object_explained(text.as_bytes())
            .map_err(|e| format!("not valid JSON: {e}"))?;
        vec![(name.to_string(), Value::Object(object))]
    } else {
        let documents = yaml::parse_documents(text)?;
        let several = documents.len() > 1;
        documents
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                let place = match several {
                    true => format!("{name}: document {} (line {})", i + 1, d.line),
                    false => name.to_string(),
                };
                (place, d.value)
            })
            .collect()
    };
    let mut documents = Vec::new();
    for (place, value) in values {
        if value.get("kind").and_then(Value::as_str) == Some("List") {
            let items = value.get("items").and_then(Value::as_array);
            for (i, item) in items.into_iter().flatten().enumerate() {
                documents.push(Document {
                    place: format!("{place}: items[{i}]"),
                    value: item.clone(),
                });
            }
        } else if !value.is_null() {
            documents.push(Document { place, value });
        }
    }
    Ok(documents)
}

/// The filter's own validation, as `check` runs it.
fn validate(conversion: &Conversion) -> Result<(), String> {
    let json = serde_json::to_string_pretty(&conversion.config).map_err(|e| e.to_string())?;
    let report = check::check(&[(format!("converted from {}", conversion.origin), json)]);
    match report.ok {
        true => Ok(()),
        false => Err(format!(
            "the converted configuration is refused by the filter, so none is written:\n{}",
            report.text
        )),
    }
}

/// The text `convert` writes: one configuration as JSON (to paste into the filter's
/// `configuration`), several as a YAML stream of JSON documents that `check` reads.
pub fn output(conversions: &[Conversion]) -> String {
    let pretty = |c: &Conversion| pretty(&c.config);
    match conversions {
        [one] => format!("{}\n", pretty(one)),
        several => several
            .iter()
            .map(|c| format!("# converted from {}\n{}\n", c.origin, pretty(c)))
            .collect::<Vec<_>>()
            .join("---\n"),
    }
}

/// `value` as the book writes configurations: members in the order of the filter's field
/// tables (`issuer` before `audiences`, `match` before `requires`), and what fits on a line
/// of 100 characters on one line.
pub fn pretty(value: &Value) -> String {
    use jwt_authz::config::fields;
    let tables: Vec<Vec<&str>> = std::iter::once(&fields::CONFIG[..])
        .chain(fields::all().iter().map(|f| f.kind.members()))
        .filter(|members| !members.is_empty())
        .map(|members| members.iter().map(|m| m.name).collect())
        .collect();
    let mut out = String::new();
    write_pretty(value, 0, &tables, &mut out);
    out
}

/// The field tables of the configuration's objects, each a list of member names in order.
type Tables<'t> = [Vec<&'t str>];

fn write_pretty(value: &Value, indent: usize, order: &Tables, out: &mut String) {
    let compact = compact(value, order);
    if indent + compact.len() <= 100 || !(value.is_object() || value.is_array()) {
        out.push_str(&compact);
        return;
    }
    let pad = "  ".repeat(indent + 1);
    let (open, close, items): (char, char, Vec<(Option<&String>, &Value)>) = match value {
        Value::Object(map) => (
            '{',
            '}',
            ordered(map, order)
                .into_iter()
                .map(|(k, v)| (Some(k), v))
                .collect(),
        ),
        Value::Array(items) => ('[', ']', items.iter().map(|v| (None, v)).collect()),
        _ => unreachable!("scalars are written compact"),
    };
    out.push(open);
    for (i, (key, item)) in items.iter().enumerate() {
        out.push('\n');
        out.push_str(&pad);
        if let Some(key) = key {
            out.push_str(&Value::String((*key).clone()).to_string());
            out.push_str(": ");
        }
        write_pretty(item, indent + 1, order, out);
        if i + 1 < items.len() {
            out.push(',');
        }
    }
    out.push('\n');
    out.push_str(&"  ".repeat(indent));
    out.push(close);
}

fn compact(value: &Value, order: &Tables) -> String {
    match value {
        Value::Object(map) => {
            let members: Vec<String> = ordered(map, order)
                .into_iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), compact(v, order)))
                .collect();
            format!("{{{}}}", members.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| compact(v, order)).collect();
            format!("[{}]", items.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

/// Members in the order of the first field table that has them all; an object no table has
/// (the providers, by their names) keeps its order.
fn ordered<'m>(map: &'m Map<String, Value>, order: &Tables) -> Vec<(&'m String, &'m Value)> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    let table = order
        .iter()
        .find(|table| map.keys().all(|k| table.contains(&k.as_str())));
    if let Some(table) = table {
        members.sort_by_key(|(k, _)| table.iter().position(|name| name == k));
    }
    members
}

/// The list of what was not carried, for standard error, and a closing count.
pub fn report(conversions: &[Conversion]) -> String {
    let mut text = String::new();
    for conversion in conversions {
        if conversion.not_carried.is_empty() {
            text.push_str(&format!("{}: everything carried\n", conversion.origin));
            continue;
        }
        text.push_str(&format!("{}: not carried:\n", conversion.origin));
        for item in &conversion.not_carried {
            text.push_str(&format!("  {item}\n"));
        }
    }
    let count = |effect: Option<Effect>| {
        conversions
            .iter()
            .flat_map(|c| &c.not_carried)
            .filter(|n| effect.is_none_or(|e| n.effect == e))
            .count()
    };
    let lets_more = count(Some(Effect::LetsMoreThrough));
    text.push_str(&format!(
        "{} configuration(s) converted: {} item(s) not carried, {lets_more} of them let more through\n",
        conversions.len(),
        count(None),
    ));
    text
}

/// What becomes of a field of the original.
pub enum Carry {
    /// Copied: jwt-authz has the field, with the original's meaning and shape.
    Same,
    /// Copied under jwt-authz's name for it.
    As(&'static str),
    /// Converted by this function (the field's path, its value, the object being written).
    With(fn(&str, &Value, &mut Map<String, Value>, &mut Notes)),
    /// Not carried, for this reason.
    Lost(&'static str, Effect),
    /// Read elsewhere in the conversion.
    Elsewhere,
}

/// Copies or converts each field of `from` as `table` says, under the path `at`.
pub fn copy_fields(
    at: &str,
    from: &Map<String, Value>,
    table: &[(&str, Carry)],
    to: &mut Map<String, Value>,
    notes: &mut Notes,
) {
    let path = |name: &str| match at.is_empty() {
        true => name.to_string(),
        false => format!("{at}.{name}"),
    };
    for (name, value) in from {
        match table.iter().find(|(n, _)| n == name).map(|(_, c)| c) {
            Some(Carry::Same) => {
                to.insert(name.clone(), value.clone());
            }
            Some(Carry::As(ours)) => {
                to.insert(ours.to_string(), value.clone());
            }
            Some(Carry::With(convert)) => convert(&path(name), value, to, notes),
            Some(Carry::Lost(why, effect)) => notes.add(path(name), *why, *effect),
            Some(Carry::Elsewhere) => {}
            None => notes.add(
                path(name),
                "a field the converter does not know: it may have refused tokens",
                Effect::LetsMoreThrough,
            ),
        }
    }
}

/// A provider name jwt-authz accepts (letters, digits, `_`, `-`: names become metric names).
pub fn provider_name(original: &str) -> String {
    let name: String = original
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                true => c,
                false => '-',
            },
        )
        .collect();
    match name.trim_matches('-').is_empty() {
        true => "provider".into(),
        false => name,
    }
}

/// `text` as a regular expression matching it literally.
pub fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_keep_what_jwt_authz_accepts() {
        assert_eq!(provider_name("auth0"), "auth0");
        assert_eq!(provider_name("auth0.prod/eu"), "auth0-prod-eu");
        assert_eq!(provider_name("..."), "provider");
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(regex_literal("/v1.0/a+b"), "/v1\\.0/a\\+b");
    }
}
