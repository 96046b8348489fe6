//! The OpenJam server: the actix-web application and the `jamd` command line.
//!
//! Layout:
//! - `cli`: `jamd serve | migrate | admin create`.
//! - `settings`: typed, layered configuration (`config/`, `JAM__SECTION__KEY`).
//! - `startup`: builds the app from settings; binds; runs until SIGINT/SIGTERM.
//! - `state`: what handlers share (database, broker, clock, metrics, runner handle).
//! - `routes`: one handler per endpoint of `docs/api.md`, plus operations endpoints.
//! - `live`: `GET /api/v1/live`, handing sockets to the hub, and the hub's database authorizer.
//! - `auth`: sign-in cookies, the `Caller` extractor, argon2id passwords.
//! - `oidc`: OpenID Connect sign-in against one provider (discovery, PKCE, ID token checks) and the
//!   claim mappings to audiences and staff roles.
//! - `signins`: the node's cache of sign-ins, dropped cluster-wide on sign-out through the broker.
//! - `purge`: expired sign-ins deleted periodically by one node under a broker lease.
//! - `extract`: strict JSON bodies with problem+json errors (and a deadline to arrive).
//! - `guard`: connections per address, cross-site refusals, security headers, answer counts.
//! - `hashing`: argon2id on a pool of its own, 503 when full.
//! - `error`: `ApiError`, one explicit status per variant.
//! - `validate`: collects every invalid field of a request for one 422.
//! - `views`: database rows to wire views.
//! - `web_app`: the static browser app with its Content-Security-Policy.
//! - `openapi`: the OpenAPI 3.1 document, built from the route table.
//! - `methods`: `HEAD` for every `GET`, 405 with `Allow` for a known path's other methods.
//! - `mood_alert`: the negative-mood alert, evaluated per server-clock minute by one node under a
//!   broker lease.
//! - `themes_job`: the periodic re-clustering of each jam's ideas into themes with stable ids, by
//!   one node under a broker lease.
//! - `rate_limit`: per-node request limits (429 with Retry-After).
//! - `clock`, `metrics`, `telemetry`: time source, Prometheus counters, logging.

pub mod auth;
pub mod cli;
pub mod client_addr;
pub mod clock;
pub mod error;
pub mod extract;
pub mod guard;
pub mod hashing;
pub mod live;
pub mod login_backoff;
pub mod mail;
pub mod methods;
pub mod metrics;
pub mod mood_alert;
pub mod oidc;
pub mod openapi;
pub mod purge;
pub mod rate_limit;
pub mod routes;
pub mod settings;
pub mod signins;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod themes_job;
pub mod validate;
pub mod views;
pub mod web_app;
