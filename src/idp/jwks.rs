//! The signing keys of key managers (their JWKS), cached per key manager for a TTL so
//! that verifying a developer's token does not call the IdP every time. An unknown `kid`
//! (the IdP rotated its keys) refetches, at most once per `MIN_REFRESH`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use url::Url;

use super::{IdpError, call};
use crate::domain::ids::KeyManagerId;
use crate::outbound::OutboundGuard;

/// Bounds how often a token naming an unknown key can make fedgate call the IdP.
const MIN_REFRESH: Duration = Duration::from_secs(10);

struct Cached {
    fetched: Instant,
    /// The URL fetched: a key manager whose `jwksUri` changed is fetched again.
    uri: Url,
    keys: Arc<JwkSet>,
}

pub struct JwksCache {
    ttl: Duration,
    entries: Mutex<HashMap<KeyManagerId, Cached>>,
}

impl JwksCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The key that signed a token: the one named `kid`, or the only key when the token
    /// names none.
    pub async fn key(
        &self,
        guard: &OutboundGuard,
        key_manager: KeyManagerId,
        jwks_uri: &Url,
        kid: Option<&str>,
    ) -> Result<Option<DecodingKey>, IdpError> {
        let (cached, age) = self.cached(key_manager, jwks_uri);
        if let Some(keys) = &cached
            && age < self.ttl
            && let Some(key) = pick(keys, kid)
        {
            return Ok(Some(key));
        }
        if cached.is_some() && age < MIN_REFRESH {
            return Ok(cached.and_then(|keys| pick(&keys, kid)));
        }
        let keys: JwkSet = call(guard, jwks_uri, guard.http_client().get(jwks_uri.clone())).await?;
        let keys = Arc::new(keys);
        self.entries.lock().expect("not poisoned").insert(
            key_manager,
            Cached {
                fetched: Instant::now(),
                uri: jwks_uri.clone(),
                keys: keys.clone(),
            },
        );
        Ok(pick(&keys, kid))
    }

    fn cached(&self, key_manager: KeyManagerId, uri: &Url) -> (Option<Arc<JwkSet>>, Duration) {
        let entries = self.entries.lock().expect("not poisoned");
        match entries.get(&key_manager) {
            Some(entry) if &entry.uri == uri => (Some(entry.keys.clone()), entry.fetched.elapsed()),
            _ => (None, Duration::MAX),
        }
    }
}

fn pick(keys: &JwkSet, kid: Option<&str>) -> Option<DecodingKey> {
    let jwk = match kid {
        Some(kid) => keys.find(kid)?,
        None if keys.keys.len() == 1 => &keys.keys[0],
        None => return None,
    };
    DecodingKey::from_jwk(jwk).ok()
}
