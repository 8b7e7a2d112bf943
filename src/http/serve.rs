//! The accept loop (what `axum::serve` does, plus limits it lacks): a client gets
//! `header_read_timeout` to send each request's line and headers, at most
//! `max_connections` connections are served at once, and on shutdown open connections get
//! the grace period to finish their requests. Handlers see the peer's address as
//! `ConnectInfo<SocketAddr>`.

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// How long open connections get to finish their requests after shutdown begins.
    pub grace: Duration,
}

/// Serves `router` until `shutdown` resolves, then stops accepting and waits (at most the
/// grace period) for open connections to finish. Returns whether they all did.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> bool {
    let mut make_service: IntoMakeServiceWithConnectInfo<Router, SocketAddr> =
        router.into_make_service_with_connect_info();
    // HTTP/1 only: hyper's HTTP/2 has no header-read deadline, and the protocol sniffing
    // of an HTTP/1-or-2 connection waits for the client's first bytes without one.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        // Also bounds how long a kept-alive connection may sit idle between requests.
        .header_read_timeout(limits.header_read_timeout);
    // With every slot taken the loop stops accepting (backpressure): new connections wait
    // in the kernel's listen queue and are served as soon as one closes, rather than
    // being accepted only to be dropped, which would turn a burst into errors.
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(service) = make_service.call(peer).await;
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, error = %error, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::time::timeout(limits.grace, graceful.shutdown())
        .await
        .is_ok()
}

/// A client that gave up before its connection was accepted is no reason to wait; running
/// out of file descriptors is, or the loop would spin.
async fn pause_after_accept_error(error: &std::io::Error) {
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %error, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    const LIMITS: Limits = Limits {
        header_read_timeout: Duration::from_secs(5),
        max_connections: 4,
        grace: Duration::from_secs(5),
    };

    async fn request(addr: SocketAddr, path: &str) -> (SocketAddr, String) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        (local, response)
    }

    #[tokio::test]
    async fn handlers_see_the_peer_address() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        tokio::spawn(serve(listener, router, LIMITS, std::future::pending()));
        let (local, response) = request(addr, "/peer").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with(&local.to_string()), "{response}");
    }

    #[tokio::test]
    async fn shutdown_lets_a_request_in_flight_finish_and_accepts_no_more() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let started_tx = Arc::new(std::sync::Mutex::new(Some(started_tx)));
        let router = Router::new().route(
            "/slow",
            get(move || {
                if let Some(tx) = started_tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }
            }),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router, LIMITS, async {
            let _ = stop_rx.await;
        }));
        let in_flight = tokio::spawn(request(addr, "/slow"));
        started_rx.await.unwrap();
        stop_tx.send(()).unwrap();
        let (_, response) = in_flight.await.unwrap();
        assert!(response.ends_with("done"), "{response}");
        assert!(
            server.await.unwrap(),
            "connections finished within the grace"
        );
        assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
    }
}
