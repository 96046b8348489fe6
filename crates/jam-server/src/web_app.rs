//! The browser app: every file of `web/` (but its tests and `node_modules`) compiled into jamd by
//! `build.rs`, or read from `server.web_dir` when set, for quick edits. Page routes of the app
//! (`/`, `/j/{slug}`, `/console…`, `/results/…`, `/s/…`, `/i/…`) all answer `index.html` and the
//! router in `web/js/router.js` picks the view. Everything goes out with a strict
//! Content-Security-Policy: scripts and styles from this origin only, nothing inline.

use std::path::{Component, Path};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use jam_protocol::problem::Problem;

use crate::error::problem_response;
use crate::state::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/web_files.rs"));
}

/// What `web/` holds besides the app (as `build.rs` skips them): never served from disk either.
const NOT_APP: &[&str] = &["e2e", "node_modules", "package.json", "package-lock.json"];

/// The file types served from `server.web_dir` (the app's own); anything else there is 404.
const SERVED_TYPES: &[&str] = &[
    "html", "css", "js", "mjs", "json", "svg", "png", "ico", "woff2", "txt",
];

/// Paths that are pages of the single-page app rather than files.
pub(crate) const PAGES: &[&str] = &[
    "/",
    "/j/{tail:.*}",
    "/console",
    "/console/{tail:.*}",
    "/results/{tail:.*}",
    "/s/{tail:.*}",
    "/i/{tail:.*}",
    "/search/{tail:.*}",
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    for page in PAGES {
        cfg.route(page, crate::methods::get().to(index));
    }
    // Registered last: anything else that names a file of the app (the API scope matches first).
    // Any method, so that another method on a page or a file gets 405 and elsewhere 404.
    cfg.route("/{path:.*}", web::route().to(asset));
}

async fn index(state: web::Data<AppState>) -> HttpResponse {
    serve(&state, "index.html").unwrap_or_else(missing)
}

async fn asset(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let path = req.match_info().query("path");
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD {
        return match serve(&state, path) {
            Some(_) => crate::methods::method_not_allowed(req.method().as_str(), &["GET", "HEAD"]),
            None => crate::methods::not_routed(req).await,
        };
    }
    serve(&state, path).unwrap_or_else(missing)
}

fn missing() -> HttpResponse {
    let problem = Problem {
        kind: "about:blank".into(),
        title: "Not found".into(),
        status: 404,
        detail: "no such route".into(),
        errors: Vec::new(),
    };
    problem_response(StatusCode::NOT_FOUND, &problem, None)
}

/// The file's bytes, from `server.web_dir` when set, else from the built-in table.
fn serve(state: &AppState, path: &str) -> Option<HttpResponse> {
    let (content_type, body) = if state.settings.server.web_dir.is_empty() {
        let (_, content_type, bytes) = embedded::FILES.iter().find(|(name, _, _)| *name == path)?;
        (*content_type, bytes.to_vec())
    } else {
        let rel = Path::new(path);
        // Only plain names below the folder: no `..`, no absolute paths, nothing hidden.
        let plain = rel
            .components()
            .all(|c| matches!(c, Component::Normal(s) if !s.to_string_lossy().starts_with('.')));
        if !plain
            || path.is_empty()
            || NOT_APP
                .iter()
                .any(|n| path == *n || path.starts_with(&format!("{n}/")))
        {
            return None;
        }
        // Only the app's kinds of file, and only what really lies under the folder once links are
        // resolved: pointed at the wrong folder (the repository, a data folder) jamd must not serve
        // a database, a key or a config file.
        if !SERVED_TYPES.contains(&path.rsplit_once('.').map_or("", |(_, ext)| ext)) {
            return None;
        }
        let root = Path::new(&state.settings.server.web_dir).canonicalize().ok()?;
        let file = root.join(rel).canonicalize().ok()?;
        if !file.starts_with(&root) {
            return None;
        }
        let body = std::fs::read(file).ok()?;
        (content_type(path), body)
    };
    let cache = if path == "index.html" || !state.settings.server.web_dir.is_empty() {
        "no-cache"
    } else {
        // Not hashed names, so revalidate; short enough that a new jamd shows up quickly.
        "public, max-age=300"
    };
    Some(
        HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                csp(&state.settings.server.public_origin),
            ))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "same-origin"))
            .insert_header((header::CACHE_CONTROL, cache))
            .body(body),
    )
}

/// The policy: only this origin, nothing inline. `connect-src` names the WebSocket origin too:
/// CSP Level 3 lets `'self'` match `ws:` on the same host, but older engines do not.
fn csp(public_origin: &str) -> String {
    let ws = public_origin
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self' {ws}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
         object-src 'none'"
    )
}

/// The same list `build.rs` uses for the built-in table.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_holds_the_page_and_no_test_files() {
        let names: Vec<&str> = embedded::FILES.iter().map(|(n, _, _)| *n).collect();
        assert!(names.contains(&"index.html"), "{names:?}");
        assert!(names.contains(&"js/main.js"), "{names:?}");
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("e2e/") || n.starts_with("node_modules/"))
        );
    }

    #[test]
    fn the_policy_allows_only_this_origin_and_its_websocket() {
        let p = csp("https://jam.example.org");
        assert!(p.contains("script-src 'self'") && !p.contains("unsafe-inline"));
        assert!(p.contains("connect-src 'self' wss://jam.example.org;"));
    }
}
