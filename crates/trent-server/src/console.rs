//! The console: a few static files embedded in the binary (no CDN, works air-gapped), served
//! at `/console/` with a strict Content-Security-Policy. The page signs its requests with
//! SigV4 in the browser and calls the same KMS API every client uses: there is no console
//! API and no session on the server (docs/console.md).

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// Path, content type and body of each file.
const FILES: &[(&str, &str, &str)] = &[
    ("/console/", "text/html; charset=utf-8", include_str!("../console/index.html")),
    ("/console/app.js", "text/javascript; charset=utf-8", include_str!("../console/app.js")),
    ("/console/kms.js", "text/javascript; charset=utf-8", include_str!("../console/kms.js")),
    ("/console/sigv4.js", "text/javascript; charset=utf-8", include_str!("../console/sigv4.js")),
    ("/console/wrap.js", "text/javascript; charset=utf-8", include_str!("../console/wrap.js")),
    ("/console/style.css", "text/css; charset=utf-8", include_str!("../console/style.css")),
];

/// No inline script or style, nothing from elsewhere, requests only to this origin, no
/// framing, no form posts: what a page holding a secret key in memory needs.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn secured(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// The console's answer to a request, if it is one for the console: a file under
/// `/console/`, or the redirect of a browser's `GET /` (a KMS request names an operation in
/// `X-Amz-Target`; a browser's does not).
pub(crate) fn serve(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let path = uri.path();
    if headers.contains_key("x-amz-target") || (method != Method::GET && method != Method::HEAD) {
        return None;
    }
    if path == "/" || path == "/console" {
        let resp = (StatusCode::FOUND, [(header::LOCATION, "/console/")]).into_response();
        return Some(secured(resp));
    }
    if !path.starts_with("/console/") {
        return None;
    }
    let resp = match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type)], *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    Some(secured(resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<Response> {
        serve(&Method::GET, &path.parse().unwrap(), &HeaderMap::new())
    }

    #[test]
    fn every_file_is_served_with_the_policy_and_a_browser_is_sent_to_the_console() {
        for (path, content_type, _) in FILES {
            let r = get(path).unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(r.headers()["content-type"], *content_type);
            assert_eq!(r.headers()["content-security-policy"], CSP);
            assert_eq!(r.headers()["x-frame-options"], "DENY");
        }
        let r = get("/").unwrap();
        assert_eq!(
            (r.status(), &r.headers()["location"]),
            (StatusCode::FOUND, &HeaderValue::from_static("/console/"))
        );
        assert_eq!(get("/console/nothing").unwrap().status(), StatusCode::NOT_FOUND);
        assert!(get("/health").is_none());
        // A KMS request is never the console's, whatever its path and method.
        let mut kms = HeaderMap::new();
        kms.insert("x-amz-target", HeaderValue::from_static("TrentService.ListKeys"));
        assert!(serve(&Method::GET, &"/".parse().unwrap(), &kms).is_none());
        assert!(serve(&Method::POST, &"/".parse().unwrap(), &HeaderMap::new()).is_none());
    }

    #[test]
    fn no_file_has_inline_script_or_style() {
        for (path, _, body) in FILES {
            if path.ends_with('/') {
                assert!(!body.contains("<script>") && !body.contains("style="), "{path}");
                assert!(
                    !body.contains("http://") && !body.contains("https://"),
                    "{path}: no third-party origin"
                );
            }
        }
    }
}
