//! Kubernetes' IP and CIDR libraries (`ip()`, `cidr()`, `isIP`, `containsIP`, ...).

use std::any::Any;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{RtError, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::{Opaque, Value};

/// CEL type name of IP addresses.
pub(crate) const IP_TYPE: &str = "net.IP";
/// CEL type name of CIDR prefixes.
pub(crate) const CIDR_TYPE: &str = "net.CIDR";

/// An IP address value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ip(pub IpAddr);

/// A CIDR prefix; the address is kept as written (not masked), as Go's netip.Prefix does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub addr: IpAddr,
    pub bits: u8,
}

impl Opaque for Ip {
    fn type_name(&self) -> &str {
        IP_TYPE
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other.as_any().downcast_ref::<Ip>() == Some(self)
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.0.to_string())
    }
}

impl Opaque for Cidr {
    fn type_name(&self) -> &str {
        CIDR_TYPE
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other.as_any().downcast_ref::<Cidr>() == Some(self)
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(format!("{}/{}", self.addr, self.bits))
    }
}

pub(crate) fn register(reg: &mut Registry) {
    let ip = || T::Opaque(IP_TYPE);
    let cidr = || T::Opaque(CIDR_TYPE);
    reg.global("ip", vec![sig(&[T::String], ip())], |_, a| match a {
        [Value::String(s)] => parse_ip(s)
            .map(|i| Value::opaque(Ip(i)))
            .map_err(RtError::from),
        _ => no_match(),
    });
    reg.global("isIP", vec![sig(&[T::String], T::Bool)], |_, a| match a {
        [Value::String(s)] => Ok(Value::Bool(parse_ip(s).is_ok())),
        _ => no_match(),
    });
    reg.global(
        "ip.isCanonical",
        vec![sig(&[T::String], T::Bool)],
        |_, a| match a {
            [Value::String(s)] => parse_ip(s)
                .map(|i| Value::Bool(i.to_string() == **s))
                .map_err(RtError::from),
            _ => no_match(),
        },
    );
    reg.global(
        "string",
        vec![sig(&[ip()], T::String), sig(&[cidr()], T::String)],
        |_, a| match a {
            [v @ Value::Opaque(o)]
                if v.downcast::<Ip>().is_some() || v.downcast::<Cidr>().is_some() =>
            {
                match o.to_json() {
                    serde_json::Value::String(s) => Ok(Value::from(s)),
                    _ => no_match(),
                }
            }
            _ => no_match(),
        },
    );
    reg.method("family", vec![sig(&[ip()], T::Int)], |_, a| {
        with_ip(a, |i| Value::Int(if i.is_ipv4() { 4 } else { 6 }))
    });
    reg.method("isUnspecified", vec![sig(&[ip()], T::Bool)], |_, a| {
        with_ip(a, |i| Value::Bool(i.is_unspecified()))
    });
    reg.method("isLoopback", vec![sig(&[ip()], T::Bool)], |_, a| {
        with_ip(a, |i| Value::Bool(i.is_loopback()))
    });
    reg.method(
        "isLinkLocalMulticast",
        vec![sig(&[ip()], T::Bool)],
        |_, a| with_ip(a, |i| Value::Bool(link_local_multicast(i))),
    );
    reg.method("isLinkLocalUnicast", vec![sig(&[ip()], T::Bool)], |_, a| {
        with_ip(a, |i| Value::Bool(link_local_unicast(i)))
    });
    reg.method("isGlobalUnicast", vec![sig(&[ip()], T::Bool)], |_, a| {
        with_ip(a, |i| Value::Bool(global_unicast(i)))
    });
    register_cidr(reg);
}

fn register_cidr(reg: &mut Registry) {
    let ip = || T::Opaque(IP_TYPE);
    let cidr = || T::Opaque(CIDR_TYPE);
    reg.global("cidr", vec![sig(&[T::String], cidr())], |_, a| match a {
        [Value::String(s)] => parse_cidr(s).map(Value::opaque).map_err(RtError::from),
        _ => no_match(),
    });
    reg.global("isCIDR", vec![sig(&[T::String], T::Bool)], |_, a| match a {
        [Value::String(s)] => Ok(Value::Bool(parse_cidr(s).is_ok())),
        _ => no_match(),
    });
    reg.method(
        "containsIP",
        vec![
            sig(&[cidr(), ip()], T::Bool),
            sig(&[cidr(), T::String], T::Bool),
        ],
        contains_ip,
    );
    reg.method(
        "containsCIDR",
        vec![
            sig(&[cidr(), cidr()], T::Bool),
            sig(&[cidr(), T::String], T::Bool),
        ],
        contains_cidr,
    );
    reg.method("ip", vec![sig(&[cidr()], ip())], |_, a| {
        with_cidr(a, |c| Value::opaque(Ip(c.addr)))
    });
    reg.method("masked", vec![sig(&[cidr()], cidr())], |_, a| {
        with_cidr(a, |c| Value::opaque(masked(c)))
    });
    reg.method("prefixLength", vec![sig(&[cidr()], T::Int)], |_, a| {
        with_cidr(a, |c| Value::Int(i64::from(c.bits)))
    });
}

fn with_ip(args: &[Value], f: impl Fn(IpAddr) -> Value) -> Result<Value, RtError> {
    match args.first().and_then(Value::downcast::<Ip>) {
        Some(ip) if args.len() == 1 => Ok(f(ip.0)),
        _ => no_match(),
    }
}

