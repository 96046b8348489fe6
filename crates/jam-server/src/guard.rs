//! What every request passes through before its route, and every answer on its way out:
//! - connections: per client address, a cap on open connections and a rate of new ones
//!   ([`Connections`], counted when a connection opens, enforced on its first request);
//! - cross-site requests: a state-changing request that carries the session cookie must come from
//!   the public origin (`Origin`) or say it is same-origin (`Sec-Fetch-Site`), else 403;
//! - headers: `Referrer-Policy` everywhere, HSTS over https, `nosniff` and `no-store` on the API
//!   (invite codes, results and `/me` must not sit in a shared cache);
//! - operations: `/metrics` answers on the operations listener (`server.ops_bind`), to loopback
//!   clients, or with the bearer token `server.metrics_token`; to anyone else it does not exist (404).
//!   The operations listener serves nothing else;
//! - counting answers by class for `/metrics`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;
use jam_protocol::Problem;

use crate::error::problem_response;
use crate::metrics::Metrics;
use crate::rate_limit::{Action, Rate, RateLimiter};
use crate::settings::Settings;
use crate::state::AppState;

/// The operations listener's address (`server.ops_bind`), if there is one.
pub struct OpsListener(pub Option<SocketAddr>);

/// Whether this request may read `/metrics` on the public listener.
fn metrics_allowed(req: &ServiceRequest, state: &AppState) -> bool {
    let token = state.settings.server.metrics_token.expose();
    if !token.is_empty()
        && let Some(given) = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    {
        // Compared in full whatever differs first, so timing does not spell the token out.
        let same = given.len() == token.len()
            && given
                .iter()
                .zip(token.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            return true;
        }
    }
    crate::client_addr::client_ip(req.request())
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Open connections by client address, and the rate of new ones. Shared by every worker.
pub struct Connections {
    cap: usize,
    rate: Rate,
    trusted: crate::client_addr::TrustedProxies,
    /// Open connections per peer address. Held only to bump or drop one count.
    open: Mutex<HashMap<IpAddr, usize>>,
    limiter: Arc<RateLimiter>,
    clock: Arc<dyn jam_domain::Clock>,
}

/// Lives in a connection's extensions from accept to close; its drop gives the slot back.
struct Slot {
    connections: Arc<Connections>,
    peer: IpAddr,
    /// Why requests on this connection are refused, if they are.
    refused: Option<Refusal>,
}

#[derive(Clone, Copy)]
enum Refusal {
    TooMany,
    TooFast(u64),
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

impl Connections {
    pub fn new(
        settings: &Settings,
        limiter: Arc<RateLimiter>,
        clock: Arc<dyn jam_domain::Clock>,
    ) -> Arc<Self> {
        Arc::new(Self {
            cap: settings.server.max_connections_per_address,
            rate: settings.rate_limits.connections,
            trusted: settings.server.trusted_proxies.clone(),
            open: Mutex::default(),
            limiter,
            clock,
        })
    }

    /// Counts a connection in (the server's `on_connect`); a trusted proxy is not limited here.
    pub fn opened(self: &Arc<Self>, peer: IpAddr, extensions: &mut Extensions) {
        let peer = peer.to_canonical();
        if self.trusted.client(peer, &[]) != peer {
            return;
        }
        let refused = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let n = open.entry(peer).or_insert(0);
            *n += 1;
            (self.cap > 0 && *n > self.cap).then_some(Refusal::TooMany)
        };
        let key = crate::client_addr::address_key(&peer.to_string());
        let refused = refused.or_else(|| {
            self.limiter
                .check(Action::Connect, &key, self.rate, self.clock.now())
                .err()
                .map(Refusal::TooFast)
        });
        extensions.insert(Slot {
            connections: self.clone(),
            peer,
            refused,
        });
    }
}

fn problem(
    status: StatusCode,
    title: &str,
    detail: &str,
    retry_after: Option<u64>,
) -> actix_web::HttpResponse {
    let problem = Problem {
        kind: "about:blank".into(),
        title: title.into(),
        status: status.as_u16(),
        detail: detail.into(),
        errors: Vec::new(),
    };
    problem_response(status, &problem, retry_after)
}

/// Why a state-changing request is refused as cross-site, if it is.
fn cross_site(req: &ServiceRequest, state: &AppState) -> Option<&'static str> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        return (origin.as_bytes() != state.settings.server.public_origin.as_bytes())
            .then_some("requests from this origin are not allowed");
    }
    let signed_in = req.cookie(&state.settings.auth.cookie_name).is_some();
    let same_origin = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin");
    (signed_in && !same_origin).then_some(
        "a signed-in request that changes something must carry Origin or Sec-Fetch-Site: same-origin",
    )
}

/// The middleware (see the module documentation).
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let refused = req.conn_data::<Slot>().and_then(|slot| slot.refused);
    let on_ops = req
        .app_data::<web::Data<OpsListener>>()
        .and_then(|ops| ops.0)
        .is_some_and(|addr| req.app_config().local_addr() == addr);
    let hidden = if on_ops {
        !crate::routes::OPERATIONS.contains(&req.path())
    } else {
        req.path() == "/metrics" && !metrics_allowed(&req, &state)
    };
    let early = match refused {
        Some(Refusal::TooMany) => Some(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            "too many open connections from this address",
            Some(1),
        )),
        Some(Refusal::TooFast(secs)) => Some(problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Rate limited",
            "too many new connections from this address",
            Some(secs),
        )),
        None if hidden => Some(crate::methods::not_found()),
        None => cross_site(&req, &state).map(|why| problem(StatusCode::FORBIDDEN, "Not allowed", why, None)),
    };
    let mut response = match early {
        Some(mut response) => {
            if refused.is_some() {
                // Closing the connection gives its slot back; the body, if any, is never read.
                response
                    .head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
            }
            req.into_response(response).map_into_right_body()
        }
        None => next.call(req).await?.map_into_left_body(),
    };
    let api = response.request().path().starts_with("/api/v1/");
    let headers = response.headers_mut();
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    if state.settings.server.public_origin.starts_with("https://") {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if api {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Metrics::inc(&state.metrics.http_requests);
    let status = response.status();
    if status.is_server_error() {
        Metrics::inc(&state.metrics.http_errors_5xx);
    } else if status.is_client_error() {
        Metrics::inc(&state.metrics.http_errors_4xx);
    }
    Ok(response)
}
