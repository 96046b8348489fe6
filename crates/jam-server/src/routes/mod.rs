//! The route table: every route of `shared/spec/api.md`, declared once. The same declaration
//! registers the route with actix-web and documents it in the OpenAPI document, so no route can be
//! served undocumented. Each handler checks the roles it admits (the `Caller` extractor and its
//! `require_*` methods); `who` here says the same in words, and the authorization-matrix test
//! holds both to the spec.

use actix_web::web;
use jam_protocol::api::*;

use crate::openapi::{RouteDoc, page, schema};

mod access;
pub mod auth;
pub mod fairness;
pub mod inbox;
pub mod invites;
pub mod jams;
pub mod moderation;
pub mod mood;
pub mod oidc;
pub mod ops;
pub mod participation;
pub mod people;
pub mod polls;
pub mod results;
pub mod search;
pub mod themes;

/// `METHOD "path" => handler, status, "summary", "who" [, query [..]] [, req Type] [, res Type | , page Item];`
/// Query entries may carry their schema (`q?`, `sort=a|b`, `limit=1..20`, `from=time`: see `openapi::query_param`).
macro_rules! api_routes {
    ($( $method:ident $path:literal => $handler:path, $status:literal, $summary:literal, $who:literal
        $(, query [$($q:literal),*])? $(, req $req:ty)? $(, res $res:ty)? $(, page $page:ty)? ; )*) => {
        /// Registers `/api/v1/...`.
        pub fn api(cfg: &mut web::ServiceConfig) {
            cfg.service(
                web::scope("/api/v1")
                    $( .route($path, crate::methods::$method().to($handler)) )*
                    .route("/openapi.json", crate::methods::get().to(openapi_json))
                    // A known path with another method: 405 with Allow; else 404.
                    .default_service(web::to(crate::methods::not_routed)),
            );
        }

        /// The documentation of every route `api` registers.
        pub fn docs() -> Vec<RouteDoc> {
            vec![$(RouteDoc {
                method: stringify!($method),
                path: $path,
                summary: $summary,
                who: $who,
                status: $status,
                query: &[$($($q),*)?],
                request: None $( .or(Some(schema::<$req>)) )?,
                response: None $( .or(Some(schema::<$res>)) )? $( .or(Some(page::<$page>)) )?,
            }),*]
        }
    };
}

