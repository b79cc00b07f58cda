//! Which web pages may open a WebSocket to this server.
//!
//! Browsers send `Origin` with every WebSocket handshake and let any page connect anywhere, so
//! without this check a foreign page could drive a pupil's browser into a class (cross-site
//! WebSocket hijacking). Allowed: no `Origin` at all (not a browser: an LMS, the load test), the
//! server's own origin (`Origin`'s host:port equals `Host`, or the configured `public_url`), and
//! the origins listed in `allowed_origins`.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use super::refusal;

/// The 403 to answer when the handshake's `Origin` is not allowed; `None` lets it go on.
pub fn refuse_foreign_origin(
    allowed: &[String],
    public_url: Option<&str>,
    headers: &HeaderMap,
) -> Option<Response> {
    let origin = headers.get(header::ORIGIN)?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match origin.to_str() {
        Ok(origin) if origin_allowed(origin, host, allowed, public_url) => None,
        _ => Some(refusal(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this page's origin may not open a classroom connection; \
             the server's operator can add it to allowed_origins",
        )),
    }
}

/// The 403 to answer when a state-changing HTTP request (creating a class) comes from a page on
/// another site. A cross-site `POST` with a simple content type (text/plain, a form) needs no
/// CORS preflight, so without this any page on the web could create classes through a
/// visitor's browser. Browsers say where a request comes from twice: `Sec-Fetch-Site` (only
/// `same-origin`, or `none` for a typed address, passes) and `Origin` (only the server's own,
/// never `allowed_origins`: those may embed a class, not create one). Requests with neither (an
/// LMS back end, curl, a script) are not a browser's, and go on to the credential check.
pub fn refuse_cross_site(public_url: Option<&str>, headers: &HeaderMap) -> Option<Response> {
    let refuse = || {
        Some(refusal(
            StatusCode::FORBIDDEN,
            "cross_site_refused",
            "a class can only be created from this server's own page, not from another site",
        ))
    };
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.to_str(), Ok("same-origin" | "none")) {
            return refuse();
        }
    }
    let origin = headers.get(header::ORIGIN)?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match origin.to_str() {
        Ok(origin) if origin_allowed(origin, host, &[], public_url) => None,
        _ => refuse(),
    }
}

/// The decision, without HTTP types.
pub fn origin_allowed(
    origin: &str,
    host: Option<&str>,
    allowed: &[String],
    public_url: Option<&str>,
) -> bool {
    let origin = origin.trim_end_matches('/');
    let Some((scheme, authority)) = origin.split_once("://") else {
        // "null" (sandboxed frames, file://) and garbage.
        return false;
    };
    if !matches!(scheme, "http" | "https") || authority.is_empty() {
        return false;
    }
    if host.is_some_and(|host| authority.eq_ignore_ascii_case(host)) {
        return true;
    }
    if public_url.is_some_and(|url| origin.eq_ignore_ascii_case(origin_of(url))) {
        return true;
    }
    allowed
        .iter()
        .any(|a| origin.eq_ignore_ascii_case(a.trim_end_matches('/')))
}

/// `https://host:port` of a URL (drops the path).
pub(crate) fn origin_of(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// Checks the shape of a configured origin: `scheme://host[:port]`, nothing else.
pub fn validate_allowed_origin(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(authority)
            if !authority.is_empty() && !authority.trim_end_matches('/').contains('/') =>
        {
            Ok(())
        }
        _ => Err(format!(
            "allowed_origins: {origin:?} is not an origin like \"https://moodle.example.org\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Option<&str> = Some("127.0.0.1:8080");

    #[test]
    fn the_servers_own_origin_is_allowed() {
        assert!(origin_allowed("http://127.0.0.1:8080", HOST, &[], None));
        assert!(origin_allowed(
            "https://Classe.Example.org",
            Some("classe.example.org"),
            &[],
            None
        ));
        assert!(!origin_allowed("http://127.0.0.1:8081", HOST, &[], None));
    }

    #[test]
    fn foreign_null_and_odd_origins_are_refused() {
        for origin in [
            "https://evil.example",
            "null",
            "",
            "ftp://127.0.0.1:8080",
            "http://",
        ] {
            assert!(!origin_allowed(origin, HOST, &[], None), "{origin}");
        }
    }

    #[test]
    fn configured_origins_and_the_public_url_are_allowed() {
        let allowed = vec!["https://moodle.example.org/".to_owned()];
        assert!(origin_allowed(
            "https://moodle.example.org",
            HOST,
            &allowed,
            None
        ));
        assert!(!origin_allowed(
            "https://moodle.example.org.evil",
            HOST,
            &allowed,
            None
        ));
        let public = Some("https://classe.example.org/base/");
        assert!(origin_allowed(
            "https://classe.example.org",
            HOST,
            &[],
            public
        ));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, "127.0.0.1:8080".parse().expect("host"));
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("value"));
        }
        map
    }

    #[test]
    fn class_creation_comes_only_from_the_servers_own_pages() {
        let public = Some("https://classe.example.org");
        for ok in [
            headers(&[]),
            headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "same-origin"),
            ]),
            headers(&[("sec-fetch-site", "none")]),
            headers(&[("origin", "https://classe.example.org")]),
        ] {
            assert!(refuse_cross_site(public, &ok).is_none(), "{ok:?}");
        }
        for refused in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "null")]),
            // Embedding a class is not creating one.
            headers(&[("origin", "https://moodle.example.org")]),
            headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "cross-site"),
            ]),
        ] {
            let response = refuse_cross_site(public, &refused).expect("refused");
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{refused:?}");
        }
    }

    #[test]
    fn configured_origins_must_be_origins() {
        assert!(validate_allowed_origin("https://moodle.example.org").is_ok());
        assert!(validate_allowed_origin("https://moodle.example.org/course").is_err());
        assert!(validate_allowed_origin("moodle.example.org").is_err());
    }
}
