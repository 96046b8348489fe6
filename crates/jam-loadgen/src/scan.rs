//! Reading server frames cheaply. Every recipient parses every frame, so the load generator reads
//! only the fields it measures (borrowed, not allocated) and lets serde skip the rest.

use std::borrow::Cow;

use serde::Deserialize;

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

/// A `tally` message with its counts (parsed only by probe connections).
#[derive(Debug, Deserialize)]
pub struct TallyMsg<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub ideas: Vec<TallyIdea<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct TallyIdea<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    pub up: u64,
}

/// The messages of one text frame: one object, or a JSON array of them.
pub fn messages(text: &str) -> Result<Vec<Msg<'_>>, serde_json::Error> {
    if text.trim_start().starts_with('[') {
        serde_json::from_str(text)
    } else {
        serde_json::from_str(text).map(|m| vec![m])
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
    fn tallies_read_the_counts() {
        let t = r#"[{"type":"tally","topic":"session:s","ideas":[{"id":"i","up":3,"down":0,"score":0.5}]},{"type":"pong"}]"#;
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
