//! The plain-HTTP listener beside HTTPS: it serves nothing but a redirect, so a pupil who types
//! the bare address lands on the secure page (where the camera may be opened), and a load
//! balancer can still ask `/healthz`.

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::limits::origin::origin_of;

/// The app of the plain-HTTP listener: redirects to `https://<host>[:https_port]<path>` (or to
/// `public_url`'s origin when it is an https URL), and `/healthz`.
pub fn redirect_router(https_port: u16, public_url: Option<String>) -> Router {
    let target = Target {
        https_port,
        public_origin: public_url
            .filter(|url| url.starts_with("https://"))
            .map(|url| origin_of(&url).to_owned()),
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback(move |headers: HeaderMap, uri: Uri| {
            let target = target.clone();
            async move { target.redirect(&headers, &uri) }
        })
}

#[derive(Debug, Clone)]
struct Target {
    https_port: u16,
    public_origin: Option<String>,
}

impl Target {
    fn redirect(&self, headers: &HeaderMap, uri: &Uri) -> Response {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let origin = match &self.public_origin {
            Some(origin) => origin.clone(),
            None => {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
                let Some(name) = host.and_then(host_name) else {
                    return (
                        StatusCode::BAD_REQUEST,
                        "this address only redirects to HTTPS, and the request names no valid host\n",
                    )
                        .into_response();
                };
                match self.https_port {
                    443 => format!("https://{name}"),
                    port => format!("https://{name}:{port}"),
                }
            }
        };
        // 308, not 301: a POST stays a POST (class creation from a script), and the browser may
        // cache it; HSTS on the HTTPS side then skips this hop altogether.
        (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, format!("{origin}{path}"))],
            "this server is served over HTTPS\n",
        )
            .into_response()
    }
}

/// The host of a `Host` header without its port, if it is a plain host name or address (nothing
/// that could smuggle a path, credentials or another scheme into the `Location`).
fn host_name(host: &str) -> Option<&str> {
    let name = if host.starts_with('[') {
        // [v6]:port
        &host[..=host.find(']')?]
    } else {
        host.rsplit_once(':').map_or(host, |(name, _port)| name)
    };
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lose_their_port_and_odd_ones_are_refused() {
        assert_eq!(host_name("school.example:80"), Some("school.example"));
        assert_eq!(host_name("school.example"), Some("school.example"));
        assert_eq!(host_name("[::1]:8080"), Some("[::1]"));
        assert_eq!(host_name("127.0.0.1:80"), Some("127.0.0.1"));
        for bad in ["", ":80", "evil.example/x", "a@b", "a b", "[::1"] {
            assert_eq!(host_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn redirects_keep_path_and_query_and_name_the_https_port() {
        let target = Target {
            https_port: 8443,
            public_origin: None,
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "school.example:8080".parse().expect("header"));
        let uri: Uri = "/class/abc?token=t".parse().expect("uri");
        let response = target.redirect(&headers, &uri);
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            response.headers()[header::LOCATION],
            "https://school.example:8443/class/abc?token=t"
        );
        let public = Target {
            https_port: 8443,
            public_origin: Some(origin_of("https://classe.example.org/").to_owned()),
        };
        let response = public.redirect(&HeaderMap::new(), &uri);
        assert_eq!(
            response.headers()[header::LOCATION],
            "https://classe.example.org/class/abc?token=t"
        );
        let response = target.redirect(&HeaderMap::new(), &uri);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
