//! API Gateway path templates (`/pets/{petId}`, `/files/{proxy+}`) and the rule that
//! sibling resources agree on parameter names.

use std::collections::{HashMap, HashSet};

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

/// How many resources API Gateway holds for these paths, as its per-API quota counts them:
/// a resource per path segment, so each path with all its parents (`/a/b/{id}` is `/a`,
/// `/a/b` and `/a/b/{id}`), shared between paths, plus the root `/` every REST API has.
/// Methods are not resources: `GET` and `PUT /a` are one.
pub fn aws_resource_count<'a>(paths: impl IntoIterator<Item = &'a PathTemplate>) -> usize {
    let mut resources: HashSet<&str> = HashSet::from(["/"]);
    for path in paths {
        let path = path.as_str();
        // Each `/` after the first ends a parent; the path itself is the last resource.
        let parents = path.match_indices('/').skip(1).map(|(end, _)| &path[..end]);
        resources.extend(parents.chain(std::iter::once(path)));
    }
    resources.len()
}

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

    fn count(paths: &[&str]) -> usize {
        let paths: Vec<PathTemplate> = paths
            .iter()
            .map(|p| PathTemplate::parse(p).unwrap())
            .collect();
        aws_resource_count(&paths)
    }

    #[test]
    fn resources_are_counted_as_aws_counts_them() {
        assert_eq!(count(&[]), 1, "the root alone");
        assert_eq!(count(&["/"]), 1);
        assert_eq!(count(&["/pets"]), 2);
        assert_eq!(count(&["/pets", "/pets"]), 2, "two methods, one resource");
        assert_eq!(count(&["/a/b/{id}"]), 4, "/, /a, /a/b, /a/b/{{id}}");
        assert_eq!(count(&["/a/b/{id}", "/a/c", "/a"]), 5);
        assert_eq!(count(&["/files/{proxy+}", "/files"]), 3);
    }

    /// The resource tree built node by node, as API Gateway's import does.
    fn tree_nodes(paths: &[PathTemplate]) -> usize {
        #[derive(Default)]
        struct Node(std::collections::BTreeMap<String, Node>);
        fn size(node: &Node) -> usize {
            1 + node.0.values().map(size).sum::<usize>()
        }
        let mut root = Node::default();
        for path in paths {
            let mut node = &mut root;
            for segment in path.as_str().split('/').filter(|s| !s.is_empty()) {
                node = node.0.entry(segment.to_owned()).or_default();
            }
        }
        size(&root)
    }

    proptest::proptest! {
        #[test]
        fn the_count_is_the_size_of_the_resource_tree(
            picks in proptest::collection::vec(
                proptest::collection::vec(0..4usize, 0..5), 0..30),
        ) {
            let segments = ["a", "b", "{id}", "v1.0"];
            // A parameter twice in one path does not parse; those picks are dropped.
            let paths: Vec<PathTemplate> = picks
                .iter()
                .filter_map(|pick| {
                    let path: String = pick.iter().map(|&i| format!("/{}", segments[i])).collect();
                    PathTemplate::parse(if path.is_empty() { "/" } else { &path }).ok()
                })
                .collect();
            let counted = aws_resource_count(&paths);
            proptest::prop_assert_eq!(counted, tree_nodes(&paths));
            let mut reversed = paths.clone();
            reversed.reverse();
            proptest::prop_assert_eq!(aws_resource_count(&reversed), counted);
            let segments_in_all: usize = paths.iter().map(|p| p.segments().count()).sum();
            proptest::prop_assert!(counted <= 1 + segments_in_all);
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
