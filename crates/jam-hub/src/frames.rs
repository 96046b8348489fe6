//! The wire: client requests parsed from text, server frames built as shared UTF-8 text.
//!
//! Server frames are `ByteString`s (reference-counted, already known to be UTF-8): an event is built
//! once per node and every recipient's queue holds a clone of the same bytes, and the writer hands them
//! to actix-ws without copying or re-validating.

use std::fmt::Write as _;

use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest text frame the writer builds by coalescing (a single larger frame is still sent whole).
/// Keeps coalesced frames within the default limits of common clients (64 KiB in awc, for example).
pub(crate) const MAX_BATCH_BYTES: usize = 64 * 1024;

/// A request from the client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum Request {
    Subscribe {
        topic: String,
        #[serde(default)]
        since: Option<u64>,
        #[serde(default)]
        epoch: Option<String>,
    },
    Unsubscribe {
        topic: String,
    },
    Ping {
        #[serde(default)]
        id: Option<Value>,
    },
}

/// Why a request could not be understood. Both answer with an `error` frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BadRequest {
    /// Not JSON, not an object, no string `type`, or fields of the wrong shape.
    Malformed(String),
    /// A well-formed object with a `type` this server does not know.
    UnknownType(String),
}

const KNOWN_TYPES: [&str; 3] = ["subscribe", "unsubscribe", "ping"];

impl Request {
    pub(crate) fn parse(text: &str) -> Result<Request, BadRequest> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| BadRequest::Malformed(format!("not JSON: {e}")))?;
        let Some(kind) = value.get("type").and_then(Value::as_str) else {
            return Err(BadRequest::Malformed(
                "expected an object with a string `type`".to_owned(),
            ));
        };
        if !KNOWN_TYPES.contains(&kind) {
            let mut shown = kind.to_owned();
            truncate(&mut shown, 64);
            return Err(BadRequest::UnknownType(shown));
        }
        serde_json::from_value(value).map_err(|e| BadRequest::Malformed(e.to_string()))
    }
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// Frames the server builds per connection (replies). Events and tallies are built by hand below,
/// because their payload is already-serialized JSON from the broker.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum Reply<'a> {
    Subscribed {
        topic: &'a str,
        offset: u64,
        epoch: &'a str,
    },
    Resync {
        topic: &'a str,
        reason: &'a str,
    },
    Presence {
        topic: &'a str,
        online: u64,
    },
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<&'a str>,
    },
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a Value>,
    },
}

impl Reply<'_> {
    pub(crate) fn to_text(&self) -> ByteString {
        match serde_json::to_string(self) {
            Ok(text) => ByteString::from(text),
            // Unreachable in practice: every field is a string, a number or a `Value`, all of which
            // serialize. Still, never panic on the wire path.
            Err(e) => {
                tracing::error!(error = %e, "could not serialize a reply");
                ByteString::from_static(
                    r#"{"type":"error","code":"internal","message":"could not serialize a reply"}"#,
                )
            }
        }
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `{"type":"event","topic":T,"offset":N,"event":<payload>}`. `None` when the payload is not UTF-8
/// (publishers serialize JSON, so that would be a bug upstream; the event is dropped and logged).
pub(crate) fn event_frame(topic: &str, offset: u64, payload: &[u8]) -> Option<ByteString> {
    let payload = std::str::from_utf8(payload).ok()?;
    let mut out = String::with_capacity(payload.len() + topic.len() + 56);
    out.push_str(r#"{"type":"event","topic":"#);
    push_json_str(&mut out, topic);
    let _ = write!(out, r#","offset":{offset},"event":"#);
    out.push_str(payload);
    out.push('}');
    Some(ByteString::from(out))
}

/// `{"type":"tally","topic":T,...}` with the members of the tally service's object payload
/// (`{"ideas":[...]}`) spliced in, without parsing it. `None` unless the payload is a UTF-8 object.
pub(crate) fn tally_frame(topic: &str, payload: &[u8]) -> Option<ByteString> {
    let payload = std::str::from_utf8(payload).ok()?;
    let members = payload.trim().strip_prefix('{')?.trim_start();
    let mut out = String::with_capacity(payload.len() + topic.len() + 32);
    out.push_str(r#"{"type":"tally","topic":"#);
    push_json_str(&mut out, topic);
    if !members.starts_with('}') {
        out.push(',');
    }
    out.push_str(members);
    Some(ByteString::from(out))
}

/// Joins frames into one JSON array. A frame that is itself an array (a replay chunk) contributes its
/// elements, so arrays never nest.
pub(crate) fn join(frames: &[ByteString]) -> ByteString {
    let len: usize = frames.iter().map(|f| f.len() + 1).sum();
    let mut out = String::with_capacity(len + 1);
    out.push('[');
    for frame in frames {
        let inner: &str = frame;
        let inner = match inner.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(elements) => elements,
            None => inner,
        };
        if inner.is_empty() {
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(inner);
    }
    out.push(']');
    ByteString::from(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn requests_parse_with_optional_fields() {
        assert_eq!(
            Request::parse(r#"{"type":"subscribe","topic":"jam:x","since":4,"epoch":"e"}"#),
            Ok(Request::Subscribe {
                topic: "jam:x".into(),
                since: Some(4),
                epoch: Some("e".into())
            })
        );
        assert_eq!(
            Request::parse(r#"{"type":"ping","extra":true}"#),
            Ok(Request::Ping { id: None })
        );
    }

    #[test]
    fn unknown_types_are_told_apart_from_malformed_requests() {
        assert!(matches!(Request::parse("{"), Err(BadRequest::Malformed(_))));
        assert!(matches!(Request::parse("[1]"), Err(BadRequest::Malformed(_))));
        assert!(matches!(
            Request::parse(r#"{"type":"subscribe"}"#),
            Err(BadRequest::Malformed(_))
        ));
        assert_eq!(
            Request::parse(r#"{"type":"dance"}"#),
            Err(BadRequest::UnknownType("dance".into()))
        );
    }

    #[test]
    fn an_event_frame_embeds_the_payload_verbatim() {
        let frame = event_frame("jam:a", 7, br#"{"kind":"announcement","text":"hi"}"#).unwrap();
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["type"], "event");
        assert_eq!(v["topic"], "jam:a");
        assert_eq!(v["offset"], 7);
        assert_eq!(v["event"]["text"], "hi");
    }

    #[test]
    fn a_tally_frame_splices_the_members_of_the_payload() {
        let frame = tally_frame(
            "session:s",
            br#" {"ideas":[{"id":"i","up":1,"down":0,"score":0.2}]}"#,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["type"], "tally");
        assert_eq!(v["topic"], "session:s");
        assert_eq!(v["ideas"][0]["up"], 1);
        let empty = tally_frame("session:s", b"{ }").unwrap();
        assert_eq!(&*empty, r#"{"type":"tally","topic":"session:s"}"#);
        assert!(tally_frame("session:s", b"[1]").is_none());
    }

    #[test]
    fn joined_frames_form_one_flat_array() {
        let joined = join(&[
            ByteString::from_static(r#"{"a":1}"#),
            ByteString::from_static(r#"[{"b":2},{"c":3}]"#),
            ByteString::from_static(r#"{"d":4}"#),
        ]);
        assert_eq!(&*joined, r#"[{"a":1},{"b":2},{"c":3},{"d":4}]"#);
    }

    #[test]
    fn topics_are_escaped_as_json_strings() {
        let frame = event_frame("a\"b", 1, b"{}").unwrap();
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["topic"], "a\"b");
    }
}
