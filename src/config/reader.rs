//! Reading the configuration's JSON objects field by field: every member known, every type
//! checked, every error naming its path (`rules[2].match.safe_regex.regex`).
//!
//! Hand-written rather than derived: serde's derived visitors cost more module size than the
//! whole rest of the configuration code. Its methods are never inlined: each read inlined
//! at its call site (a map search, a clone, an error) cost 10.7 KB of module in the compilers.

use super::fields::{self, Kind, Member};
use super::{ConfigError, error};
use serde_json::{Map, Value};

/// One JSON object of the configuration at `path`, whose members are `known`.
///
/// Objects are reached only from the top ([`Object::root`]) through the members that declare
/// them in [`fields`], so what the reader accepts is exactly that tree.
pub(super) struct Object<'v> {
    path: String,
    members: &'v Map<String, Value>,
    known: &'static [Member],
}

/// How a member holds objects, as the reader asks for them.
#[derive(Clone, Copy)]
enum Shape {
    Object,
    Objects,
    Named,
}

/// An element of an array of objects, or a named entry (`providers.NAME`), not yet read.
pub(super) struct Element<'v> {
    pub path: String,
    value: &'v Value,
    known: &'static [Member],
}

impl<'v> Element<'v> {
    /// The element as an object of its declared members.
    #[inline(never)]
    pub fn object(&self) -> Result<Object<'v>, ConfigError> {
        Object::new(&self.path, self.value, self.known)
    }

    /// Like [`Element::object`], but every unknown member is added to `errors` and then
    /// ignored, so that the rest of the object can still be checked.
    #[inline(never)]
    pub fn object_collecting(
        &self,
        errors: &mut Vec<ConfigError>,
    ) -> Result<Object<'v>, ConfigError> {
        Object::new_collecting(&self.path, self.value, self.known, errors)
    }
}

