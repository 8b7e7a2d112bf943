//! API Gateway path templates (`/pets/{petId}`, `/files/{proxy+}`) and the rule that
//! sibling resources agree on parameter names.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::validation::parsed_string;

/// A path template API Gateway accepts: `/`, or `/`-separated segments that are each a
/// literal, a `{name}` parameter, or (last only) a greedy `{name+}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "/pets/{petId}")]
pub struct PathTemplate(String);

/// One segment of a path template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Literal(&'a str),
    Param(&'a str),
    /// `{name+}`: matches the rest of the path.
    Greedy(&'a str),
}

impl PathTemplate {
    pub fn parse(s: &str) -> Result<Self, String> {
        if !s.starts_with('/') {
            return Err("must start with `/`".into());
        }
        if s.contains('*') {
            return Err("`*` is not allowed; use a greedy parameter such as `{proxy+}`".into());
        }
        if s == "/" {
            return Ok(Self(s.to_owned()));
        }
        if s.ends_with('/') {
            return Err("must not end with `/`".into());
        }
        let raw: Vec<&str> = s[1..].split('/').collect();
        let mut names: Vec<&str> = Vec::new();
        for (i, raw_segment) in raw.iter().enumerate() {
            let segment = parse_segment(raw_segment)?;
            let name = match segment {
                Segment::Literal(_) => continue,
                Segment::Param(name) => name,
                Segment::Greedy(name) if i == raw.len() - 1 => name,
                Segment::Greedy(_) => {
                    return Err(format!(
                        "the greedy parameter `{raw_segment}` must be the last segment"
                    ));
                }
            };
            if names.contains(&name) {
                return Err(format!("the parameter `{name}` appears twice"));
            }
            names.push(name);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        self.0[1..]
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| parse_segment(s).expect("validated on parse"))
    }

    /// The names of the path parameters, in order (`proxy` for `{proxy+}`).
    pub fn params(&self) -> Vec<&str> {
        self.segments()
            .filter_map(|s| match s {
                Segment::Literal(_) => None,
                Segment::Param(name) | Segment::Greedy(name) => Some(name),
            })
            .collect()
    }
}

fn parse_segment(segment: &str) -> Result<Segment<'_>, String> {
    if segment.is_empty() {
        return Err("must not contain empty segments (`//`)".into());
    }
    if let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !valid {
            return Err(format!(
                "`{segment}`: a parameter name is letters, digits, `_` and `-`"
            ));
        }
        return Ok(if greedy {
            Segment::Greedy(name)
        } else {
            Segment::Param(name)
        });
    }
    if segment.contains(['{', '}']) {
        return Err(format!(
            "`{segment}`: a parameter must be a whole segment, like `{{id}}`"
        ));
    }
    if segment == "." || segment == ".." {
        return Err("must not contain `.` or `..` segments".into());
    }
    if !segment
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-'))
    {
        return Err(format!(
            "`{segment}`: a literal segment is letters, digits, `.`, `_`, `~` and `-`"
        ));
    }
    Ok(Segment::Literal(segment))
}

parsed_string!(PathTemplate);

/// A clash of two path parameters at the same place of the resource tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamClash {
    /// Index of the path that clashes with an earlier one.
    pub index: usize,
    pub earlier: usize,
    pub name: String,
    pub earlier_name: String,
}

/// API Gateway builds one resource tree, where a node has at most one parameter child:
/// `/pets/{id}` and `/pets/{petId}/toys` cannot both exist. Reports each path whose
/// parameter differs from an earlier path's under the same parent.
pub fn param_clashes(paths: &[(usize, &PathTemplate)]) -> Vec<ParamClash> {
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    let mut clashes = Vec::new();
    for &(index, path) in paths {
        let mut parent = String::new();
        for segment in path.segments() {
            let (text, is_param) = match segment {
                Segment::Literal(s) => (s.to_owned(), false),
                Segment::Param(name) => (format!("{{{name}}}"), true),
                Segment::Greedy(name) => (format!("{{{name}+}}"), true),
            };
            if is_param {
                match seen.get(&parent) {
                    Some((earlier, earlier_name)) if *earlier_name != text => {
                        clashes.push(ParamClash {
                            index,
                            earlier: *earlier,
                            name: text,
                            earlier_name: earlier_name.clone(),
                        });
                        break;
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(parent.clone(), (index, text.clone()));
                    }
                }
            }
            parent.push('/');
            parent.push_str(&text);
        }
    }
    clashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_api_gateway_templates() {
        for ok in [
            "/",
            "/pets",
            "/pets/{petId}",
            "/pets/{petId}/toys/{toy_id}",
            "/v1.0/a-b_c~d",
            "/files/{proxy+}",
            "/{proxy+}",
        ] {
            assert!(PathTemplate::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_api_gateway_refuses() {
        for bad in [
            "",
            "pets",
            "/pets/",
            "/pets//toys",
            "/pets/*",
            "/{proxy+}/more",
            "/pets/{}",
            "/pets/{id}.json",
            "/pets/{pet id}",
            "/a/{id}/b/{id}",
            "/a/../b",
            "/a b",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn params_in_order() {
        let path = PathTemplate::parse("/a/{x}/b/{rest+}").unwrap();
        assert_eq!(path.params(), ["x", "rest"]);
    }

    #[test]
    fn sibling_parameters_must_agree() {
        let paths: Vec<PathTemplate> = [
            "/pets/{id}",
            "/pets/{id}/toys",
            "/pets/{petId}/owner",
            "/users/{petId}",
        ]
        .iter()
        .map(|p| PathTemplate::parse(p).unwrap())
        .collect();
        let indexed: Vec<(usize, &PathTemplate)> = paths.iter().enumerate().collect();
        let clashes = param_clashes(&indexed);
        assert_eq!(
            clashes,
            [ParamClash {
                index: 2,
                earlier: 0,
                name: "{petId}".into(),
                earlier_name: "{id}".into()
            }]
        );
        let greedy: Vec<PathTemplate> = ["/f/{id}", "/f/{proxy+}"]
            .iter()
            .map(|p| PathTemplate::parse(p).unwrap())
            .collect();
        let indexed: Vec<(usize, &PathTemplate)> = greedy.iter().enumerate().collect();
        assert_eq!(param_clashes(&indexed).len(), 1);
    }
}
