//! The one guard every outbound call passes: calls to admin-supplied URLs (emulator
//! endpoints, key-manager discovery, JWKS and token URLs, AWS service endpoints) reach
//! public hosts only, unless `outbound_allow` narrows them to exactly a list of hosts and
//! networks (tests and the demo allow `127.0.0.1`). Loopback, private, link-local —
//! instance metadata at 169.254.169.254 — and every other special-purpose address of
//! IANA's registries are refused by default, also when an IPv6 address embeds one.
//!
//! The guard resolves names itself and both HTTP clients it hands out (reqwest for the
//! IdPs, the AWS SDK's) connect only to the addresses it checked: a name that resolves to
//! a public address when checked and to 127.0.0.1 a second later reaches nothing.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use ipnet::{IpNet, Ipv6Net};
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
        why: String,
    },
}

/// The addresses of a name, as the guard learns them. The system resolver by default;
/// tests inject one that answers what they need without DNS.
pub type Resolving<'a> = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>>;

pub trait Resolve: Send + Sync {
    fn resolve<'a>(&'a self, host: &'a str) -> Resolving<'a>;
}

/// The operating system's resolver (getaddrinfo, through tokio).
struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str) -> Resolving<'a> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host, 0))
                .await?
                .map(|addr| addr.ip())
                .collect())
        })
    }
}

/// Which hosts fedgate may call.
#[derive(Clone)]
pub struct OutboundGuard {
    allow: Option<Arc<Vec<AllowEntry>>>,
    resolver: Arc<dyn Resolve>,
}

impl Default for OutboundGuard {
    fn default() -> Self {
        Self {
            allow: None,
            resolver: Arc::new(SystemResolver),
        }
    }
}

