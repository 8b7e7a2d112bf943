//! The signing keys of key managers (their JWKS), cached per key manager for a TTL so
//! that verifying a developer's token does not call the IdP every time. An unknown `kid`
//! (the IdP rotated its keys) refetches, at most once per `MIN_REFRESH`.
//!
//! Tokens are anyone's to send, so what they can make fedgate fetch is bounded: one
//! fetch per key manager at a time (concurrent callers wait for it and share its
//! outcome), a failed fetch is not retried before a backoff that doubles up to
//! `MAX_BACKOFF`, and at most `MAX_CONCURRENT_FETCHES` fetches run at once overall.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::Semaphore;
use url::Url;

use super::{IdpError, call};
use crate::domain::ids::KeyManagerId;
use crate::outbound::OutboundGuard;

/// Bounds how often a token naming an unknown key can make fedgate call the IdP.
const MIN_REFRESH: Duration = Duration::from_secs(10);
/// After a failed fetch the key manager is not asked again for this long, doubled after
/// each further failure up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Fetches of all key managers together; a slow IdP holds one permit, not the process.
const MAX_CONCURRENT_FETCHES: usize = 4;

struct Fetched {
    at: Instant,
    keys: Arc<JwkSet>,
}

struct Failure {
    at: Instant,
    backoff: Duration,
    error: IdpError,
}

struct Entry {
    /// The URL fetched: a key manager whose `jwksUri` changed starts afresh.
    uri: Url,
    keys: Option<Fetched>,
    /// The last fetch's failure; cleared by a success.
    failure: Option<Failure>,
    /// Held while this key manager's JWKS is fetched: the single flight.
    flight: Arc<tokio::sync::Mutex<()>>,
}

impl Entry {
    fn new(uri: &Url) -> Self {
        Self {
            uri: uri.clone(),
            keys: None,
            failure: None,
            flight: Arc::default(),
        }
    }
}

pub struct JwksCache {
    ttl: Duration,
    entries: Mutex<HashMap<KeyManagerId, Entry>>,
    fetches: Semaphore,
}

