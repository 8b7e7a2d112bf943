//! Cursor pagination: `?limit=&cursor=` → `{items, next}`. The cursor is opaque to
//! clients: the last id of the page, base64url-encoded.

use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        self.limit_within(DEFAULT_LIMIT, MAX_LIMIT)
    }

    /// `limit` for a list with its own bounds (one whose pages cost upstream calls).
    pub fn limit_within(&self, default: i64, max: i64) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::field(
                "limit",
                format!("must be between 1 and {max}"),
            )),
        }
    }

    /// The decoded cursor, parsed as the key type of the list.
    pub fn after<K: std::str::FromStr>(&self) -> Result<Option<K>, ApiError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| ApiError::field("cursor", "is not a cursor this server issued"))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only tells that
    /// another page exists.
    pub fn from_rows<R, K: ToString>(
        mut rows: Vec<R>,
        limit: i64,
        key: impl Fn(&R) -> K,
        map: impl Fn(R) -> T,
    ) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = has_more
            .then(|| cursor(&key(rows.last().expect("a full page has a last row")).to_string()));
        Page {
            items: rows.into_iter().map(map).collect(),
            next,
        }
    }
}

/// The cursor of a page that starts after `key` (a last id, or an upstream's own position,
/// which clients never see as it is).
pub fn cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}
