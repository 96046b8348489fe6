//! The route table: every route of `shared/spec/api.md`, with the roles each admits checked in its
//! handler (the `Caller` extractor and its `require_*` methods).

use actix_web::web;

pub mod auth;
pub mod jams;
pub mod ops;
pub mod participation;

/// Registers `/api/v1/...`.
pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/auth/login", web::post().to(auth::login))
            .route("/auth/logout", web::post().to(auth::logout))
            .route("/me", web::get().to(auth::me))
            .route("/staff", web::post().to(auth::create_staff))
            .route("/jams", web::post().to(jams::create_jam))
            .route("/jams", web::get().to(jams::list_jams))
            .route("/jams/{slug}", web::get().to(jams::get_jam))
            .route("/jams/{slug}", web::patch().to(jams::patch_jam))
            .route("/jams/{slug}/schedule", web::post().to(jams::schedule_jam))
            .route("/jams/{slug}/close", web::post().to(jams::close_jam))
            .route("/jams/{slug}/sessions", web::post().to(jams::create_session))
            .route("/jams/{slug}/sessions/{id}", web::patch().to(jams::patch_session))
            .route(
                "/jams/{slug}/sessions/{id}/open",
                web::post().to(jams::open_session),
            )
            .route(
                "/jams/{slug}/sessions/{id}/close",
                web::post().to(jams::close_session),
            )
            .route("/jams/{slug}/announcements", web::post().to(jams::announce))
            .route("/jams/{slug}/audit", web::get().to(jams::audit_log))
            .route("/jams/{slug}/stats", web::get().to(jams::stats))
            .route("/jams/{slug}/welcome", web::get().to(participation::welcome))
            .route("/jams/{slug}/join", web::post().to(participation::join))
            .route("/jams/{slug}/search", web::get().to(participation::search))
            .route("/sessions/{id}/ideas", web::post().to(participation::create_idea))
            .route("/sessions/{id}/ideas", web::get().to(participation::list_ideas))
            .route("/ideas/{id}", web::get().to(participation::get_idea))
            .route("/ideas/{id}", web::patch().to(participation::patch_idea))
            .route(
                "/ideas/{id}/comments",
                web::post().to(participation::create_comment),
            )
            .route(
                "/ideas/{id}/comments",
                web::get().to(participation::list_comments),
            )
            .route("/ideas/{id}/vote", web::put().to(participation::vote)),
    );
}

/// Registers `/healthz`, `/readyz`, `/metrics`.
pub fn operations(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics));
}
