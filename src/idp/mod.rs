//! Calls to key managers (third-party OAuth2 / OIDC IdPs): discovery of their endpoints,
//! and on a developer's behalf the client-credentials grant, dynamic client registration,
//! and JWKS for verifying their tokens. Every call passes the outbound guard, and no
//! answer is read beyond `MAX_ANSWER_BYTES`.

pub mod discovery;
pub mod jwks;
pub mod registration;
pub mod token;

use serde::Deserialize;
use url::Url;

use crate::outbound::{OutboundError, OutboundGuard};

/// The most of an IdP's answer fedgate reads. Discovery documents, key sets and token
/// answers are a few KiB; a bigger answer is refused rather than held in memory.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Why a call to a key manager failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IdpError {
    #[error("{0}")]
    Refused(#[from] OutboundError),
    #[error("the key manager could not be reached: {0}")]
    Unreachable(String),
    /// The IdP answered with an error (RFC 6749 §5.2 / RFC 7591 §3.2.2 when it says so).
    #[error("the key manager answered HTTP {status}{}", describe(.error, .description))]
    Rejected {
        status: u16,
        error: Option<String>,
        description: Option<String>,
    },
    #[error("the key manager's answer is not what OAuth2 prescribes: {0}")]
    Malformed(String),
    #[error(
        "the key manager's answer is larger than {} KiB, the most fedgate reads",
        MAX_ANSWER_BYTES / 1024
    )]
    TooLarge,
}

fn describe(error: &Option<String>, description: &Option<String>) -> String {
    match (error, description) {
        (Some(e), Some(d)) => format!(": {e} ({d})"),
        (Some(e), None) => format!(": {e}"),
        (None, Some(d)) => format!(": {d}"),
        (None, None) => String::new(),
    }
}

/// The OAuth2 error body; IdPs that answer problem+json (`title`/`detail`) are read too.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    message: Option<String>,
    detail: Option<String>,
}

/// Sends `request` to `url` after the guard accepts it; a non-2xx answer is `Rejected`
/// with what the IdP said, a 2xx one is parsed as `T`.
async fn call<T: serde::de::DeserializeOwned>(
    guard: &OutboundGuard,
    url: &Url,
    request: reqwest::RequestBuilder,
) -> Result<T, IdpError> {
    guard.check_url(url).await?;
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| IdpError::Unreachable(e.to_string()))?;
    let status = response.status();
    let bytes = read_capped(response).await;
    if !status.is_success() {
        // The status is the news; an error body too large to read adds nothing to it.
        let bytes = match bytes {
            Err(IdpError::TooLarge) => Vec::new(),
            other => other?,
        };
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let fallback = (!text.trim().is_empty()).then(|| text.chars().take(300).collect());
        return Err(IdpError::Rejected {
            status: status.as_u16(),
            error: body.error,
            description: body
                .error_description
                .or(body.message)
                .or(body.detail)
                .or(fallback),
        });
    }
    serde_json::from_slice(&bytes?).map_err(|e| IdpError::Malformed(e.to_string()))
}

/// The answer's body, read chunk by chunk up to `MAX_ANSWER_BYTES`: memory stays bounded
/// whether the answer announces its length or not.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, IdpError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
    {
        return Err(IdpError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| IdpError::Unreachable(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(IdpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// How the test server sends its body.
    #[derive(Clone, Copy)]
    enum Body {
        /// `Content-Length: n`, then n bytes.
        Sized(usize),
        /// Chunked, without a length, 64 KiB chunks until `limit` bytes or the client
        /// hangs up.
        Unsized { limit: usize },
    }

    /// An HTTP server on 127.0.0.1 answering every request with `body` (status `status`);
    /// returns its URL and the count of body bytes it wrote.
    async fn server(status: u16, body: Body) -> (Url, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let written = Arc::new(AtomicUsize::new(0));
        let count = written.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let chunk = vec![b' '; 64 * 1024];
                    match body {
                        Body::Sized(n) => {
                            let head = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {n}\r\n\r\n"
                            );
                            socket.write_all(head.as_bytes()).await?;
                            let mut left = n;
                            while left > 0 {
                                let part = left.min(chunk.len());
                                socket.write_all(&chunk[..part]).await?;
                                count.fetch_add(part, Ordering::SeqCst);
                                left -= part;
                            }
                        }
                        Body::Unsized { limit } => {
                            let head = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                            );
                            socket.write_all(head.as_bytes()).await?;
                            while count.load(Ordering::SeqCst) < limit {
                                socket
                                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                                    .await?;
                                socket.write_all(&chunk).await?;
                                socket.write_all(b"\r\n").await?;
                                count.fetch_add(chunk.len(), Ordering::SeqCst);
                            }
                            socket.write_all(b"0\r\n\r\n").await?;
                        }
                    }
                    std::io::Result::Ok(())
                });
            }
        });
        (url, written)
    }

    async fn get(url: &Url) -> Result<serde_json::Value, IdpError> {
        let guard = OutboundGuard::new(&["127.0.0.1".into()]).unwrap();
        call(&guard, url, guard.http_client().get(url.clone())).await
    }

    #[tokio::test]
    async fn an_answer_announcing_more_than_the_cap_is_not_read() {
        let (url, _) = server(200, Body::Sized(MAX_ANSWER_BYTES + 1)).await;
        let error = get(&url).await.unwrap_err();
        assert!(matches!(error, IdpError::TooLarge), "{error}");
        assert!(error.to_string().contains("1024 KiB"), "{error}");
    }

    #[tokio::test]
    async fn an_answer_without_a_length_is_read_no_further_than_the_cap() {
        let limit = 64 * MAX_ANSWER_BYTES;
        let (url, written) = server(200, Body::Unsized { limit }).await;
        let error = get(&url).await.unwrap_err();
        assert!(matches!(error, IdpError::TooLarge), "{error}");
        // What the client did not read stays in the socket buffers, then the client hangs up.
        assert!(
            written.load(Ordering::SeqCst) < limit / 2,
            "the server wrote {} bytes",
            written.load(Ordering::SeqCst)
        );
    }

    #[tokio::test]
    async fn a_refusal_too_large_to_read_still_says_its_status() {
        let (url, _) = server(
            503,
            Body::Unsized {
                limit: 4 * MAX_ANSWER_BYTES,
            },
        )
        .await;
        let error = get(&url).await.unwrap_err();
        assert!(
            matches!(error, IdpError::Rejected { status: 503, .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_answer_within_the_cap_is_read() {
        let (url, _) = server(200, Body::Sized(MAX_ANSWER_BYTES)).await;
        // A megabyte of spaces is not JSON: read in full, then refused as malformed.
        let error = get(&url).await.unwrap_err();
        assert!(matches!(error, IdpError::Malformed(_)), "{error}");
    }
}
