//! The backend endpoint URL, and whether AWS could reach it.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::validation::parsed_string;

/// An absolute http(s) URL without credentials, query or fragment, kept without a
/// trailing `/` so resource paths append cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "https://petstore.example.com/v1")]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = url::Url::parse(s.trim())
            .map_err(|e| format!("must be an absolute http(s) URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http or https URL".into());
        }
        if url.host().is_none() {
            return Err("must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment".into());
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Why AWS could never reach this host (loopback, private, link-local), if so.
    /// Such an endpoint is fine for an emulator environment, not for real AWS.
    pub fn unreachable_from_aws(&self) -> Option<String> {
        let url = url::Url::parse(&self.0).ok()?;
        let private = match url.host()? {
            url::Host::Domain(domain) => {
                let domain = domain.to_ascii_lowercase();
                domain == "localhost"
                    || domain.ends_with(".localhost")
                    || domain.ends_with(".local")
                    || domain.ends_with(".internal")
            }
            url::Host::Ipv4(ip) => is_private_v4(ip),
            url::Host::Ipv6(ip) => is_private_v6(ip),
        };
        private.then(|| {
            "the host is loopback, private or link-local: AWS cannot reach it, so only an \
             emulator environment will accept a deploy"
                .to_owned()
        })
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        // 100.64.0.0/10, carrier-grade NAT
        || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64)
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_private_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
}

parsed_string!(EndpointUrl);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_http_urls_only() {
        assert_eq!(
            EndpointUrl::parse("https://api.example.com/v1/")
                .unwrap()
                .as_str(),
            "https://api.example.com/v1"
        );
        assert_eq!(
            EndpointUrl::parse("http://api.example.com")
                .unwrap()
                .as_str(),
            "http://api.example.com"
        );
        for bad in [
            "",
            "/relative",
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/?a=1",
            "https://example.com/#x",
            "mailto:a@example.com",
        ] {
            assert!(EndpointUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_hosts_get_a_warning() {
        for private in [
            "http://localhost:8080",
            "http://127.0.0.1",
            "http://10.1.2.3",
            "http://192.168.0.1",
            "http://169.254.169.254",
            "http://[::1]",
            "http://[fd00::1]",
            "http://[::ffff:10.0.0.1]",
            "http://backend.internal",
        ] {
            let url = EndpointUrl::parse(private).unwrap();
            assert!(url.unreachable_from_aws().is_some(), "{private}");
        }
        for public in [
            "https://api.example.com",
            "http://8.8.8.8",
            "http://[2001:db8::1]",
        ] {
            let url = EndpointUrl::parse(public).unwrap();
            assert!(url.unreachable_from_aws().is_none(), "{public}");
        }
    }
}
