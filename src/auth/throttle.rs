//! Throttling of failed logins: per source address, and per client id from one source
//! address — never per client id alone, or anyone could lock `admin` out from elsewhere.
//! A key that failed `limit` times within a window waits until the window ends.
//!
//! The state is in memory, per replica, and bounded: at most `MAX_KEYS` keys are tracked.
//! When full, windows that ended are dropped, then keys that block nothing; only if that
//! frees too little is everything forgotten (an attacker who holds that many addresses is
//! not slowed by a per-address throttle anyway). Each purge frees a tenth or more, so its
//! cost is spread over many failures.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ipnet::IpNet;

/// Keys tracked at most: about 100 bytes each, so a few MiB whatever the traffic.
const MAX_KEYS: usize = 50_000;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub window: Duration,
    pub per_source: u32,
    pub per_client_source: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Source(IpAddr),
    ClientAtSource(String, IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

pub struct FailureThrottle {
    limits: Limits,
    max_keys: usize,
    windows: Mutex<HashMap<Key, Window>>,
}

impl FailureThrottle {
    pub fn new(limits: Limits) -> Self {
        Self::with_capacity(limits, MAX_KEYS)
    }

    fn with_capacity(limits: Limits, max_keys: usize) -> Self {
        Self {
            limits,
            max_keys,
            windows: Mutex::default(),
        }
    }

    /// How long `client` at `source` must wait before trying again; none when it may try.
    pub fn wait(&self, client: &str, source: IpAddr) -> Option<Duration> {
        self.wait_at(client, source, Instant::now())
    }

    /// Counts a failed attempt of `client` from `source`.
    pub fn failed(&self, client: &str, source: IpAddr) {
        self.failed_at(client, source, Instant::now());
    }

    /// Forgets the failures of `client` from `source` (not those of the source itself).
    pub fn succeeded(&self, client: &str, source: IpAddr) {
        let key = Key::ClientAtSource(client.to_owned(), source_of(source));
        self.windows.lock().expect("not poisoned").remove(&key);
    }

    fn keys(&self, client: &str, source: IpAddr) -> [(Key, u32); 2] {
        let source = source_of(source);
        [
            (Key::Source(source), self.limits.per_source),
            (
                Key::ClientAtSource(client.to_owned(), source),
                self.limits.per_client_source,
            ),
        ]
    }

    fn wait_at(&self, client: &str, source: IpAddr, now: Instant) -> Option<Duration> {
        let windows = self.windows.lock().expect("not poisoned");
        self.keys(client, source)
            .iter()
            .filter_map(|(key, limit)| {
                let window = windows.get(key)?;
                let ends = window.started + self.limits.window;
                (window.failures >= *limit && now < ends).then(|| ends - now)
            })
            .max()
    }

    fn failed_at(&self, client: &str, source: IpAddr, now: Instant) {
        let mut windows = self.windows.lock().expect("not poisoned");
        if windows.len() + 2 > self.max_keys {
            let target = self.max_keys - self.max_keys / 10 - 2;
            let window = self.limits.window;
            windows.retain(|_, w| now.duration_since(w.started) < window);
            if windows.len() > target {
                let least = self.limits.per_source.min(self.limits.per_client_source);
                windows.retain(|_, w| w.failures >= least);
            }
            if windows.len() > target {
                tracing::warn!(
                    keys = windows.len(),
                    "the failed-login throttle is full; forgetting every source"
                );
                windows.clear();
            }
        }
        for (key, _) in self.keys(client, source) {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(window.started) >= self.limits.window {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures += 1;
        }
    }
}

/// The address failures are counted against: IPv4 as is (also when mapped into IPv6), an
/// IPv6 address by its /64, which one subscriber usually holds whole.
fn source_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
    }
}

