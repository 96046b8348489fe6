//! The wire: client requests parsed from text, server frames encoded once and shared.
//!
//! A server frame is a `Frame`: the WebSocket header and the JSON text in one reference-counted
//! buffer. Server frames are never masked, so the same bytes are valid on every connection: an event
//! is encoded once per node, every recipient's queue holds a clone, and the connection hands those
//! bytes to actix-http as they are.

use std::fmt::Write as _;

use actix_http::ws::{CloseCode, CloseReason, OpCode, Parser};
use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest text frame built by coalescing (a single larger frame is still sent whole). Small enough
/// that a connection whose client reads slowly holds little in actix-http's write buffer, which keeps
/// its grown capacity for the life of the connection (below 128 KiB): `jamd` sets that buffer's
/// flush threshold to this size, so it holds less than twice this. At 2 KiB that is within the first
/// 4 KiB page of the 8 KiB buffer each connection starts with, so a burst does not make the second
/// page resident (measured after an overloaded phase: 16 KiB frames left 72–94 KiB per connection,
/// 4 KiB frames 20.3–20.8 KiB, 2 KiB frames 16.2 KiB, with the same deliveries per second).
pub const MAX_BATCH_BYTES: usize = 2 * 1024;

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
    pub(crate) fn to_frame(&self) -> Frame {
        match serde_json::to_string(self) {
            Ok(text) => Frame::text(&text),
            // Unreachable in practice: every field is a string, a number or a `Value`, all of which
            // serialize. Still, never panic on the wire path.
            Err(e) => {
                tracing::error!(error = %e, "could not serialize a reply");
                Frame::text(r#"{"type":"error","code":"internal","message":"could not serialize a reply"}"#)
            }
        }
    }
}

/// A server text frame ready for the wire: header (FIN, text, unmasked) then the JSON text. Cloning
/// shares the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame(Bytes);

impl Frame {
    /// Encodes `json` (one object, or an array of objects) as a text frame.
    pub(crate) fn text(json: &str) -> Frame {
        let mut wire = BytesMut::with_capacity(header_len(json.len()) + json.len());
        put_text_header(&mut wire, json.len());
        wire.put_slice(json.as_bytes());
        Frame(wire.freeze())
    }

    /// The JSON text.
    pub(crate) fn json(&self) -> &[u8] {
        let header = match self.0.get(1).map(|b| b & 0x7f) {
            Some(126) => 4,
            Some(127) => 10,
            _ => 2,
        };
        self.0.get(header..).unwrap_or_default()
    }

    /// The frame's bytes, header included.
    pub(crate) fn wire(&self) -> &Bytes {
        &self.0
    }

    /// Length of the JSON text.
    pub(crate) fn len(&self) -> usize {
        self.json().len()
    }
}

/// Bytes of the header of an unmasked frame carrying `len` bytes.
fn header_len(len: usize) -> usize {
    match len {
        0..126 => 2,
        126..=0xffff => 4,
        _ => 10,
    }
}

/// Appends a control frame (ping, pong) with `payload` (at most 125 bytes are sent).
pub(crate) fn put_control(out: &mut BytesMut, op: OpCode, payload: &[u8]) {
    let payload = payload.get(..payload.len().min(125)).unwrap_or_default();
    Parser::write_message(out, payload, op, true, false);
}