impl<'v> Object<'v> {
    /// The whole configuration, unknown top-level members added to `errors`.
    #[inline(never)]
    pub fn root(
        value: &'v Value,
        errors: &mut Vec<ConfigError>,
    ) -> Result<Object<'v>, ConfigError> {
        Object::new_collecting("", value, &fields::CONFIG, errors)
    }

    /// `value` as an object whose members are all among `known`.
    #[inline(never)]
    fn new(
        path: &str,
        value: &'v Value,
        known: &'static [Member],
    ) -> Result<Object<'v>, ConfigError> {
        let Value::Object(members) = value else {
            return Err(error(
                display(path),
                format!("must be an object, not {}", kind(value)),
            ));
        };
        if let Some(unknown) = members.keys().find(|k| !is_known(known, k)) {
            return Err(unknown_field(path, unknown, known));
        }
        Ok(Object {
            path: path.to_string(),
            members,
            known,
        })
    }

    #[inline(never)]
    fn new_collecting(
        path: &str,
        value: &'v Value,
        known: &'static [Member],
        errors: &mut Vec<ConfigError>,
    ) -> Result<Object<'v>, ConfigError> {
        let Value::Object(members) = value else {
            return Object::new(path, value, known);
        };
        for unknown in members.keys().filter(|k| !is_known(known, k)) {
            errors.push(unknown_field(path, unknown, known));
        }
        Ok(Object {
            path: path.to_string(),
            members,
            known,
        })
    }

    /// The members [`fields`] declares for the object(s) member `name` holds, if `shape` is
    /// how it declares them. Reading a member otherwise is a mistake in the reader, refused
    /// like a configuration mistake rather than a panic.
    #[inline(never)]
    fn declared(&self, name: &str, shape: Shape) -> Result<&'static [Member], ConfigError> {
        match (
            self.known.iter().find(|m| m.name == name).map(|m| m.kind),
            shape,
        ) {
            (Some(Kind::Object(members)), Shape::Object)
            | (Some(Kind::Objects(members)), Shape::Objects)
            | (Some(Kind::Named(members)), Shape::Named) => Ok(members),
            _ => Err(error(
                self.at(name),
                "is not declared so in config/fields.rs (a bug in jwt-authz)",
            )),
        }
    }

    /// The path of this object.
    #[inline(never)]
    pub fn path(&self) -> String {
        display(&self.path)
    }

    /// The path of member `name`.
    #[inline(never)]
    pub fn at(&self, name: &str) -> String {
        join(&self.path, name)
    }

    /// The path of element `i` of array member `name`.
    #[inline(never)]
    pub fn at_index(&self, name: &str, i: usize) -> String {
        format!("{}[{i}]", self.at(name))
    }

    #[inline(never)]
    pub fn has(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }

    #[inline(never)]
    pub fn get(&self, name: &str) -> Option<&'v Value> {
        self.members.get(name)
    }

    #[inline(never)]
    pub fn string(&self, name: &str) -> Result<Option<String>, ConfigError> {
        match self.members.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(name, "a string", other)),
        }
    }

    #[inline(never)]
    pub fn required_string(&self, name: &str) -> Result<String, ConfigError> {
        self.string(name)?.ok_or_else(|| self.missing(name))
    }

    /// A boolean; absent is `false`.
    #[inline(never)]
    pub fn bool(&self, name: &str) -> Result<bool, ConfigError> {
        match self.members.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong_type(name, "a boolean", other)),
        }
    }

    #[inline(never)]
    pub fn u64(&self, name: &str) -> Result<Option<u64>, ConfigError> {
        match self.members.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(other) => Err(self.wrong_type(name, "a non-negative integer", other)),
        }
    }

    /// An array of strings; absent is empty.
    #[inline(never)]
    pub fn strings(&self, name: &str) -> Result<Vec<String>, ConfigError> {
        self.array(name)?
            .into_iter()
            .map(|(path, value)| match value {
                Value::String(s) => Ok(s.clone()),
                other => Err(error(
                    path,
                    format!("must be a string, not {}", kind(other)),
                )),
            })
            .collect()
    }

    /// The elements of an array with their paths; absent is empty.
    #[inline(never)]
    pub fn array(&self, name: &str) -> Result<Vec<(String, &'v Value)>, ConfigError> {
        match self.members.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| (self.at_index(name, i), item))
                .collect()),
            Some(other) => Err(self.wrong_type(name, "an array", other)),
        }
    }

    /// Member `name` as an object of the members [`fields`] declares for it, if present.
    #[inline(never)]
    pub fn object(&self, name: &str) -> Result<Option<Object<'v>>, ConfigError> {
        let known = self.declared(name, Shape::Object)?;
        self.members
            .get(name)
            .map(|value| Object::new(&self.at(name), value, known))
            .transpose()
    }

    #[inline(never)]
    pub fn required_object(&self, name: &str) -> Result<Object<'v>, ConfigError> {
        self.object(name)?.ok_or_else(|| self.missing(name))
    }

    /// The elements of array member `name`, each to be read as an object of the members
    /// [`fields`] declares for it; absent is empty.
    #[inline(never)]
    pub fn objects(&self, name: &str) -> Result<Vec<Element<'v>>, ConfigError> {
        let known = self.declared(name, Shape::Objects)?;
        Ok(self
            .array(name)?
            .into_iter()
            .map(|(path, value)| Element { path, value, known })
            .collect())
    }

    /// The entries of an object whose keys are names (such as `providers`): each name with
    /// its value, to be read as an object of the members [`fields`] declares.
    #[inline(never)]
    pub fn entries(&self, name: &str) -> Result<Vec<(String, Element<'v>)>, ConfigError> {
        let known = self.declared(name, Shape::Named)?;
        match self.members.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Object(map)) => Ok(map
                .iter()
                .map(|(k, value)| {
                    let path = format!("{}.{k}", self.at(name));
                    (k.clone(), Element { path, value, known })
                })
                .collect()),
            Some(other) => Err(self.wrong_type(name, "an object", other)),
        }
    }

    #[inline(never)]
    fn missing(&self, name: &str) -> ConfigError {
        error(display(&self.path), format!("missing field `{name}`"))
    }

    #[inline(never)]
    fn wrong_type(&self, name: &str, expected: &str, found: &Value) -> ConfigError {
        error(
            self.at(name),
            format!("must be {expected}, not {}", kind(found)),
        )
    }
}

fn is_known(known: &[Member], name: &str) -> bool {
    known.iter().any(|m| m.name == name)
}

fn unknown_field(path: &str, unknown: &str, known: &[Member]) -> ConfigError {
    let expected: Vec<String> = known.iter().map(|m| format!("`{}`", m.name)).collect();
    error(
        join(path, unknown),
        format!(
            "unknown field `{unknown}`, expected one of {}",
            expected.join(", ")
        ),
    )
}

fn join(path: &str, name: &str) -> String {
    // An empty member name is still named, so no refusal has an empty path.
    let name = if name.is_empty() { "\"\"" } else { name };
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn display(path: &str) -> String {
    if path.is_empty() {
        "(root)".into()
    } else {
        path.to_string()
    }
}

/// What a JSON value is, for error messages (never the value itself: it may be a secret).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