impl std::fmt::Debug for OutboundGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundGuard")
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl OutboundGuard {
    /// An empty list means the default: public addresses only.
    pub fn new(allow: &[String]) -> Result<Self, String> {
        if allow.is_empty() {
            return Ok(Self::default());
        }
        let entries = allow
            .iter()
            .map(|entry| parse_entry(entry.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            allow: Some(Arc::new(entries)),
            ..Self::default()
        })
    }

    /// The same guard resolving names with `resolver` (tests: no real DNS).
    pub fn with_resolver(self, resolver: Arc<dyn Resolve>) -> Self {
        Self { resolver, ..self }
    }

    /// Resolves the URL's host and checks every address it resolves to.
    pub async fn check_url(&self, url: &Url) -> Result<Vec<SocketAddr>, OutboundError> {
        let host = url.host_str().ok_or_else(|| OutboundError::NoHost {
            url: url.to_string(),
        })?;
        let port = url.port_or_known_default().unwrap_or(443);
        self.check_host(host, port).await
    }

    /// Resolves `host` and checks every address; all of them pass or the host is refused.
    pub async fn check_host(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, OutboundError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ips = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => self
                .resolver
                .resolve(host)
                .await
                .map_err(|e| OutboundError::Resolve {
                    host: host.to_owned(),
                    reason: e.to_string(),
                })?,
        };
        if ips.is_empty() {
            return Err(OutboundError::Resolve {
                host: host.to_owned(),
                reason: "no addresses".into(),
            });
        }
        for ip in &ips {
            self.check_ip(host, *ip)?;
        }
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }

    /// Checks one address a host resolved to.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), OutboundError> {
        let refused = |why: String| OutboundError::Refused {
            host: host.to_owned(),
            ip,
            why,
        };
        match &self.allow {
            Some(entries) => {
                let allowed = entries.iter().any(|entry| match entry {
                    AllowEntry::Host(name) => name.eq_ignore_ascii_case(host),
                    AllowEntry::Net(net) => net.contains(&ip) || net.contains(&canonical(ip)),
                });
                if allowed {
                    Ok(())
                } else {
                    Err(refused("it is not on the outbound allow list".into()))
                }
            }
            None => match special_purpose(ip) {
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

    /// The HTTP client for AWS service calls: the SDK's default one (hyper 1, rustls with
    /// aws-lc) whose resolver is this guard, so the addresses checked are the addresses
    /// connected to, on every new connection of a cached client. The SDK config's connect
    /// and call timeouts still apply. No proxy: a proxy would make the connection, and
    /// resolve the name, out of the guard's sight. Literal IP endpoints never reach a
    /// resolver; they are checked when the clients are built and cannot change.
    pub fn sdk_http_client(&self) -> SharedHttpClient {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build_with_resolver(GuardedDns(self.clone()))
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

/// The AWS SDK's resolver: only addresses the guard accepted, or the guard's refusal.
#[derive(Debug, Clone)]
struct GuardedDns(OutboundGuard);

impl ResolveDns for GuardedDns {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        DnsFuture::new(async move {
            let addrs = self
                .0
                .check_host(name, 0)
                .await
                .map_err(ResolveDnsError::new)?;
            Ok(addrs.into_iter().map(|addr| addr.ip()).collect())
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

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address it carries: a
/// dual-stack socket connects to that address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

const LOOPBACK: &str = "loopback addresses are not allowed";
const PRIVATE: &str = "private addresses are not allowed";
const LINK_LOCAL: &str = "link-local addresses (instance metadata) are not allowed";
const DOCUMENTATION: &str = "documentation addresses are not allowed";
const MULTICAST: &str = "multicast addresses are not allowed";

/// IANA's IPv4 Special-Purpose Address Registry, the blocks that are not globally
/// reachable (and the deprecated 6to4 relay anycast), plus multicast and broadcast.
#[rustfmt::skip]
const V4_SPECIAL: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\" addresses are not allowed"),
    ("10.0.0.0/8", PRIVATE),
    ("100.64.0.0/10", "shared (carrier-grade NAT) addresses are not allowed"),
    ("127.0.0.0/8", LOOPBACK),
    ("169.254.0.0/16", LINK_LOCAL),
    ("172.16.0.0/12", PRIVATE),
    ("192.0.0.0/24", "IETF protocol assignments are not allowed"),
    ("192.0.2.0/24", DOCUMENTATION),
    ("192.88.99.0/24", "6to4 relay anycast addresses are not allowed"),
    ("192.168.0.0/16", PRIVATE),
    ("198.18.0.0/15", "benchmarking addresses are not allowed"),
    ("198.51.100.0/24", DOCUMENTATION),
    ("203.0.113.0/24", DOCUMENTATION),
    ("224.0.0.0/4", MULTICAST),
    ("240.0.0.0/4", "reserved addresses are not allowed"),
    ("255.255.255.255/32", "the broadcast address is not allowed"),
];

/// IANA's IPv6 Special-Purpose Address Registry, the blocks that are not globally
/// reachable, plus deprecated site-local and multicast; the first match says why.
/// IPv4-mapped addresses and the NAT64 well-known prefix are absent: they are judged by
/// the IPv4 address they carry.
#[rustfmt::skip]
const V6_SPECIAL: &[(&str, &str)] = &[
    ("::/128", "the unspecified address is not allowed"),
    ("::1/128", LOOPBACK),
    ("::/96", "IPv4-compatible addresses (deprecated) are not allowed"),
    ("64:ff9b:1::/48", "local-use NAT64 addresses are not allowed"),
    ("100::/64", "discard-only addresses are not allowed"),
    ("100:0:0:1::/64", "dummy-prefix addresses are not allowed"),
    ("2001::/32", "Teredo addresses are not allowed"),
    ("2001::/23", "IETF protocol assignments are not allowed"),
    ("2001:db8::/32", DOCUMENTATION),
    ("2002::/16", "6to4 addresses are not allowed"),
    ("3fff::/20", DOCUMENTATION),
    ("5f00::/16", "segment routing (SRv6) SIDs are not allowed"),
    ("fc00::/7", PRIVATE),
    ("fe80::/10", "link-local addresses are not allowed"),
    ("fec0::/10", "site-local addresses (deprecated) are not allowed"),
    ("ff00::/8", MULTICAST),
];

/// The tables, parsed once.
static SPECIAL: LazyLock<Vec<(IpNet, &'static str)>> = LazyLock::new(|| {
    V4_SPECIAL
        .iter()
        .chain(V6_SPECIAL)
        .map(|(net, why)| (net.parse().expect("the tables hold CIDRs"), *why))
        .collect()
});

const fn v6(a: u16, b: u16, c: u16, len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, 0, 0, 0, 0, 0), len)
}

/// Global unicast (RFC 4291): every IPv6 address outside it is reserved or special.
const V6_GLOBAL_UNICAST: Ipv6Net = v6(0x2000, 0, 0, 3);
const NAT64: Ipv6Net = v6(0x64, 0xff9b, 0, 96);
const NAT64_LOCAL: Ipv6Net = v6(0x64, 0xff9b, 1, 48);
const SIX_TO_FOUR: Ipv6Net = v6(0x2002, 0, 0, 16);
const TEREDO: Ipv6Net = v6(0x2001, 0, 0, 32);
const IPV4_COMPATIBLE: Ipv6Net = v6(0, 0, 0, 96);

/// The IPv4 addresses an IPv6 address carries: IPv4-mapped and IPv4-compatible, NAT64
/// (RFC 6052, the /96 form), 6to4 (RFC 3056) and Teredo (RFC 4380: the server, and the
/// client address stored inverted).
fn embedded_ipv4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from(bits as u32);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        vec![mapped]
    } else if (IPV4_COMPATIBLE.contains(&ip) && bits > 1)
        || NAT64.contains(&ip)
        || NAT64_LOCAL.contains(&ip)
    {
        vec![low]
    } else if SIX_TO_FOUR.contains(&ip) {
        vec![Ipv4Addr::from((bits >> 80) as u32)]
    } else if TEREDO.contains(&ip) {
        vec![
            Ipv4Addr::from((bits >> 64) as u32),
            Ipv4Addr::from(!(bits as u32)),
        ]
    } else {
        Vec::new()
    }
}

