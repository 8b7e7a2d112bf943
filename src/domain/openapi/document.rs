//! Turns the `document` of an import — a JSON object, or JSON or YAML text — into JSON.
//!
//! YAML is read straight into JSON values, bounded: nesting deeper than 128 levels is
//! refused (by the YAML reader, as serde_json refuses deeper JSON), and so is a document
//! whose aliases expand to more values than its size explains (a "billion laughs").
//! Scalars fedgate reads as text (`info.title`, `info.version`, `info.description`, an
//! operation's `summary` and `description`) keep the text they are written with:
//! `version: 1.10` is `"1.10"`, not the number 1.1.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::OPERATIONS;
use crate::domain::validation::FieldError;

/// Values a YAML document may hold beyond one per byte of its text: room for the
/// aliases real documents use, none for an expansion that grows without bound.
const EXPANSION_ALLOWANCE: usize = 1_000_000;

pub fn load(document: &Value) -> Result<Map<String, Value>, FieldError> {
    let parsed = match document {
        Value::Object(object) => return Ok(object.clone()),
        Value::String(text) if text.trim_start().starts_with('{') => serde_json::from_str(text)
            .map_err(|e| FieldError::new("document", format!("is not valid JSON: {e}")))?,
        Value::String(text) => load_yaml(text)?,
        _ => Value::Null,
    };
    match parsed {
        Value::Object(object) => Ok(object),
        _ => Err(FieldError::new(
            "document",
            "must be an OpenAPI document: a JSON object, or JSON or YAML text",
        )),
    }
}

fn load_yaml(text: &str) -> Result<Value, FieldError> {
    let budget = Cell::new(text.len() + EXPANSION_ALLOWANCE);
    let node = Node {
        place: Place::Root,
        budget: &budget,
    };
    node.deserialize(serde_norway::Deserializer::from_str(text))
        .map_err(|e| {
            let message = e.to_string();
            let reason = if message.contains("recursion limit exceeded") {
                format!("nests deeper than 128 levels: {message}")
            } else if message.contains("repetition limit exceeded") {
                format!("expands its YAML aliases too often: {message}")
            } else {
                format!("is not valid YAML: {message}")
            };
            FieldError::new("document", reason)
        })
}

/// Where a node sits, as far as the loader cares: the places whose scalars are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    Info,
    Paths,
    PathItem,
    Operation,
    Text,
    Other,
}

impl Place {
    fn child(self, key: &str) -> Place {
        match (self, key) {
            (Place::Root, "info") => Place::Info,
            (Place::Root, "paths") => Place::Paths,
            (Place::Info, "title" | "version" | "description") => Place::Text,
            (Place::Paths, _) => Place::PathItem,
            (Place::PathItem, key) if OPERATIONS.iter().any(|(k, _)| *k == key) => Place::Operation,
            (Place::Operation, "summary" | "description") => Place::Text,
            _ => Place::Other,
        }
    }
}

/// One YAML node read into JSON, spending one unit of the document's budget.
#[derive(Clone, Copy)]
struct Node<'b> {
    place: Place,
    budget: &'b Cell<usize>,
}

impl Node<'_> {
    fn at(self, place: Place) -> Self {
        Node { place, ..self }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let left = self.budget.get();
        if left == 0 {
            return Err(de::Error::custom(
                "the document expands to more values than its size explains (YAML \
                 aliases repeated without bound, a \"billion laughs\")",
            ));
        }
        self.budget.set(left - 1);
        if self.place == Place::Text {
            deserializer.deserialize_option(Text)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.at(Place::Other))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        // Keys are text as written: YAML's `200:` is the response code "200".
        while let Some(key) = map.next_key_seed(Key)? {
            let value = map.next_value_seed(self.at(self.place.child(&key)))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }

    /// A tagged value (`!custom x`): the tag means nothing to OpenAPI.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (_tag, variant): (de::IgnoredAny, _) = data.variant()?;
        de::VariantAccess::newtype_variant_seed(variant, self)
    }
}

/// A mapping key, as text.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(Str)
    }
}

/// A scalar read as the text it is written with; `null`, `~` or nothing is null.
struct Text;

impl<'de> Visitor<'de> for Text {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("text")
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_str(Str).map(Value::String)
    }
}

struct Str;

impl<'de> Visitor<'de> for Str {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("text")
    }

    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_keys_become_text_and_order_is_kept() {
        let doc = load(&json!("openapi: 3.0.3\npaths:\n  /b: {}\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n")).unwrap();
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        assert_eq!(paths, ["/b", "/a"]);
        assert_eq!(
            doc["paths"]["/a"]["get"]["responses"]["200"]["description"],
            "ok"
        );
    }

    #[test]
    fn text_scalars_keep_their_text() {
        let doc = load(&json!(
            "info:\n  title: 2048\n  version: 1.10\n  description: ~\npaths:\n  /a:\n    get:\n      summary: 1.50\n      x-n: 1.10\n      deprecated: true\nx-fedgate:\n  cors:\n    maxAge: 600\n    enabled: yes\n"
        ))
        .unwrap();
        assert_eq!(doc["info"]["title"], "2048");
        assert_eq!(doc["info"]["version"], "1.10");
        assert_eq!(doc["info"]["description"], Value::Null);
        let get = &doc["paths"]["/a"]["get"];
        assert_eq!(get["summary"], "1.50");
        assert_eq!(get["x-n"], 1.1, "elsewhere numbers stay numbers");
        assert_eq!(get["deprecated"], true);
        assert_eq!(doc["x-fedgate"]["cors"]["maxAge"], 600);
    }

    #[test]
    fn json_text_and_objects_load() {
        assert!(load(&json!("{\"openapi\": \"3.1.0\"}")).is_ok());
        assert!(load(&json!({"swagger": "2.0"})).is_ok());
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            json!(42),
            json!("- a list"),
            json!("{not json"),
            json!("a: [unclosed"),
            json!("info:\n  version: {a: 1}\n"),
        ] {
            assert_eq!(load(&bad).unwrap_err().field, "document", "{bad}");
        }
    }

    #[test]
    fn a_billion_laughs_is_refused() {
        let mut yaml = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 1..10 {
            let p = i - 1;
            yaml.push_str(&format!(
                "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
            ));
        }
        let error = load(&json!(yaml)).unwrap_err();
        assert!(error.reason.contains("aliases"), "{}", error.reason);
    }

    #[test]
    fn a_wide_alias_expansion_is_refused() {
        // Few jumps over a large anchor: within the YAML reader's own repetition limit,
        // beyond the value budget.
        let big: String = (0..20_000).map(|i| format!("{i},")).collect();
        let mut yaml = format!("big: &big [{big}]\nuses:\n");
        for _ in 0..200 {
            yaml.push_str("  - *big\n");
        }
        let error = load(&json!(yaml)).unwrap_err();
        assert!(error.reason.contains("billion laughs"), "{}", error.reason);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let yaml = "[".repeat(10_000) + &"]".repeat(10_000);
        let error = load(&json!(format!("a: {yaml}"))).unwrap_err();
        assert!(error.reason.contains("nests deeper"), "{}", error.reason);
        let json_text = format!("{{\"a\": {}}}", "[".repeat(10_000) + &"]".repeat(10_000));
        let error = load(&json!(json_text)).unwrap_err();
        assert!(error.reason.contains("recursion limit"), "{}", error.reason);
        let block: String = (0..1_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert!(load(&json!(block)).is_err());
    }
}
