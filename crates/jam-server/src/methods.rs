//! HTTP methods the way RFC 9110 wants them: every `GET` route answers `HEAD` too (actix-http
//! sends the headers and drops the body), and a known path asked with a method it does not serve
//! gets 405 with `Allow` rather than 404. The route table (`routes`) registers its routes through
//! the verbs here; the fallbacks (the API scope's default service, the app's, the web app's
//! catch-all) answer through [`not_routed`].

use std::sync::OnceLock;

use actix_web::dev::ResourceDef;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Route, guard, web};
use jam_protocol::problem::Problem;

use crate::error::problem_response;

/// `GET`, and `HEAD` for the same handler.
pub fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

pub fn post() -> Route {
    web::post()
}

pub fn put() -> Route {
    web::put()
}

pub fn patch() -> Route {
    web::patch()
}

pub fn delete() -> Route {
    web::delete()
}

/// Every path jamd serves, with the methods it serves there, as `Allow` lists them.
struct Known(Vec<(ResourceDef, Vec<&'static str>)>);

impl Known {
    fn build() -> Self {
        let mut known: Vec<(ResourceDef, Vec<&'static str>)> = Vec::new();
        let mut add = |path: String, method: &'static str| {
            let methods: &[&'static str] = match method {
                "get" => &["GET", "HEAD"],
                "post" => &["POST"],
                "put" => &["PUT"],
                "patch" => &["PATCH"],
                "delete" => &["DELETE"],
                _ => &[],
            };
            match known
                .iter_mut()
                .find(|(def, _)| def.pattern() == Some(path.as_str()))
            {
                Some((_, allowed)) => allowed.extend_from_slice(methods),
                None => known.push((ResourceDef::new(path), methods.to_vec())),
            }
        };
        for route in crate::routes::docs() {
            add(format!("/api/v1{}", route.path), route.method);
        }
        add("/api/v1/openapi.json".into(), "get");
        for path in crate::routes::OPERATIONS {
            add((*path).into(), "get");
        }
        for page in crate::web_app::PAGES {
            add((*page).into(), "get");
        }
        Known(known)
    }

    fn allowed(&self, path: &str) -> Option<&[&'static str]> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

fn known() -> &'static Known {
    static KNOWN: OnceLock<Known> = OnceLock::new();
    KNOWN.get_or_init(Known::build)
}

/// What a request no route took gets: 405 with `Allow` when its path is served with other
/// methods, else 404.
pub async fn not_routed(req: HttpRequest) -> HttpResponse {
    match known().allowed(req.path()) {
        Some(allowed) => method_not_allowed(req.method().as_str(), allowed),
        None => not_found(),
    }
}

/// 405 naming the methods the path takes.
pub fn method_not_allowed(method: &str, allowed: &[&str]) -> HttpResponse {
    let allow = allowed.join(", ");
    let problem = Problem {
        kind: "about:blank".into(),
        title: "Method not allowed".into(),
        status: 405,
        detail: format!("{method} is not served here; use {allow}"),
        errors: Vec::new(),
    };
    let mut response = problem_response(StatusCode::METHOD_NOT_ALLOWED, &problem, None);
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// 404 as problem+json.
pub fn not_found() -> HttpResponse {
    let problem = Problem {
        kind: "about:blank".into(),
        title: "Not found".into(),
        status: 404,
        detail: "no such route".into(),
        errors: Vec::new(),
    };
    problem_response(StatusCode::NOT_FOUND, &problem, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_lists_its_methods_and_an_unknown_one_none() {
        let known = known();
        assert_eq!(known.allowed("/api/v1/ideas/abc/vote"), Some(&["PUT"][..]));
        let jam = known.allowed("/api/v1/jams/some-jam").unwrap_or_default();
        assert!(jam.contains(&"GET") && jam.contains(&"HEAD") && jam.contains(&"PATCH"));
        assert_eq!(known.allowed("/healthz"), Some(&["GET", "HEAD"][..]));
        assert_eq!(known.allowed("/"), Some(&["GET", "HEAD"][..]));
        assert_eq!(known.allowed("/api/v1/nothing-here"), None);
    }
}