/// Why an address is not a public unicast one, if it is not: the address itself, or an
/// IPv4 address it embeds (so `::ffff:127.0.0.1` and `64:ff9b::7f00:1` are loopback).
fn special_purpose(ip: IpAddr) -> Option<String> {
    let listed = |ip: IpAddr| {
        SPECIAL
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, why)| *why)
    };
    match ip {
        IpAddr::V4(_) => listed(ip).map(str::to_owned),
        IpAddr::V6(v6) => {
            for embedded in embedded_ipv4(v6) {
                if let Some(why) = listed(IpAddr::V4(embedded)) {
                    return Some(format!("it embeds the IPv4 address {embedded}, and {why}"));
                }
            }
            if v6.to_ipv4_mapped().is_some() {
                return None;
            }
            if let Some(why) = listed(ip) {
                return Some(why.to_owned());
            }
            (!V6_GLOBAL_UNICAST.contains(&v6) && !NAT64.contains(&v6))
                .then(|| "addresses outside global unicast (2000::/3) are not allowed".to_owned())
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
    fn every_special_purpose_block_is_refused_by_default() {
        let guard = OutboundGuard::new(&[]).unwrap();
        for special in [
            // IPv4: IANA's special-purpose registry, multicast, reserved, broadcast.
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.255.255.254",
            "169.254.169.254",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6: IANA's special-purpose registry, site-local, multicast, non-global.
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "64:ff9b:1::1",
            "100::1",
            "100:0:0:1::1",
            "2001::1",
            "2001:2::1",
            "2001:1ff::1",
            "2001:db8::1",
            "2002:3400:1::",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fdff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "4000::1",
            // IPv4 embedded in IPv6: compatible, mapped, NAT64, 6to4, Teredo.
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            // Teredo: server 65.54.227.120, client 127.0.0.1 stored inverted.
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
        ] {
            assert!(guard.check_ip("h", ip(special)).is_err(), "{special}");
        }
        for public in [
            "52.94.236.248",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "198.20.0.1",
            "223.255.255.254",
            "2600:1f18::1",
            "2a00:1450:4001::1",
            "::ffff:52.94.236.248",
            "64:ff9b::34.94.236.248",
        ] {
            assert!(guard.check_ip("h", ip(public)).is_ok(), "{public}");
        }
    }

    #[test]
    fn refusals_say_why_in_words() {
        let guard = OutboundGuard::new(&[]).unwrap();
        let why = |s: &str| guard.check_ip("h", ip(s)).unwrap_err().to_string();
        assert!(why("64:ff9b::7f00:1").contains("embeds the IPv4 address 127.0.0.1"));
        assert!(why("::1").contains("loopback"));
        assert!(why("fec0::1").contains("site-local"));
        assert!(why("198.18.0.1").contains("benchmarking"));
    }

    proptest::proptest! {
        /// An IPv6 address carrying an IPv4 one is refused when that IPv4 address is, and
        /// IPv4-mapped and NAT64 addresses are judged exactly as what they carry.
        #[test]
        fn embedded_ipv4_is_judged_as_itself(bits: u32) {
            let guard = OutboundGuard::new(&[]).unwrap();
            let v4 = Ipv4Addr::from(bits);
            let refused = guard.check_ip("h", IpAddr::V4(v4)).is_err();
            let nat64 = Ipv6Addr::from((0x64_ff9b_u128 << 96) | u128::from(bits));
            let six_to_four = Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(bits) << 80));
            proptest::prop_assert_eq!(
                guard.check_ip("h", IpAddr::V6(v4.to_ipv6_mapped())).is_err(),
                refused
            );
            proptest::prop_assert_eq!(guard.check_ip("h", IpAddr::V6(nat64)).is_err(), refused);
            proptest::prop_assert!(guard.check_ip("h", IpAddr::V6(six_to_four)).is_err());
        }

        /// Nothing outside 2000::/3 (and the NAT64 prefix) is public.
        #[test]
        fn no_ipv6_outside_global_unicast_passes(bits: u128) {
            let guard = OutboundGuard::new(&[]).unwrap();
            let addr = Ipv6Addr::from(bits);
            if !V6_GLOBAL_UNICAST.contains(&addr) && !NAT64.contains(&addr)
                && addr.to_ipv4_mapped().is_none()
            {
                proptest::prop_assert!(guard.check_ip("h", IpAddr::V6(addr)).is_err());
            }
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
