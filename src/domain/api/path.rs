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

/// Where the backend serves a resource when that differs from the resource's own path:
/// a path template that may end with `/` (`/items/`, as Django-style APIs write it) and
/// whose parameters may be named otherwise than the resource's, matched by position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "/items/{item_id}/")]
pub struct BackendPath(String);

impl BackendPath {
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::template_of(s)?;
        Ok(Self(s.to_owned()))
    }

    /// The path without its trailing `/`, as a template.
    fn template_of(s: &str) -> Result<PathTemplate, String> {
        if s.ends_with("//") {
            return Err("must not contain empty segments (`//`)".into());
        }
        let core = match s.strip_suffix('/') {
            Some(core) if !core.is_empty() => core,
            _ => s,
        };
        PathTemplate::parse(core)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> Vec<Segment<'_>> {
        let core = self.0.strip_suffix('/').unwrap_or(&self.0);
        core.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| parse_segment(s).expect("validated on parse"))
            .collect()
    }

    pub fn has_trailing_slash(&self) -> bool {
        self.0.len() > 1 && self.0.ends_with('/')
    }

    /// Checks that this path can serve `resource`: the same parameters in the same
    /// order, greedy where the resource's is greedy; only their names may differ.
    pub fn check_serves(&self, resource: &PathTemplate) -> Result<(), String> {
        let kinds = |segments: Vec<Segment<'_>>| -> Vec<bool> {
            segments
                .into_iter()
                .filter_map(|s| match s {
                    Segment::Literal(_) => None,
                    Segment::Param(_) => Some(false),
                    Segment::Greedy(_) => Some(true),
                })
                .collect()
        };
        if kinds(self.segments()) != kinds(resource.segments().collect()) {
            return Err(format!(
                "`{}` must have the parameters of the resource path `{}`, in the same order \
                 (only their names may differ)",
                self.0,
                resource.as_str()
            ));
        }
        Ok(())
    }

    /// (resource parameter, backend parameter) pairs, by position.
    pub fn param_map<'a>(&'a self, resource: &'a PathTemplate) -> Vec<(&'a str, &'a str)> {
        let backend = self.segments().into_iter().filter_map(|s| match s {
            Segment::Literal(_) => None,
            Segment::Param(name) | Segment::Greedy(name) => Some(name),
        });
        resource.params().into_iter().zip(backend).collect()
    }
}

parsed_string!(BackendPath);

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

/// A path parameter renamed so that its position of the resource tree has one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub from: String,
    pub to: String,
    /// Index of the path that gave the position its name.
    pub first: usize,
}

/// Gives each position of the resource tree the parameter name the first path there
/// uses, as API Gateway requires (see `param_clashes`): each path rewritten, with its
/// renames. Paths are taken as written: what is no whole parameter segment stays as it
/// is, and a greedy parameter is only renamed after a greedy one.
pub fn unify_param_names(paths: &[&str]) -> Vec<(String, Vec<Rename>)> {
    let mut first: HashMap<String, (usize, String)> = HashMap::new();
    let mut unified = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        if !path.starts_with('/') {
            unified.push(((*path).to_owned(), Vec::new()));
            continue;
        }
        let mut out = String::new();
        let mut renames = Vec::new();
        for segment in path[1..].split('/') {
            let mut text = segment.to_owned();
            if let Some((name, greedy)) = param_segment(segment) {
                match first.get(&out) {
                    Some((earlier, taken)) if *taken != text => {
                        if let Some((to, _)) =
                            param_segment(taken).filter(|(_, taken_greedy)| *taken_greedy == greedy)
                        {
                            renames.push(Rename {
                                from: name.to_owned(),
                                to: to.to_owned(),
                                first: *earlier,
                            });
                            text = taken.clone();
                        }
                    }
                    Some(_) => {}
                    None => {
                        first.insert(out.clone(), (index, text.clone()));
                    }
                }
            }
            out.push('/');
            out.push_str(&text);
        }
        unified.push((out, renames));
    }
    unified
}

/// `{name}` → (`name`, false), `{name+}` → (`name`, true); anything else is no parameter.
fn param_segment(segment: &str) -> Option<(&str, bool)> {
    let inner = segment.strip_prefix('{')?.strip_suffix('}')?;
    if inner.is_empty() || inner.contains(['{', '}']) {
        return None;
    }
    Some(match inner.strip_suffix('+') {
        Some(name) => (name, true),
        None => (inner, false),
    })
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
    fn parameter_names_are_unified_by_position() {
        let unified = unify_param_names(&[
            "/a/{x}",
            "/a/{y}/b",
            "/a/{z}/b/{w}",
            "/c/{id}.json",
            "/f/{p+}",
            "/f/{q+}",
            "/g/{id}",
            "/g/{rest+}",
            "/",
        ]);
        let paths: Vec<&str> = unified.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/a/{x}",
                "/a/{x}/b",
                "/a/{x}/b/{w}",
                "/c/{id}.json",
                "/f/{p+}",
                "/f/{p+}",
                "/g/{id}",
                "/g/{rest+}",
                "/"
            ]
        );
        assert_eq!(
            unified[1].1,
            [Rename {
                from: "y".into(),
                to: "x".into(),
                first: 0
            }]
        );
        assert_eq!(unified[5].1[0].first, 4);
        assert!(
            unified[7].1.is_empty(),
            "a greedy one is no rename of a plain one"
        );
    }

    #[test]
    fn backend_paths() {
        let resource = PathTemplate::parse("/a/{x}/b/{rest+}").unwrap();
        let backend = BackendPath::parse("/a/{y}/b/{tail+}/").unwrap();
        assert!(backend.has_trailing_slash());
        assert!(backend.check_serves(&resource).is_ok());
        assert_eq!(backend.param_map(&resource), [("x", "y"), ("rest", "tail")]);
        assert!(!BackendPath::parse("/").unwrap().has_trailing_slash());
        for bad in ["items/", "/a//", "/a/{id}.json/", "//"] {
            assert!(BackendPath::parse(bad).is_err(), "{bad}");
        }
        let plain = PathTemplate::parse("/a/{x}/b/{rest}").unwrap();
        assert!(backend.check_serves(&plain).is_err());
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
