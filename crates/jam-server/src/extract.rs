//! Request extractors that fail with problem+json: a JSON body that must be `application/json`,
//! within the body limit, well-formed (400) and of the right shape (422 naming the field).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use jam_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON request body, parsed strictly.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(64 * 1024, |s| s.settings.limits.max_body_bytes);
        let timeout_secs = req
            .app_data::<web::Data<AppState>>()
            .map_or(10, |s| s.settings.server.body_timeout_secs);
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        let declared_too_large = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > limit);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_too_large {
                return Err(ApiError::TooLarge { limit });
            }
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as application/json".into(),
                ));
            }
            // A client that trickles its body holds a connection and a buffer: it gets this long.
            let read = async {
                let mut body = web::BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    let chunk =
                        chunk.map_err(|e| ApiError::Malformed(format!("could not read the body: {e}")))?;
                    if body.len() + chunk.len() > limit {
                        return Err(ApiError::TooLarge { limit });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            let body = tokio::time::timeout(std::time::Duration::from_secs(timeout_secs), read)
                .await
                .map_err(|_| ApiError::BodyTimeout { secs: timeout_secs })??;
            parse_json(&body).map(ApiJson)
        })
    }
}

/// Parses JSON: syntax errors (including invalid UTF-8) are 400, shape errors 422 with the path.
/// A number with a zero fraction (`2.0`) counts as the integer it equals, as JSON Schema's
/// `integer` (and so the OpenAPI document) says: `{"value": -1.0}` is a vote of -1.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Trailing bytes after the value are malformed too (`from_slice` checks).
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| classify(e, "body".to_owned()))?;
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        classify(
            err.into_inner(),
            if path == "." { "body".to_owned() } else { path },
        )
    })
}

/// Largest integer a float holds exactly (2^53).
const EXACT_FLOAT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Rewrites every float with a zero fraction, within the range floats hold exactly, as an integer.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
                && f.abs() <= EXACT_FLOAT_INTEGER
            {
                // Exact by the range check above.
                #[allow(clippy::cast_possible_truncation)]
                let integer = f as i64;
                *n = integer.into();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

fn classify(err: serde_json::Error, field: String) -> ApiError {
    match err.classify() {
        serde_json::error::Category::Data => {
            ApiError::Invalid(vec![FieldError::new(field, strip_position(&err.to_string()))])
        }
        _ => ApiError::Malformed(format!("malformed JSON: {err}")),
    }
}

/// serde_json appends " at line 1 column 42"; the field path says more.
fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn status(r: Result<Body, ApiError>) -> (u16, String) {
        use actix_web::ResponseError;
        let e = r.unwrap_err();
        let field = match &e {
            ApiError::Invalid(v) => v[0].field.clone(),
            _ => String::new(),
        };
        (e.status_code().as_u16(), field)
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_422_with_the_field_path() {
        assert_eq!(status(parse_json(b"{\"name\": ")).0, 400);
        assert_eq!(status(parse_json(b"\xff\xfe")).0, 400);
        assert_eq!(
            status(parse_json(b"{\"name\":\"a\",\"inner\":{\"count\":1}} trailing")).0,
            400
        );
        assert_eq!(
            status(parse_json(br#"{"name":"a","inner":{"count":"x"}}"#)),
            (422, "inner.count".into())
        );
        assert_eq!(
            status(parse_json(br#"{"name":"a","inner":{"count":-1}}"#)),
            (422, "inner.count".into())
        );
        assert_eq!(
            status(parse_json(br#"{"name":"a","inner":{"count":1},"extra":1}"#)).0,
            422
        );
        assert_eq!(status(parse_json(br#"{"inner":{"count":1}}"#)).0, 422);
        assert!(parse_json::<Body>(br#"{"name":"a","inner":{"count":1}}"#).is_ok());
    }

    /// JSON Schema's `integer` admits `3.0`; so does the server, and nothing with a fraction.
    #[test]
    fn an_integer_written_with_a_zero_fraction_is_that_integer() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Numbers {
            count: u32,
            value: i16,
            ratio: f64,
        }
        let parsed: Numbers = parse_json(br#"{"count": 1000001.0, "value": -1.0, "ratio": 2.0}"#).unwrap();
        assert_eq!(
            parsed,
            Numbers {
                count: 1_000_001,
                value: -1,
                ratio: 2.0
            }
        );
        assert_eq!(
            status(parse_json(br#"{"name":"a","inner":{"count":1.5}}"#)),
            (422, "inner.count".into())
        );
        assert_eq!(
            status(parse_json(br#"{"name":"a","inner":{"count":1e300}}"#)),
            (422, "inner.count".into())
        );
    }
}
