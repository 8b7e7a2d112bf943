//! Turns the `document` of an import — a JSON object, or JSON or YAML text — into JSON.

use serde_json::{Map, Value};

use crate::domain::validation::FieldError;

pub fn load(document: &Value) -> Result<Map<String, Value>, FieldError> {
    let parsed = match document {
        Value::Object(object) => return Ok(object.clone()),
        Value::String(text) if text.trim_start().starts_with('{') => serde_json::from_str(text)
            .map_err(|e| FieldError::new("document", format!("is not valid JSON: {e}")))?,
        Value::String(text) => {
            let yaml: serde_norway::Value = serde_norway::from_str(text)
                .map_err(|e| FieldError::new("document", format!("is not valid YAML: {e}")))?;
            yaml_to_json(yaml).map_err(|reason| FieldError::new("document", reason))?
        }
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

/// YAML allows keys JSON does not (`200:` is a number); OpenAPI means them as text.
fn yaml_to_json(value: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Yaml;
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return Err(format!("has a mapping key that is not text: {other:?}")),
                };
                object.insert(key, yaml_to_json(value)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
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
        ] {
            assert_eq!(load(&bad).unwrap_err().field, "document", "{bad}");
        }
    }
}
