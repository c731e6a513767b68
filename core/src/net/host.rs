//! `host[:port]` as a video server's domain is written (clinic-api §4.1: no scheme).

use url::Url;

/// `host` or `host:port` (a DNS name, an IPv4 literal or a bracketed IPv6 literal), nothing
/// else: no scheme, user, path, query, fragment, percent-escapes or spaces. Returned in the
/// form the URL parser gives it back (lower case); anything it would rewrite is refused.
pub fn host_port(d: &str) -> Option<String> {
    if d.is_empty()
        || d.len() > 260
        || !d
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return None;
    }
    let u = Url::parse(&format!("https://{d}/")).ok()?;
    let host = u.host_str()?;
    if u.path() != "/" || !u.username().is_empty() || host.is_empty() {
        return None;
    }
    if let Some(url::Host::Domain(name)) = u.host() {
        let labels_ok = name.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !labels_ok {
            return None;
        }
    }
    let back = match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    // `:443` is dropped by the parser (default port): accept that spelling too.
    let given = d.to_ascii_lowercase();
    (back == given || format!("{back}:443") == given).then_some(back)
}