api_routes! {
    post "/auth/login" => auth::login, 200, "Staff sign-in; sets the session cookie", "anyone", req LoginRequest, res Me;
    post "/auth/logout" => auth::logout, 204, "Ends the sign-in; its live connections close with 4001 on every node", "signed in";
    get "/me" => auth::me, 200, "Who is signed in", "signed in", res Me;
    get "/auth/oidc" => oidc::options, 200, "Which sign-ins this deployment offers (organisation sign-in for participants and staff, staff passwords)", "anyone", res SignInOptions;
    get "/auth/oidc/start" => oidc::start, 303, "Starts a sign-in with the organisation's OpenID provider (code flow with PKCE); without `jam`, a staff sign-in", "anyone", query ["jam", "audience"];
    get "/auth/oidc/callback" => oidc::callback, 303, "Back from the provider: checks state, nonce and ID token, signs in (one participant per jam and identity), sets the cookie and redirects to the jam or the console", "anyone", query ["code", "state"];
    post "/staff" => auth::create_staff, 201, "Creates a staff account", "admin", req CreateStaffRequest, res StaffView;
    get "/staff" => people::list_staff, 200, "Lists staff accounts: role, disabled, created, last sign-in", "admin", page StaffAccountView;
    patch "/staff/{id}" => people::patch_staff, 200, "Changes an account's role or disables it (audited); either ends its sign-ins everywhere (401, live sockets 4001); the last active admin stays (409)", "admin", req PatchStaffRequest, res StaffAccountView;
    post "/staff/{id}/password" => people::change_password, 200, "Changes a password (the account itself, with its current one) or resets it (an admin); ends the account's other sign-ins (audited)", "the account itself; admin", req PasswordRequest, res PasswordChanged;

    post "/jams" => jams::create_jam, 201, "Creates a jam (draft); missing invite codes are generated", "facilitator, admin", req CreateJamRequest, res JamView;
    get "/jams" => jams::list_jams, 200, "Lists jams", "staff", page JamView;
    get "/jams/{slug}" => jams::get_jam, 200, "A jam with its state, sessions and the server's now", "staff; participants of that jam", res JamView;
    patch "/jams/{slug}" => jams::patch_jam, 200, "Edits texts and schedule (ends_at to extend)", "facilitator, admin", req PatchJamRequest, res JamView;
    post "/jams/{slug}/schedule" => jams::schedule_jam, 200, "draft → scheduled", "facilitator, admin", res JamView;
    post "/jams/{slug}/close" => jams::close_jam, 200, "Closes the jam now", "facilitator, admin", res JamView;
    post "/jams/{slug}/sessions" => jams::create_session, 201, "Adds a session", "facilitator, admin", req CreateSessionRequest, res SessionView;
    patch "/jams/{slug}/sessions/{id}" => jams::patch_session, 200, "Edits a session", "facilitator, admin", req PatchSessionRequest, res SessionView;
    post "/jams/{slug}/sessions/{id}/open" => jams::open_session, 200, "Opens a session now (audited)", "facilitator, admin", res SessionView;
    post "/jams/{slug}/sessions/{id}/close" => jams::close_session, 200, "Closes a session now (audited)", "facilitator, admin", res SessionView;
    post "/jams/{slug}/announcements" => jams::announce, 201, "Pushes an announcement live to everyone in the jam", "facilitator, admin", req AnnouncementRequest, res AnnouncementView;
    get "/jams/{slug}/announcements" => jams::list_announcements, 200, "The announcements sent so far, newest first", "staff; participants of that jam", query ["cursor", "limit"], page AnnouncementView;
    get "/jams/{slug}/audit" => jams::audit_log, 200, "Who did what, when (oldest first)", "facilitator, admin", query ["cursor", "limit"], page AuditEntry;
    get "/jams/{slug}/participants" => people::list_participants, 200, "Participants with audience, join time, activity counts and joins from the same address; q filters by name", "staff", query ["q?", "cursor", "limit"], page ParticipantView;
    post "/jams/{slug}/participants/{id}/void" => people::void_participant, 200, "Voids a participant (audited, idempotent): votes and flags removed with counts and tallies recomputed, what their flags hid shown again, their posts hidden pending review, sign-ins ended; a published shortlist stays frozen", "facilitator, admin", req VoidRequest, res VoidResult;
    patch "/jams/{slug}/audiences/{audience}" => invites::patch_audience, 200, "Sets how the audience admits participants: code, invite or sso (audited); until the jam closes", "facilitator, admin", req PatchAudienceRequest, res AudienceView;
    post "/jams/{slug}/audiences/{audience}/rotate-code" => invites::rotate_code, 200, "Replaces the audience's shared code (audited); the old one stops admitting at once, on every node", "facilitator, admin", res RotatedCode;
    post "/jams/{slug}/audiences/{audience}/invites" => invites::issue_invites, 201, "Issues one-time personal invites, count or one per e-mail address (e-mailed when SMTP is configured); answers the links as CSV (email,link), shown only this once", "facilitator, admin", req IssueInvitesRequest;
    get "/jams/{slug}/audiences/{audience}/invites" => invites::list_invites, 200, "The audience's invites: used, unused, revoked, e-mail and its sending status; never the tokens", "facilitator, admin", res InviteList;
    post "/jams/{slug}/audiences/{audience}/invites/{id}/revoke" => invites::revoke_invite, 200, "Revokes an unused invite (audited); a used one is 409", "facilitator, admin", res InviteView;
    get "/jams/{slug}/stats" => jams::stats, 200, "Participants, online now, ideas, comments, votes; addresses that hit the join cap (join_caps_hit)", "staff";

    get "/jams/{slug}/welcome" => participation::welcome, 200, "What a visitor needs before joining; rate-limited per address and jam", "anyone with a valid code or personal invite", query ["code", "invite"], res WelcomeView;
    post "/jams/{slug}/join" => participation::join, 201, "Becomes a participant (audience from the code); sets the cookie. A browser signed in to the jam gets its participant back (200); new participants per address and day are capped (429)", "anyone", req JoinRequest, res Me;
    get "/jams/{slug}/search" => search::search, 200, "Ideas matching every word (English and French stems, accents folded) in title, body or tags, by relevance or newest; facets session, tag, audience, and status for staff; participants get visible ideas only; at most search.max_words words; rate-limited per caller", "members", query ["q", "session", "tag", "audience", "status=visible|hidden|removed|merged", "sort=relevance|new", "cursor", "limit"], page IdeaView;
    get "/jams/{slug}/duplicates" => search::duplicates, 200, "Likely duplicate pairs among the jam's newest visible ideas (search.duplicates_recent), best first", "facilitator, admin", page DuplicatePair;
    get "/sessions/{id}/tags" => search::session_tags, 200, "The session's most used tags on visible ideas, with counts, most used first", "members", query ["limit"], page TagCount;
    get "/sessions/{id}/similar" => search::similar, 200, "Up to search.similar_max visible ideas of the session like this title and body, with a score in [0, 1]; rate-limited per caller", "members", query ["title", "body", "except"], page SimilarIdea;
    post "/sessions/{id}/ideas" => participation::create_idea, 201, "Posts an idea", "participant (session open)", req CreateIdeaRequest, res IdeaView;
    get "/sessions/{id}/ideas" => participation::list_ideas, 200, "A page of ideas with counts and the caller's own vote; sort hot, top, new or discover (not yet seen by the caller first, then least seen, in a shuffle stable per participant); where the jam hides counts until one votes, a participant's hot and top are newest first and unvoted ideas carry counts_hidden", "members", query ["sort=hot|top|new|discover", "cursor", "limit"], page IdeaView;
    get "/ideas/{id}" => participation::get_idea, 200, "An idea with counts", "members", res IdeaView;
    patch "/ideas/{id}" => participation::patch_idea, 200, "Edits an idea within the edit window", "its author (session open)", req PatchIdeaRequest, res IdeaView;
    post "/ideas/{id}/comments" => participation::create_comment, 201, "Replies in the idea's thread", "participant (session open)", req CreateCommentRequest, res CommentView;
    get "/ideas/{id}/comments" => participation::list_comments, 200, "The thread, oldest first", "members", query ["cursor", "limit"], page CommentView;
    post "/jams/{slug}/impressions" => fairness::report_impressions, 200, "Reports ideas the participant saw (at least half visible for at least 1 s), stored once per participant and idea; at most impressions.max_ids ids (422 beyond); ids that are no idea of this jam are dropped and counted as ignored; while the jam is live (409 otherwise)", "participant", req ImpressionsRequest, res ImpressionsResult;
    put "/ideas/{id}/vote" => participation::vote, 200, "Votes 1 or -1, or 0 to retract; idempotent", "participant (session open)", req VoteRequest, res VoteResult;

    post "/ideas/{id}/flags" => moderation::flag_idea, 201, "Flags an idea; hides it at the threshold", "participant", req FlagRequest, res FlagView;
    post "/comments/{id}/flags" => moderation::flag_comment, 201, "Flags a comment; hides it at the threshold", "participant", req FlagRequest, res FlagView;
    get "/jams/{slug}/moderation" => moderation::queue, 200, "The queue of flagged items", "facilitator, admin", query ["cursor", "limit"], page ModerationItem;
    post "/ideas/{id}/hide" => moderation::hide_idea, 200, "Hides an idea (audited)", "facilitator, admin", res IdeaView;
    post "/ideas/{id}/restore" => moderation::restore_idea, 200, "Restores an idea (audited)", "facilitator, admin", res IdeaView;
    post "/ideas/{id}/remove" => moderation::remove_idea, 200, "Removes an idea (audited)", "facilitator, admin", res IdeaView;
    post "/ideas/{id}/merge" => moderation::merge, 200, "Merges a duplicate; votes carry over once per voter", "facilitator, admin", req MergeRequest, res MergeResult;
    post "/comments/{id}/hide" => moderation::hide_comment, 200, "Hides a comment (audited)", "facilitator, admin", res CommentView;
    post "/comments/{id}/restore" => moderation::restore_comment, 200, "Restores a comment (audited)", "facilitator, admin", res CommentView;
    post "/comments/{id}/remove" => moderation::remove_comment, 200, "Removes a comment (audited)", "facilitator, admin", res CommentView;

    get "/jams/{slug}/shortlist" => results::shortlist, 200, "The top N: a live draft, or the frozen snapshot once published", "staff; participants of that jam once published", res ShortlistView;
    post "/jams/{slug}/shortlist/curate" => results::curate, 200, "Excludes ideas (with reasons), pins or clears them (audited)", "facilitator, admin", req CurateRequest, res CurationView;
    post "/jams/{slug}/shortlist/publish" => results::publish, 200, "Freezes the shortlist of a closed jam with its digest (audited)", "facilitator, admin", res ShortlistView;
    get "/jams/{slug}/results.csv" => results::results_csv, 200, "Every visible idea ranked, per audience, with method and digest (RFC 4180, UTF-8)", "executive, facilitator, admin";
    get "/jams/{slug}/results.xlsx" => results::results_xlsx, 200, "The results as a workbook: shortlist with chart, all ideas, by audience, method", "executive, facilitator, admin";
    get "/jams/{slug}/results.json" => results::results_json, 200, "The results as one JSON document", "executive, facilitator, admin";
    get "/jams/{slug}/themes" => themes::list_themes, 200, "The jam's themes from its latest clustering run (stable ids, 3–5 label terms, size, run time), hottest first: hot score 3 × ideas + 2 × comments + 1 × votes in the last pulse.hot_window_minutes, and its trend against the window before", "members", res ThemesView;
    get "/jams/{slug}/themes/{theme_id}/ideas" => themes::theme_ideas, 200, "The theme's ideas, newest first; participants get visible ideas only", "members", query ["cursor", "limit"], page IdeaView;
    get "/jams/{slug}/mood" => mood::mood, 200, "The mood series: posts (ideas and comments) per sentiment label per bucket, the negative-mood alert, and the most negative and most positive visible ideas of the window from..to", "executive, facilitator, admin", query ["bucket_minutes=1..1440", "session", "from=time", "to=time", "limit=1..20"], res MoodView;

    get "/me/notifications" => inbox::notifications, 200, "The caller's inbox, newest first: replies to their ideas and comments, mentions, activity on ideas they follow, decisions on their ideas, and the jam's announcements; with the unread count", "participant", query ["cursor", "limit"], res InboxView;
    post "/me/notifications/read" => inbox::mark_read, 200, "Marks every inbox entry up to up_to (an entry's id), or everything so far, read; answers the unread count", "participant", req MarkReadRequest, res UnreadView;
    put "/ideas/{id}/follow" => inbox::follow, 200, "Follows an idea: its new comments reach the caller's inbox (an author follows their own idea from the start)", "participant of that jam", res FollowView;
    delete "/ideas/{id}/follow" => inbox::unfollow, 200, "Stops following an idea", "participant of that jam", res FollowView;
    get "/jams/{slug}/mentions" => inbox::mentions, 200, "The @name picker: up to 8 of the jam's participants whose display name starts with q", "members", query ["q?"], page MentionCandidate;

    post "/sessions/{id}/polls" => polls::create, 201, "Asks the session a quick poll: a question, 2 to 6 options, open until closes_at; pushed live (poll.created)", "facilitator, admin", req CreatePollRequest, res PollView;
    get "/sessions/{id}/polls" => polls::list, 200, "The session's polls, newest first, with results and the caller's own answer", "members", page PollView;
    post "/polls/{id}/answer" => polls::answer, 200, "Answers a poll once while it is open (by the server's clock); the results go out live (poll.updated)", "participant of that jam", req AnswerPollRequest, res PollView;

    get "/live" => crate::live::connect, 101, "Upgrades to the live protocol (WebSocket, shared/spec/live.md); Origin must be the public origin", "signed in";
}

async fn openapi_json() -> actix_web::HttpResponse {
    // Built per request: it is small, rarely fetched, and always matches the running table.
    actix_web::HttpResponse::Ok().json(crate::openapi::document(&docs()))
}

/// The operations endpoints' paths (each `GET` and `HEAD`).
pub const OPERATIONS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Registers `/healthz`, `/readyz`, `/metrics`.
pub fn operations(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", crate::methods::get().to(ops::healthz))
        .route("/readyz", crate::methods::get().to(ops::readyz))
        .route("/metrics", crate::methods::get().to(ops::metrics));
}
