//! `ValidJson<T>`: a JSON body extractor whose every failure is a problem+json that names
//! the field — wrong content type (415), oversize (413), malformed JSON, a field of the
//! wrong type or name, or a string holding a NUL character (400).

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::domain::validation::{FieldError, WriteOnly};

pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(
            req,
            state,
            mime_essence::Essence::is_json,
            "the request body must be JSON (Content-Type: application/json)",
        )
        .await?;
        parse_json(&bytes).map(ValidJson)
    }
}

/// The body of a request whose media type `accepts` (else 415 with `expected`), at most
/// `body_limit_bytes` long (else 413).
pub(super) async fn read_body<S>(
    req: Request,
    state: &S,
    accepts: fn(&mime_essence::Essence) -> bool,
    expected: &str,
) -> Result<Bytes, ApiError>
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    if !media_type(&req).is_some_and(|essence| accepts(&essence)) {
        return Err(ApiError::UnsupportedMediaType(expected.into()));
    }
    read_up_to(req, AppState::from_ref(state).config.body_limit_bytes).await
}

/// The media type of a request's body, if it names one.
pub(super) fn media_type(req: &Request) -> Option<mime_essence::Essence> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime_essence::Essence>().ok())
}

/// The body of a request, at most `limit` bytes long (else 413).
pub(super) async fn read_up_to(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|error| {
            let error = error.into_inner();
            if error.is::<http_body_util::LengthLimitError>() {
                ApiError::PayloadTooLarge(limit)
            } else {
                ApiError::BadRequest(format!("could not read the request body: {error}"))
            }
        })
}

/// A write-only member of a body (`#[serde(default, deserialize_with = "write_only")]`):
/// a value sets it, `null` removes it, and an absent member keeps the stored one.
pub fn write_only<'de, D, T>(deserializer: D) -> Result<WriteOnly<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(WriteOnly::given)
}

/// Deserializes, reporting the JSON path of the first offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest(format!("the request body is not valid JSON: {inner}"));
        }
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::Validation(vec![FieldError::new(
            field,
            strip_position(&inner.to_string()),
        )])
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    let nul_fields = nul_fields(bytes);
    if !nul_fields.is_empty() {
        return Err(ApiError::Validation(nul_fields));
    }
    Ok(value)
}

/// The strings of a JSON body that hold a NUL (U+0000), by JSON path. Postgres stores no
/// NUL in text or jsonb, and nothing fedgate keeps has a use for one. Other control
/// characters are left to each field's own rule: line breaks and tabs belong in
/// descriptions and in documents given as text, and names already refuse them.
fn nul_fields(bytes: &[u8]) -> Vec<FieldError> {
    // In valid JSON a NUL can only be written `\u0000`; most bodies have none.
    if !bytes.windows(6).any(|w| w == br"\u0000") {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    collect_nul_fields(&value, &mut String::new(), &mut found);
    found
}

fn collect_nul_fields(value: &serde_json::Value, path: &mut String, found: &mut Vec<FieldError>) {
    use serde_json::Value;
    let field = |path: &str| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => found.push(FieldError::new(
            field(path),
            "must not contain a NUL character (U+0000)",
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                collect_nul_fields(item, path, found);
                path.truncate(len);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                if key.contains('\0') {
                    found.push(FieldError::new(
                        field(path),
                        "a member name must not contain a NUL character (U+0000)",
                    ));
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                collect_nul_fields(member, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// serde_json appends " at line 1 column 42": noise for a field error that names the path.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Tiny content-type parser: the essence (type/subtype) without parameters.
pub(super) mod mime_essence {
    pub struct Essence(String);

    impl std::str::FromStr for Essence {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let essence = s
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if essence.contains('/') {
                Ok(Self(essence))
            } else {
                Err(())
            }
        }
    }

    impl Essence {
        pub fn as_str(&self) -> &str {
            &self.0
        }

        pub fn is_json(&self) -> bool {
            self.0 == "application/json" || self.0.ends_with("+json")
        }

        /// RFC 7396's media type.
        pub fn is_merge_patch(&self) -> bool {
            self.0 == "application/merge-patch+json"
        }
    }
}

/// `Path<T>` whose rejection (e.g. a malformed id) is a problem+json 400.
pub struct ValidPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ValidPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ValidPath(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// `Query<T>` whose rejection (unknown or malformed parameter) is a problem+json 400.
pub struct ValidQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ValidQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ValidQuery)
            .map_err(|error| {
                let field = error.path().to_string();
                let field = if field == "." {
                    "query".to_owned()
                } else {
                    field
                };
                ApiError::field(field, error.into_inner().to_string())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        count: u32,
    }

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::Validation(errors) => errors[0].field.clone(),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn names_the_path_of_the_bad_field() {
        let err =
            parse_json::<Body>(br#"{"name":"a","items":[{"count":1},{"count":"x"}]}"#).unwrap_err();
        assert_eq!(field_of(err), "items[1].count");
        let err = parse_json::<Body>(br#"{"name":"a","items":[],"extra":1}"#).unwrap_err();
        assert_eq!(field_of(err), "extra");
    }

    #[test]
    fn nul_characters_are_named_by_path() {
        let all = |err: ApiError| -> Vec<String> {
            match err {
                ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
                other => panic!("expected field errors, got {other:?}"),
            }
        };
        let err = parse_json::<serde_json::Value>(
            br#"{"name":"a\u0000","items":[{"count":1},{"note":"\u0000"}],"ok":"\n\t"}"#,
        )
        .unwrap_err();
        assert_eq!(all(err), ["name", "items[1].note"]);
        let err = parse_json::<serde_json::Value>(br#""\u0000""#).unwrap_err();
        assert_eq!(all(err), ["body"]);
        let err = parse_json::<serde_json::Value>(br#"{"a":{"b\u0000":1}}"#).unwrap_err();
        assert_eq!(all(err), ["a"]);
        // An escaped backslash before `u0000` is no NUL; other control characters pass.
        assert!(parse_json::<serde_json::Value>(br#"{"a":"\\u0000 \u0001 \n"}"#).is_ok());
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert!(matches!(
            parse_json::<Body>(b"{\"name\":"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"name":"a","items":[]} trailing"#),
            Err(ApiError::BadRequest(_))
        ));
    }
}
