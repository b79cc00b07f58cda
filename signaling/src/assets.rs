//! The web client, embedded in the binary at build time (no build step, no outside host).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../web-client/"]
#[include = "*.html"]
#[include = "js/*.js"]
#[include = "js/i18n/*.js"]
#[include = "css/*.css"]
#[include = "*.svg"]
#[include = "img/*"]
struct WebClient;

/// Serves one embedded file, or 404.
pub fn serve(path: &str) -> Response {
    match WebClient::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
                file.data,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
