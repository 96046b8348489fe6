//! The browser app: static files from `web/`, compiled into jamd (or read from `server.web_dir`
//! when set, for quick edits), served with a strict Content-Security-Policy (no inline script).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// (path under web/, content type, built-in bytes)
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../web/index.html"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/app.css"),
    ),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/j/{slug}", web::get().to(index))
        .route(
            "/app.css",
            web::get().to(|state: web::Data<AppState>| async move { file(&state, "app.css") }),
        );
}

async fn index(state: web::Data<AppState>) -> HttpResponse {
    file(&state, "index.html")
}

fn file(state: &AppState, name: &str) -> HttpResponse {
    let Some((_, content_type, builtin)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return HttpResponse::NotFound().finish();
    };
    let dir = &state.settings.server.web_dir;
    let body = if dir.is_empty() {
        builtin.as_bytes().to_vec()
    } else {
        std::fs::read(std::path::Path::new(dir).join(name)).unwrap_or_else(|_| builtin.as_bytes().to_vec())
    };
    HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(body)
}
