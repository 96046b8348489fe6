//! Reading server frames cheaply. Every recipient parses every frame, so the load generator reads
//! only the fields it measures (borrowed, not allocated) and lets serde skip the rest.

use std::borrow::Cow;
use std::fmt;

use jam_protocol::live::TallyIdea;
use serde::Deserialize;
use serde::de::{Deserializer as _, SeqAccess, Visitor};

/// One server message, reduced to what the load generator measures.
#[derive(Debug, Deserialize)]
pub struct Msg<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub topic: Option<Cow<'a, str>>,
    #[serde(default)]
    pub offset: Option<u64>,
    #[serde(default, borrow)]
    pub event: Option<EventLite<'a>>,
    /// `error` frames: the error code.
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
    /// `resync` frames: why.
    #[serde(default, borrow)]
    pub reason: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct EventLite<'a> {
    #[serde(default, borrow)]
    pub idea: Option<IdeaLite<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct IdeaLite<'a> {
    #[serde(borrow)]
    pub title: Cow<'a, str>,
}

/// A `tally` frame (parsed only by probe connections): the live protocol's envelope around
/// jam-protocol's `TallyMessage`, whose ideas it reads with the same type the server writes.
#[derive(Debug, Deserialize)]
pub struct TallyMsg<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default)]
    pub ideas: Vec<TallyIdea>,
}

/// The messages of one text frame: one object, or a JSON array of them.
pub fn messages(text: &str) -> Result<Vec<Msg<'_>>, serde_json::Error> {
    let mut all = Vec::new();
    each_message(text, |m| all.push(m))?;
    Ok(all)
}

/// Calls `each` with every message of one text frame in order, collecting nothing (every
/// connection reads every frame: this is the load generator's hottest path). On an error, the
/// messages before it have been seen.
pub fn each_message<'a>(text: &'a str, mut each: impl FnMut(Msg<'a>)) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    if text.trim_start().starts_with('[') {
        de.deserialize_seq(Each(&mut each))?;
    } else {
        each(Msg::deserialize(&mut de)?);
    }
    de.end()
}

/// Visits a JSON array of messages, handing each to the function as it is read.
struct Each<'f, F>(&'f mut F);

impl<'de, F: FnMut(Msg<'de>)> Visitor<'de> for Each<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(m) = seq.next_element::<Msg<'de>>()? {
            (self.0)(m);
        }
        Ok(())
    }
}

/// The tally messages of one text frame.
pub fn tallies(text: &str) -> Result<Vec<TallyMsg<'_>>, serde_json::Error> {
    let all: Vec<TallyMsg<'_>> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text)?
    } else {
        vec![serde_json::from_str(text)?]
    };
    Ok(all.into_iter().filter(|m| m.kind == "tally").collect())
}

/// The title the event driver gives an idea: its sequence number and intended send time.
pub fn marker(seq: u64, intended_unix_ns: u64) -> String {
    format!("lg {seq} {intended_unix_ns}")
}

/// `(seq, intended send time in Unix ns)` from a driver's idea title.
pub fn parse_marker(title: &str) -> Option<(u64, u64)> {
    let mut parts = title.strip_prefix("lg ")?.split(' ');
    let seq = parts.next()?.parse().ok()?;
    let at = parts.next()?.parse().ok()?;
    Some((seq, at))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn single_objects_and_arrays_both_read() {
        let one = r#"{"type":"event","topic":"session:s","offset":4,"event":{"kind":"idea.created","idea":{"id":"x","title":"lg 3 99","tags":["a"]}}}"#;
        let m = messages(one).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].offset, Some(4));
        let title = &m[0].event.as_ref().unwrap().idea.as_ref().unwrap().title;
        assert_eq!(parse_marker(title), Some((3, 99)));
        let many = format!(r#"[{one},{{"type":"presence","topic":"session:s","online":3}}]"#);
        let m = messages(&many).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].kind, "presence");
    }

    #[test]
    fn each_message_sees_them_in_order_and_the_ones_before_an_error() {
        let mut kinds = Vec::new();
        each_message(r#"[{"type":"a"},{"type":"b","offset":2}]"#, |m| {
            kinds.push(m.kind.into_owned())
        })
        .unwrap();
        assert_eq!(kinds, ["a", "b"]);
        kinds.clear();
        let broken = each_message(r#"[{"type":"a"},{"offset":1}]"#, |m| {
            kinds.push(m.kind.into_owned())
        });
        assert!(broken.is_err(), "the second has no type");
        assert_eq!(kinds, ["a"]);
        assert!(
            each_message(r#"{"type":"a"} x"#, |_| {}).is_err(),
            "trailing bytes"
        );
    }

    #[test]
    fn tallies_read_the_counts() {
        let t = r#"[{"type":"tally","topic":"session:s","ideas":[{"id":"0191e4a0-0000-7000-8000-000000000001","up":3,"down":0,"score":0.5}]},{"type":"pong"}]"#;
        let t = tallies(t).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].ideas[0].up, 3);
    }

    #[test]
    fn markers_round_trip_and_others_are_ignored() {
        assert_eq!(parse_marker(&marker(7, 123)), Some((7, 123)));
        assert_eq!(parse_marker("An idea"), None);
    }
}
