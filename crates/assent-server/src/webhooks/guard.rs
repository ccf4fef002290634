//! The egress guard: which addresses a webhook may reach, and a resolver that enforces it
//! and pins the checked addresses for the connection.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why `ip` may not be reached by a webhook, or `None` when it is a public address.
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let reason = if ip.is_unspecified() || o[0] == 0 {
        "an unspecified address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_private() {
        "a private address"
    } else if o == [169, 254, 169, 254] || o == [100, 100, 100, 200] {
        "a cloud metadata address"
    } else if ip.is_link_local() {
        "a link-local address"
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        "a carrier-grade NAT address"
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        "a broadcast, multicast or reserved address"
    } else if (o[0] == 192 && o[1] == 0 && o[2] == 0) || (o[0] == 198 && (o[1] & 0xfe) == 18) {
        "a special-purpose address"
    } else if ip.is_documentation() {
        "a documentation address"
    } else {
        return None;
    };
    Some(reason)
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let reason = if ip.is_unspecified() {
        "an unspecified address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if ip.to_ipv4_mapped().is_some() {
        "an IPv4-mapped IPv6 address"
    } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
        "an IPv4-compatible IPv6 address"
    } else if s[0] == 0xfd00 && s[1] == 0x0ec2 {
        "a cloud metadata address"
    } else if (s[0] & 0xfe00) == 0xfc00 {
        "a private (unique local) address"
    } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
        "a link-local address"
    } else if (s[0] & 0xff00) == 0xff00 {
        "a multicast address"
    } else if s[0] == 0x0064 && s[1] == 0xff9b {
        // NAT64 embeds an IPv4 address: judge that one.
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return blocked_v4(v4).map(|_| "a NAT64 address of a blocked IPv4 address");
    } else if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return blocked_v4(v4).map(|_| "a 6to4 address of a blocked IPv4 address");
    } else if s[0] == 0x2001 && (s[1] == 0x0db8 || s[1] == 0) {
        "a documentation or Teredo address"
    } else {
        return None;
    };
    Some(reason)
}

/// Host names refused whatever they resolve to.
const BLOCKED_NAMES: &[&str] = &["localhost", "metadata.google.internal", "metadata"];

fn name_blocked(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    BLOCKED_NAMES.contains(&h.as_str()) || h.ends_with(".localhost")
}

/// Checks a URL whose host is an IP literal (the resolver is not asked for those).
pub(super) fn literal_host_blocked(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => blocked_reason(ip).map(|r| format!("{ip} is {r}")),
        Err(_) if name_blocked(bare) => Some(format!("{bare} is not allowed")),
        Err(_) => None,
    }
}

/// The error the resolver returns; recognised to make the failure permanent.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// True when a request failed because the guard refused its host.
pub(super) fn refused_by_guard(e: &reqwest::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if s.is::<Refused>() {
            return true;
        }
        src = s.source();
    }
    false
}

/// Resolves with the system resolver, then refuses the host if any of its addresses is
/// blocked. The connector gets exactly the addresses checked here.
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if !allow && name_blocked(&host) {
                return Err(Box::new(Refused(format!("{host} is not allowed"))) as _);
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(Refused(format!("{host} has no address"))) as _);
            }
            if !allow
                && let Some((ip, reason)) = addrs
                    .iter()
                    .find_map(|a| blocked_reason(a.ip()).map(|r| (a.ip(), r)))
            {
                return Err(Box::new(Refused(format!("{host} resolves to {ip}, {reason}"))) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_blocked() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "100.100.100.200",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "fc00::1",
            "fd12:3456::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(blocked_reason(ip).is_some(), "{ip} should be blocked");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(blocked_reason(ip).is_none(), "{ip} should pass");
        }
    }

    #[test]
    fn literal_hosts_and_names_are_checked() {
        let blocked = |u: &str| literal_host_blocked(&reqwest::Url::parse(u).unwrap());
        assert!(blocked("http://127.0.0.1:8080/x").is_some());
        assert!(blocked("http://[::ffff:10.0.0.1]/x").is_some());
        assert!(blocked("http://localhost:3000/").is_some());
        assert!(blocked("http://LOCALHOST./").is_some());
        assert!(blocked("http://api.localhost/").is_some());
        assert!(blocked("http://metadata.google.internal/").is_some());
        assert!(blocked("https://example.com/hook").is_none());
        assert!(blocked("https://93.184.216.34/hook").is_none());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_private_addresses() {
        let r = GuardedResolver {
            allow_private: false,
        };
        let name: Name = "localhost".parse().unwrap();
        assert!(r.resolve(name).await.is_err());
        let open = GuardedResolver {
            allow_private: true,
        };
        let name: Name = "localhost".parse().unwrap();
        let addrs: Vec<SocketAddr> = open.resolve(name).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