fn with_cidr(args: &[Value], f: impl Fn(Cidr) -> Value) -> Result<Value, RtError> {
    match args.first().and_then(Value::downcast::<Cidr>) {
        Some(c) if args.len() == 1 => Ok(f(*c)),
        _ => no_match(),
    }
}

/// Parses an address as Kubernetes does: no zones, no IPv4-mapped IPv6, no leading zeros.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    if s.contains('%') {
        return Err(format!("IP address with zone value is not allowed: {s}"));
    }
    let ip: IpAddr = s
        .parse()
        .map_err(|_| format!("IP Address {s:?} parse error during conversion from string"))?;
    if let IpAddr::V6(v6) = ip
        && v6.to_ipv4_mapped().is_some()
    {
        return Err(format!("IPv4-mapped IPv6 address is not allowed: {s}"));
    }
    Ok(ip)
}

/// Parses a prefix such as `10.0.0.0/8` (host bits may be set, as in Go's netip.ParsePrefix).
pub(crate) fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let bad = || format!("network address parse error during conversion from string: {s:?}");
    let (addr, bits) = s.split_once('/').ok_or_else(bad)?;
    let addr = parse_ip(addr)?;
    let leading_zero = bits.len() > 1 && bits.starts_with('0');
    if bits.is_empty() || leading_zero || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(bad());
    }
    Ok(Cidr { addr, bits })
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn mask(bits: u8, width: u32) -> u128 {
    let bits = u32::from(bits);
    if bits == 0 {
        0
    } else {
        (u128::MAX << (128 - bits)) >> (128 - width)
    }
}

fn masked(c: Cidr) -> Cidr {
    let addr = match c.addr {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & (mask(c.bits, 32) as u32))),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask(c.bits, 128))),
    };
    Cidr { addr, bits: c.bits }
}

fn prefix_contains(c: &Cidr, ip: IpAddr) -> bool {
    if c.addr.is_ipv4() != ip.is_ipv4() {
        return false;
    }
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let m = mask(c.bits, width);
    to_u128(c.addr) & m == to_u128(ip) & m
}

fn contains_ip(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let Some(c) = args.first().and_then(Value::downcast::<Cidr>) else {
        return no_match();
    };
    let ip = match args.get(1) {
        Some(Value::String(s)) => parse_ip(s)?,
        Some(v) => match v.downcast::<Ip>() {
            Some(ip) => ip.0,
            None => return no_match(),
        },
        None => return no_match(),
    };
    Ok(Value::Bool(prefix_contains(c, ip)))
}

fn contains_cidr(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let Some(c) = args.first().and_then(Value::downcast::<Cidr>) else {
        return no_match();
    };
    let other = match args.get(1) {
        Some(Value::String(s)) => parse_cidr(s)?,
        Some(v) => match v.downcast::<Cidr>() {
            Some(o) => *o,
            None => return no_match(),
        },
        None => return no_match(),
    };
    Ok(Value::Bool(
        other.bits >= c.bits && prefix_contains(c, other.addr),
    ))
}

fn link_local_multicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
    }
}

fn link_local_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// Go's `IsGlobalUnicast`: anything but unspecified, loopback, multicast, link-local or broadcast.
fn global_unicast(ip: IpAddr) -> bool {
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || link_local_unicast(ip)
        || broadcast)
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn ip_library() {
        assert_true(&[
            "isIP('192.168.0.1') && isIP('::1') && !isIP('1.2.3') && !isIP('192.168.000.1')",
            "!isIP('fe80::1%eth0') && !isIP('::ffff:1.2.3.4')",
            "ip('192.168.0.1').family() == 4 && ip('::1').family() == 6",
            "ip('127.0.0.1').isLoopback() && ip('::1').isLoopback()",
            "ip('0.0.0.0').isUnspecified() && ip('::').isUnspecified()",
            "ip('224.0.0.1').isLinkLocalMulticast() && ip('ff02::1').isLinkLocalMulticast()",
            "ip('169.254.1.1').isLinkLocalUnicast() && ip('fe80::1').isLinkLocalUnicast()",
            "ip('10.0.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()",
            "ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1')",
            "ip('2001:db8::1') == ip('2001:0db8::1')",
            "string(ip('2001:0db8::1')) == '2001:db8::1'",
        ]);
        assert_err(&[
            ("ip('1.2.3')", "parse error"),
            ("ip('::ffff:1.2.3.4')", "IPv4-mapped"),
            ("ip.isCanonical('x')", "parse error"),
        ]);
    }

    #[test]
    fn cidr_library() {
        assert_true(&[
            "isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33') && !isCIDR('10.0.0.0') && !isCIDR('10.0.0.0/08')",
            "cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))",
            "cidr('10.0.0.0/8').containsIP('10.1.2.3')",
            "!cidr('10.0.0.0/8').containsIP('11.0.0.1')",
            "!cidr('10.0.0.0/8').containsIP('::1')",
            "cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')",
            "!cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')",
            "cidr('2001:db8::/32').containsCIDR(cidr('2001:db8:1::/48'))",
            "cidr('192.168.1.5/24').ip() == ip('192.168.1.5')",
            "cidr('192.168.1.5/24').masked() == cidr('192.168.1.0/24')",
            "cidr('192.168.1.0/24').prefixLength() == 24",
            "string(cidr('::1/128')) == '::1/128'",
            "cidr('0.0.0.0/0').containsIP('8.8.8.8')",
        ]);
        assert_err(&[("cidr('10.0.0.0/99')", "parse error")]);
    }
}
