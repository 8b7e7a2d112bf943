//! JSON Merge Patch (RFC 7396): how a PATCH changes a resource's JSON shape. Members of
//! a patch object replace the target's, `null` removes one, and objects merge
//! recursively; anything else (an array, a string…) replaces the target whole.

use serde_json::{Map, Value};

/// The RFC's `MergePatch(Target, Patch)`.
pub fn apply(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target = target.as_object_mut().expect("made an object above");
    for (name, value) in members {
        if value.is_null() {
            target.remove(name);
        } else {
            apply(target.entry(name.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Puts back into a merged `document` the `null` that `patch` sets at `path` (names of
/// nested objects). For a member the target cannot show — a write-only secret, absent
/// from every response — merging loses the difference between "remove it" (`null`) and
/// "keep it" (omitted); restored, the `null` reaches the validation that tells them apart.
pub fn restore_null(document: &mut Value, patch: &Value, path: &[&str]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if !removes(patch, path) {
        return;
    }
    let mut at = document;
    for name in parents {
        match at.get_mut(name) {
            Some(member) => at = member,
            None => return,
        }
    }
    if let Value::Object(members) = at {
        members.insert((*last).to_owned(), Value::Null);
    }
}

/// Whether `patch` sets the member at `path` (names of nested objects) to `null`.
fn removes(patch: &Value, path: &[&str]) -> bool {
    let mut at = patch;
    for name in path {
        match at.get(name) {
            Some(member) => at = member,
            None => return false,
        }
    }
    at.is_null() && !path.is_empty()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn merged(target: Value, patch: Value) -> Value {
        let mut target = target;
        apply(&mut target, &patch);
        target
    }

    /// RFC 7396, Appendix A: every example, in order.
    #[test]
    fn the_examples_of_the_rfc() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, expected) in cases {
            let result = merged(target.clone(), patch.clone());
            assert_eq!(result, expected, "MergePatch({target}, {patch})");
        }
    }

    #[test]
    fn untouched_members_keep_their_order() {
        let result = merged(
            json!({"name": "a", "config": {"region": "r", "stage": "s"}, "z": 1}),
            json!({"config": {"stage": "t"}}),
        );
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            r#"{"name":"a","config":{"region":"r","stage":"t"},"z":1}"#
        );
    }

    #[test]
    fn removes_names_only_an_explicit_null_at_the_path() {
        let patch = json!({"config": {"credentials": {"secretAccessKey": null, "other": 1}}});
        assert!(removes(
            &patch,
            &["config", "credentials", "secretAccessKey"]
        ));
        assert!(!removes(&patch, &["config", "credentials", "other"]));
        assert!(!removes(&patch, &["config", "credentials", "sessionToken"]));
        assert!(!removes(
            &json!({"config": null}),
            &["config", "credentials"]
        ));
        assert!(!removes(&json!(null), &[]));
    }

    #[test]
    fn restore_null_puts_back_what_the_merge_removed() {
        let path = ["config", "credentials", "secretAccessKey"];
        let patch = json!({"config": {"credentials": {"secretAccessKey": null}}});
        let mut document = merged(
            json!({"config": {"credentials": {"type": "t"}}}),
            patch.clone(),
        );
        restore_null(&mut document, &patch, &path);
        assert_eq!(
            document,
            json!({"config": {"credentials": {"type": "t", "secretAccessKey": null}}})
        );
        // Nothing to put back: no null at the path, or no object to put it in.
        let mut untouched = json!({"config": {"credentials": {"type": "t"}}});
        restore_null(&mut untouched, &json!({"config": {}}), &path);
        assert_eq!(untouched, json!({"config": {"credentials": {"type": "t"}}}));
        let mut gone = json!({"config": {}});
        restore_null(&mut gone, &patch, &path);
        assert_eq!(gone, json!({"config": {}}));
    }
}