impl JwksCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
            fetches: Semaphore::new(MAX_CONCURRENT_FETCHES),
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
        let flight = match self.without_fetching(key_manager, jwks_uri, kid) {
            Ok(answer) => return answer,
            Err(flight) => flight,
        };
        let _turn = flight.lock().await;
        // Whoever held the flight before has fetched: its outcome answers this call too.
        if let Ok(answer) = self.without_fetching(key_manager, jwks_uri, kid) {
            return answer;
        }
        let fetched = {
            let _permit = self.fetches.acquire().await.expect("never closed");
            call::<JwkSet>(guard, jwks_uri, guard.http_client().get(jwks_uri.clone())).await
        };
        self.record(key_manager, jwks_uri, fetched)
            .map(|keys| pick(&keys, kid))
    }

    /// The answer the cache gives without a fetch, or the flight to wait for to fetch.
    fn without_fetching(
        &self,
        key_manager: KeyManagerId,
        uri: &Url,
        kid: Option<&str>,
    ) -> Result<Result<Option<DecodingKey>, IdpError>, Arc<tokio::sync::Mutex<()>>> {
        let mut entries = self.entries.lock().expect("not poisoned");
        let entry = entries
            .entry(key_manager)
            .and_modify(|entry| {
                if &entry.uri != uri {
                    *entry = Entry::new(uri);
                }
            })
            .or_insert_with(|| Entry::new(uri));
        let fresh = entry
            .keys
            .as_ref()
            .filter(|fetched| fetched.at.elapsed() < self.ttl);
        if let Some(fetched) = fresh {
            let key = pick(&fetched.keys, kid);
            // A known key, or an unknown one with keys fetched moments ago.
            if key.is_some() || fetched.at.elapsed() < MIN_REFRESH {
                return Ok(Ok(key));
            }
        }
        if let Some(failure) = &entry.failure
            && failure.at.elapsed() < failure.backoff
        {
            return Ok(match fresh {
                Some(fetched) => Ok(pick(&fetched.keys, kid)),
                None => Err(failure.error.clone()),
            });
        }
        Err(entry.flight.clone())
    }

    /// Keeps a fetch's outcome: the keys, or the failure with its next backoff.
    fn record(
        &self,
        key_manager: KeyManagerId,
        uri: &Url,
        fetched: Result<JwkSet, IdpError>,
    ) -> Result<Arc<JwkSet>, IdpError> {
        let mut entries = self.entries.lock().expect("not poisoned");
        let entry = entries
            .entry(key_manager)
            .or_insert_with(|| Entry::new(uri));
        if &entry.uri != uri {
            // The key manager changed meanwhile; this outcome is for a URL no longer used.
            return fetched.map(Arc::new);
        }
        match fetched {
            Ok(keys) => {
                let keys = Arc::new(keys);
                entry.failure = None;
                entry.keys = Some(Fetched {
                    at: Instant::now(),
                    keys: keys.clone(),
                });
                Ok(keys)
            }
            Err(error) => {
                let backoff = match &entry.failure {
                    Some(previous) => (previous.backoff * 2).min(MAX_BACKOFF),
                    None => FIRST_BACKOFF,
                };
                entry.failure = Some(Failure {
                    at: Instant::now(),
                    backoff,
                    error: error.clone(),
                });
                Err(error)
            }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use axum::Router;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::get;

    use super::*;

    /// What the test IdP saw, and whether it is down.
    #[derive(Default)]
    struct Idp {
        fetches: AtomicUsize,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
        down: AtomicBool,
    }

    /// A JWKS endpoint on 127.0.0.1 that answers an empty key set (or 503 when down) after
    /// `delay`, counting fetches and how many overlap.
    async fn idp(delay: Duration) -> (Url, Arc<Idp>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/jwks", listener.local_addr().unwrap())).unwrap();
        let idp = Arc::new(Idp::default());
        let router = Router::new()
            .route(
                "/jwks",
                get(move |State(idp): State<Arc<Idp>>| async move {
                    idp.fetches.fetch_add(1, Ordering::SeqCst);
                    let now = idp.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    idp.most_in_flight.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    idp.in_flight.fetch_sub(1, Ordering::SeqCst);
                    if idp.down.load(Ordering::SeqCst) {
                        (StatusCode::SERVICE_UNAVAILABLE, "down".to_owned())
                    } else {
                        (StatusCode::OK, r#"{"keys": []}"#.to_owned())
                    }
                }),
            )
            .with_state(idp.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (url, idp)
    }

    fn guard() -> OutboundGuard {
        OutboundGuard::new(&["127.0.0.1".into()]).unwrap()
    }

    /// `n` concurrent lookups of key `kid` at key manager `km`; the errors among them.
    async fn lookups(cache: &Arc<JwksCache>, km: KeyManagerId, url: &Url, n: usize) -> usize {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (cache, url, guard) = (cache.clone(), url.clone(), guard());
                tokio::spawn(async move {
                    cache
                        .key(&guard, km, &url, Some("unknown-kid"))
                        .await
                        .is_err()
                })
            })
            .collect();
        let mut errors = 0;
        for task in tasks {
            errors += usize::from(task.await.unwrap());
        }
        errors
    }

    #[tokio::test]
    async fn concurrent_lookups_of_an_unknown_key_make_one_fetch() {
        let (url, idp) = idp(Duration::from_millis(200)).await;
        let cache = Arc::new(JwksCache::new(Duration::from_secs(300)));
        let km = KeyManagerId::new();
        assert_eq!(lookups(&cache, km, &url, 30).await, 0);
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);
        // Right after a fetch an unknown key is just unknown.
        assert_eq!(lookups(&cache, km, &url, 30).await, 0);
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_down_jwks_is_not_asked_again_before_its_backoff() {
        let (url, idp) = idp(Duration::from_millis(50)).await;
        idp.down.store(true, Ordering::SeqCst);
        let cache = Arc::new(JwksCache::new(Duration::from_secs(300)));
        let km = KeyManagerId::new();
        assert_eq!(lookups(&cache, km, &url, 30).await, 30);
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 1, "one fetch for all");
        assert_eq!(lookups(&cache, km, &url, 30).await, 30);
        assert_eq!(
            idp.fetches.load(Ordering::SeqCst),
            1,
            "none within the backoff"
        );

        // After the first backoff (1 s) one more fetch; it fails, and the next waits 2 s.
        tokio::time::sleep(FIRST_BACKOFF + Duration::from_millis(100)).await;
        assert_eq!(lookups(&cache, km, &url, 30).await, 30);
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
        tokio::time::sleep(FIRST_BACKOFF + Duration::from_millis(100)).await;
        assert_eq!(lookups(&cache, km, &url, 30).await, 30);
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 2, "the backoff doubled");

        // Back up: the next fetch after the backoff succeeds and clears it.
        idp.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(FIRST_BACKOFF).await;
        assert_eq!(lookups(&cache, km, &url, 30).await, 0);
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn fetches_of_all_key_managers_together_are_bounded() {
        let (url, idp) = idp(Duration::from_millis(300)).await;
        let cache = Arc::new(JwksCache::new(Duration::from_secs(300)));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (cache, url) = (cache.clone(), url.clone());
                tokio::spawn(async move { lookups(&cache, KeyManagerId::new(), &url, 1).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 0);
        }
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 12);
        assert!(idp.most_in_flight.load(Ordering::SeqCst) <= MAX_CONCURRENT_FETCHES);
    }
}
