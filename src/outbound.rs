//! The one guard every outbound call passes: calls to admin-supplied URLs (emulator
//! endpoints, key-manager discovery, JWKS and token URLs) reach public hosts only, unless
//! `outbound_allow` narrows them to exactly a list of hosts and networks (tests and the
//! demo allow `127.0.0.1`). Loopback, private, link-local — instance metadata at
//! 169.254.169.254 — and other special addresses are refused by default.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowEntry {
    Host(String),
    Net(IpNet),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboundError {
    #[error("{url} has no host")]
    NoHost { url: String },
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error(
        "outbound calls to {host} ({ip}) are refused: {why}; an operator can allow it with FEDGATE_OUTBOUND_ALLOW"
    )]
    Refused {
        host: String,
        ip: IpAddr,
        why: &'static str,
    },
}

/// Which hosts fedgate may call.
#[derive(Debug, Clone, Default)]
pub struct OutboundGuard {
    allow: Option<Arc<Vec<AllowEntry>>>,
}

impl OutboundGuard {
    /// An empty list means the default: public addresses only.
    pub fn new(allow: &[String]) -> Result<Self, String> {
        if allow.is_empty() {
            return Ok(Self { allow: None });
        }
        let entries = allow
            .iter()
            .map(|entry| parse_entry(entry.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            allow: Some(Arc::new(entries)),
        })
    }

    /// Resolves the URL's host and checks every address it resolves to.
    pub async fn check_url(&self, url: &Url) -> Result<Vec<SocketAddr>, OutboundError> {
        let host = url.host_str().ok_or_else(|| OutboundError::NoHost {
            url: url.to_string(),
        })?;
        let port = url.port_or_known_default().unwrap_or(443);
        self.check_host(host, port).await
    }

    pub async fn check_host(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, OutboundError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| OutboundError::Resolve {
                host: host.to_owned(),
                reason: e.to_string(),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(OutboundError::Resolve {
                host: host.to_owned(),
                reason: "no addresses".into(),
            });
        }
        for addr in &addrs {
            self.check_ip(host, addr.ip())?;
        }
        Ok(addrs)
    }

    /// Checks one address a host resolved to.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), OutboundError> {
        let refused = |why| OutboundError::Refused {
            host: host.to_owned(),
            ip,
            why,
        };
        match &self.allow {
            Some(entries) => {
                let allowed = entries.iter().any(|entry| match entry {
                    AllowEntry::Host(name) => name.eq_ignore_ascii_case(host),
                    AllowEntry::Net(net) => net.contains(&canonical(ip)),
                });
                if allowed {
                    Ok(())
                } else {
                    Err(refused("it is not on the outbound allow list"))
                }
            }
            None => match special_purpose(canonical(ip)) {
                Some(why) => Err(refused(why)),
                None => Ok(()),
            },
        }
    }

    /// An HTTP client whose every connection (redirects included) passes this guard, with
    /// bounded timeouts.
    pub fn http_client(&self) -> reqwest::Client {
        let resolver = Arc::new(GuardedResolver(self.clone()));
        let guard = self.clone();
        reqwest::Client::builder()
            .dns_resolver(resolver)
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    return attempt.error("too many redirects");
                }
                // Literal IPs never reach the resolver: check them here.
                let literal = attempt.url().host_str().and_then(|h| {
                    h.trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<IpAddr>()
                        .ok()
                });
                match literal.map(|ip| guard.check_ip(&ip.to_string(), ip)) {
                    Some(Err(e)) => attempt.error(e),
                    _ => attempt.follow(),
                }
            }))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("a static reqwest configuration is valid")
    }
}

/// reqwest resolver that refuses what the guard refuses.
struct GuardedResolver(OutboundGuard);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let addrs = guard.check_host(name.as_str(), 0).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

fn parse_entry(entry: &str) -> Result<AllowEntry, String> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Ok(AllowEntry::Net(net));
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Ok(AllowEntry::Net(IpNet::from(ip)));
    }
    let hostname_ok = !entry.is_empty()
        && entry.len() <= 253
        && entry.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if hostname_ok {
        Ok(AllowEntry::Host(entry.to_ascii_lowercase()))
    } else {
        Err(format!("`{entry}` is not a host name, IP address or CIDR"))
    }
}

/// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Why an address is not a public unicast one, if it is not.
fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("loopback addresses are not allowed")
            } else if v4.is_link_local() {
                Some("link-local addresses (instance metadata) are not allowed")
            } else if v4.is_private() || (a == 100 && (64..128).contains(&b)) {
                Some("private addresses are not allowed")
            } else if v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || a >= 240
            {
                Some("special-purpose addresses are not allowed")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback addresses are not allowed")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local addresses are not allowed")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private addresses are not allowed")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("special-purpose addresses are not allowed")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_refuses_internal_addresses() {
        let guard = OutboundGuard::new(&[]).unwrap();
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(guard.check_ip("h", ip(internal)).is_err(), "{internal}");
        }
        for public in ["52.94.236.248", "2600:1f18::1"] {
            assert!(guard.check_ip("h", ip(public)).is_ok(), "{public}");
        }
    }

    #[test]
    fn an_allow_list_narrows_to_exactly_its_entries() {
        let guard =
            OutboundGuard::new(&["127.0.0.1".into(), "10.0.0.0/8".into(), "idp.test".into()])
                .unwrap();
        assert!(guard.check_ip("x", ip("127.0.0.1")).is_ok());
        assert!(guard.check_ip("x", ip("10.9.9.9")).is_ok());
        assert!(guard.check_ip("idp.test", ip("192.168.1.1")).is_ok());
        assert!(guard.check_ip("x", ip("127.0.0.2")).is_err());
        assert!(
            guard.check_ip("x", ip("52.94.236.248")).is_err(),
            "public hosts too"
        );
        assert!(OutboundGuard::new(&["not a host!".into()]).is_err());
    }

    #[tokio::test]
    async fn literal_urls_are_checked_without_dns() {
        let guard = OutboundGuard::new(&["127.0.0.1".into()]).unwrap();
        assert!(
            guard
                .check_url(&Url::parse("http://127.0.0.1:9/").unwrap())
                .await
                .is_ok()
        );
        let refused = guard
            .check_url(&Url::parse("http://127.0.0.2:9/").unwrap())
            .await;
        assert!(matches!(refused, Err(OutboundError::Refused { .. })));
        let metadata = OutboundGuard::new(&[]).unwrap();
        assert!(
            metadata
                .check_url(&Url::parse("http://169.254.169.254/latest").unwrap())
                .await
                .is_err()
        );
    }
}