/// The source address of a request that reached us from `peer`: the peer itself, unless
/// it is a trusted proxy; then the nearest address in `X-Forwarded-For` (read from the
/// right, as each proxy appends) that is not a trusted proxy. Entries further left were
/// written by the client and prove nothing.
pub fn source_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut source = peer;
    for entry in forwarded_for
        .iter()
        .rev()
        .flat_map(|header| header.rsplit(','))
    {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) => {
                source = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A malformed entry ends what can be believed.
            Err(_) => break,
        }
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> FailureThrottle {
        FailureThrottle::new(Limits {
            window: Duration::from_secs(60),
            per_source: 5,
            per_client_source: 3,
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_client_at_a_source_waits_after_its_limit_until_the_window_ends() {
        let t = throttle();
        let now = Instant::now();
        let attacker = ip("203.0.113.7");
        for _ in 0..3 {
            assert_eq!(t.wait_at("admin", attacker, now), None);
            t.failed_at("admin", attacker, now);
        }
        let wait = t.wait_at("admin", attacker, now + Duration::from_secs(10));
        assert_eq!(wait, Some(Duration::from_secs(50)));
        // The same client from elsewhere is not locked out.
        assert_eq!(t.wait_at("admin", ip("198.51.100.1"), now), None);
        // Another client from the attacker's address may still try, up to the source's limit.
        assert_eq!(t.wait_at("ops", attacker, now), None);
        t.failed_at("ops", attacker, now);
        t.failed_at("ops", attacker, now);
        assert!(t.wait_at("anyone", attacker, now).is_some());
        // After the window, everyone may try again.
        assert_eq!(
            t.wait_at("admin", attacker, now + Duration::from_secs(61)),
            None
        );
    }

    #[test]
    fn success_forgets_the_clients_failures_but_not_the_sources() {
        let t = throttle();
        let now = Instant::now();
        let source = ip("192.0.2.1");
        t.failed_at("ci", source, now);
        t.failed_at("ci", source, now);
        t.succeeded("ci", source);
        t.failed_at("ci", source, now);
        t.failed_at("ci", source, now);
        assert_eq!(t.wait_at("ci", source, now), None);
        t.failed_at("ci", source, now);
        assert!(t.wait_at("ci", source, now).is_some(), "5 from the source");
    }

    #[test]
    fn ipv6_sources_count_per_64() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..5 {
            t.failed_at(&format!("c{i}"), ip(&format!("2001:db8:1:2::{i}")), now);
        }
        assert!(t.wait_at("x", ip("2001:db8:1:2:ffff::1"), now).is_some());
        assert!(t.wait_at("x", ip("2001:db8:1:3::1"), now).is_none());
        t.failed_at("m", ip("::ffff:192.0.2.9"), now);
        assert_eq!(source_of(ip("::ffff:192.0.2.9")), ip("192.0.2.9"));
    }

    #[test]
    fn memory_is_bounded_and_blocking_keys_are_kept_longest() {
        let t = FailureThrottle::with_capacity(
            Limits {
                window: Duration::from_secs(60),
                per_source: 2,
                per_client_source: 2,
            },
            100,
        );
        let now = Instant::now();
        let blocked = ip("192.0.2.1");
        t.failed_at("c", blocked, now);
        t.failed_at("c", blocked, now);
        for i in 0..1000u32 {
            t.failed_at("c", IpAddr::from((i + 1000).to_be_bytes()), now);
            assert!(t.windows.lock().unwrap().len() <= 100);
        }
        assert!(t.wait_at("c", blocked, now).is_some());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = ["10.0.0.0/8", "192.0.2.5/32"]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
        let client = ip("203.0.113.9");
        // Not through a trusted proxy: the header is the caller's invention.
        assert_eq!(source_address(client, &["198.51.100.1"], &trusted), client);
        // Through two trusted proxies: the first untrusted address from the right.
        assert_eq!(
            source_address(
                ip("10.1.1.1"),
                &["1.2.3.4, 203.0.113.9", "192.0.2.5"],
                &trusted
            ),
            client
        );
        // A trusted proxy without the header: the proxy is the source.
        assert_eq!(
            source_address(ip("10.1.1.1"), &[], &trusted),
            ip("10.1.1.1")
        );
    }
}