/// Appends a close frame with `code` and its description.
pub(crate) fn put_close(out: &mut BytesMut, code: u16, description: &str) {
    let reason = CloseReason {
        code: CloseCode::from(code),
        description: Some(description.to_owned()),
    };
    Parser::write_close(out, Some(reason), false);
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
pub(crate) fn event_frame(topic: &str, offset: u64, payload: &[u8]) -> Option<Frame> {
    let payload = std::str::from_utf8(payload).ok()?;
    let mut out = String::with_capacity(payload.len() + topic.len() + 56);
    out.push_str(r#"{"type":"event","topic":"#);
    push_json_str(&mut out, topic);
    let _ = write!(out, r#","offset":{offset},"event":"#);
    out.push_str(payload);
    out.push('}');
    Some(Frame::text(&out))
}

/// `{"type":"tally","topic":T,...}` with the members of the tally service's object payload
/// (`{"ideas":[...]}`) spliced in, without parsing it. `None` unless the payload is a UTF-8 object.
pub(crate) fn tally_frame(topic: &str, payload: &[u8]) -> Option<Frame> {
    let payload = std::str::from_utf8(payload).ok()?;
    let members = payload.trim().strip_prefix('{')?.trim_start();
    let mut out = String::with_capacity(payload.len() + topic.len() + 32);
    out.push_str(r#"{"type":"tally","topic":"#);
    push_json_str(&mut out, topic);
    if !members.starts_with('}') {
        out.push(',');
    }
    out.push_str(members);
    Some(Frame::text(&out))
}

/// Joins frames into one JSON array frame. A frame that is itself an array (a replay chunk)
/// contributes its elements, so arrays never nest.
pub(crate) fn join(frames: &[Frame]) -> Frame {
    let elements = || {
        frames.iter().map(|f| {
            let json = f.json();
            match json {
                [b'[', inner @ .., b']'] => inner,
                _ => json,
            }
        })
    };
    let parts = elements().filter(|e| !e.is_empty()).count();
    let len = elements().map(<[u8]>::len).sum::<usize>() + parts.saturating_sub(1) + 2;
    // The header for `len` bytes, then the elements written in place.
    let mut wire = BytesMut::with_capacity(header_len(len) + len);
    put_text_header(&mut wire, len);
    wire.put_u8(b'[');
    let mut first = true;
    for element in elements().filter(|e| !e.is_empty()) {
        if !first {
            wire.put_u8(b',');
        }
        first = false;
        wire.put_slice(element);
    }
    wire.put_u8(b']');
    Frame(wire.freeze())
}

/// Writes the header of an unmasked, final text frame of `len` bytes (RFC 6455 §5.2).
fn put_text_header(out: &mut BytesMut, len: usize) {
    out.put_u8(0x80 | u8::from(OpCode::Text));
    match len {
        0..126 => out.put_u8(len as u8),
        126..=0xffff => {
            out.put_u8(126);
            out.put_u16(len as u16);
        }
        _ => {
            out.put_u8(127);
            out.put_u64(len as u64);
        }
    }
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
        let v: Value = serde_json::from_slice(frame.json()).unwrap();
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
        let v: Value = serde_json::from_slice(frame.json()).unwrap();
        assert_eq!(v["type"], "tally");
        assert_eq!(v["topic"], "session:s");
        assert_eq!(v["ideas"][0]["up"], 1);
        let empty = tally_frame("session:s", b"{ }").unwrap();
        assert_eq!(empty.json(), br#"{"type":"tally","topic":"session:s"}"#);
        assert!(tally_frame("session:s", b"[1]").is_none());
    }

    #[test]
    fn joined_frames_form_one_flat_array() {
        let joined = join(&[
            Frame::text(r#"{"a":1}"#),
            Frame::text(r#"[{"b":2},{"c":3}]"#),
            Frame::text("[]"),
            Frame::text(r#"{"d":4}"#),
        ]);
        assert_eq!(joined.json(), br#"[{"a":1},{"b":2},{"c":3},{"d":4}]"#);
        assert_eq!(joined, Frame::text(r#"[{"a":1},{"b":2},{"c":3},{"d":4}]"#));
    }

    /// Decodes `wire` as one complete frame with an independent decoder (actix-http's, in client
    /// mode: server frames must be unmasked).
    fn decode(wire: &Bytes) -> (bool, OpCode, Vec<u8>) {
        let mut buf = BytesMut::from(&wire[..]);
        let (fin, op, payload) = Parser::parse(&mut buf, false, usize::MAX).unwrap().unwrap();
        assert!(buf.is_empty(), "one frame, nothing after it");
        (fin, op, payload.map(|p| p.to_vec()).unwrap_or_default())
    }

    #[test]
    fn frames_of_every_header_size_decode_to_their_text() {
        // 7-bit, 16-bit and 64-bit payload lengths, at and around each boundary.
        for len in [0, 1, 125, 126, 127, 0xffff, 0x1_0000, 200_000] {
            let json = "x".repeat(len);
            let frame = Frame::text(&json);
            assert_eq!(frame.json(), json.as_bytes(), "len {len}");
            assert_eq!(frame.len(), len);
            assert_eq!(
                decode(frame.wire()),
                (true, OpCode::Text, json.clone().into_bytes())
            );
        }
        let big = "y".repeat(70_000);
        let joined = join(&[Frame::text(&big), Frame::text(&big)]);
        let (_, op, payload) = decode(joined.wire());
        assert_eq!(op, OpCode::Text);
        assert_eq!(payload.len(), 2 * 70_000 + 3);
    }

    #[test]
    fn control_frames_decode_and_are_cut_to_125_bytes() {
        let mut out = BytesMut::new();
        put_control(&mut out, OpCode::Pong, &[7; 300]);
        let (fin, op, payload) = decode(&out.freeze());
        assert!(fin);
        assert_eq!(op, OpCode::Pong);
        assert_eq!(payload, vec![7; 125]);
        let mut out = BytesMut::new();
        put_close(&mut out, 4008, "too slow");
        let (_, op, payload) = decode(&out.freeze());
        assert_eq!(op, OpCode::Close);
        assert_eq!(payload, [&4008u16.to_be_bytes()[..], b"too slow"].concat());
    }

    #[test]
    fn topics_are_escaped_as_json_strings() {
        let frame = event_frame("a\"b", 1, b"{}").unwrap();
        let v: Value = serde_json::from_slice(frame.json()).unwrap();
        assert_eq!(v["topic"], "a\"b");
    }
}
