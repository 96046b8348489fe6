//! One connection's way in: WebSocket frames decoded from the request payload (actix-http's codec),
//! fragmented messages put back together, every size bounded.

use std::future::poll_fn;
use std::pin::Pin;

use actix_http::ws::{Codec, Frame, Item, ProtocolError};
use actix_web::web;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_core::Stream;

/// A complete message from the client.
#[derive(Debug, PartialEq)]
pub(crate) enum Incoming {
    Text(ByteString),
    /// Binary messages are not part of the protocol; only their arrival is reported.
    Binary,
    Ping(Bytes),
    Pong,
    Close,
}

/// Why the way in ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Broken {
    /// A frame, or a fragmented message, over the size limit (close 1009).
    TooBig,
    /// Not valid WebSocket: unmasked, bad opcode, bad fragments, text that is not UTF-8 (close 1008).
    Protocol,
    /// The socket failed.
    Gone,
}

/// Reads `S`: the request payload in the hub, a plain stream of chunks in tests.
pub(crate) struct Inbound<S = web::Payload> {
    payload: S,
    buf: BytesMut,
    codec: Codec,
    /// A fragmented message being put together: is it text, and its bytes so far.
    partial: Option<(bool, BytesMut)>,
    max_bytes: usize,
}

impl<S, E> Inbound<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    /// Reads `payload`; frames and fragmented messages over `max_bytes` end it with `TooBig`.
    pub(crate) fn new(payload: S, max_bytes: usize) -> Self {
        Inbound {
            payload,
            buf: BytesMut::new(),
            codec: Codec::new().max_size(max_bytes),
            partial: None,
            max_bytes,
        }
    }

    /// The next message; `None` when the client's side of the socket is closed.
    pub(crate) async fn recv(&mut self) -> Option<Result<Incoming, Broken>> {
        loop {
            match actix_codec::Decoder::decode(&mut self.codec, &mut self.buf) {
                Ok(Some(frame)) => match self.message(frame) {
                    Ok(Some(message)) => return Some(Ok(message)),
                    Ok(None) => continue,
                    Err(broken) => return Some(Err(broken)),
                },
                Ok(None) => {}
                Err(ProtocolError::Overflow) => return Some(Err(Broken::TooBig)),
                Err(_) => return Some(Err(Broken::Protocol)),
            }
            if self.buf.is_empty() && self.buf.capacity() > 0 {
                // An idle connection keeps no read buffer.
                self.buf = BytesMut::new();
            }
            match poll_fn(|cx| Pin::new(&mut self.payload).poll_next(cx)).await {
                Some(Ok(bytes)) if self.buf.is_empty() => self.buf = BytesMut::from(bytes),
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                Some(Err(_)) => return Some(Err(Broken::Gone)),
                None => return None,
            }
        }
    }

    /// A decoded frame as a message, once complete.
    fn message(&mut self, frame: Frame) -> Result<Option<Incoming>, Broken> {
        Ok(Some(match frame {
            Frame::Text(bytes) => text(bytes)?,
            Frame::Binary(_) => Incoming::Binary,
            Frame::Ping(payload) => Incoming::Ping(payload),
            Frame::Pong(_) => Incoming::Pong,
            Frame::Close(_) => Incoming::Close,
            Frame::Continuation(item) => return self.fragment(item),
        }))
    }

    fn fragment(&mut self, item: Item) -> Result<Option<Incoming>, Broken> {
        let (is_text, bytes, last) = match item {
            Item::FirstText(bytes) => (Some(true), bytes, false),
            Item::FirstBinary(bytes) => (Some(false), bytes, false),
            Item::Continue(bytes) => (None, bytes, false),
            Item::Last(bytes) => (None, bytes, true),
        };
        match (is_text, &mut self.partial) {
            (Some(is_text), None) => self.partial = Some((is_text, BytesMut::from(bytes))),
            (None, Some((_, so_far))) => so_far.extend_from_slice(&bytes),
            // The codec already refuses a fragment out of place; this is its mirror.
            _ => return Err(Broken::Protocol),
        }
        if self
            .partial
            .as_ref()
            .is_some_and(|(_, so_far)| so_far.len() > self.max_bytes)
        {
            return Err(Broken::TooBig);
        }
        if !last {
            return Ok(None);
        }
        match self.partial.take() {
            Some((true, whole)) => text(whole.freeze()).map(Some),
            Some((false, _)) => Ok(Some(Incoming::Binary)),
            None => Err(Broken::Protocol),
        }
    }
}

fn text(bytes: Bytes) -> Result<Incoming, Broken> {
    ByteString::try_from(bytes)
        .map(Incoming::Text)
        .map_err(|_| Broken::Protocol)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use actix_http::ws::{OpCode, Parser};

    /// A client frame (masked, as clients must send them).
    fn client(op: OpCode, fin: bool, payload: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        Parser::write_message(&mut out, payload, op, fin, true);
        out.freeze()
    }

    /// Reads every message of `chunks` (split anywhere) until the end or the first break.
    async fn read(chunks: Vec<Bytes>, max_bytes: usize) -> Vec<Result<Incoming, Broken>> {
        let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        let mut inbound = Inbound::new(stream, max_bytes);
        let mut got = Vec::new();
        while let Some(message) = inbound.recv().await {
            let broken = message.is_err();
            got.push(message);
            if broken {
                break;
            }
        }
        got
    }

    #[tokio::test]
    async fn messages_split_across_chunks_and_fragments_are_put_back_together() {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&client(OpCode::Text, true, br#"{"type":"ping"}"#));
        wire.extend_from_slice(&client(OpCode::Text, false, b"{\"type\":"));
        wire.extend_from_slice(&client(OpCode::Ping, true, b"hb"));
        wire.extend_from_slice(&client(OpCode::Continue, false, b"\"sub"));
        wire.extend_from_slice(&client(OpCode::Continue, true, b"scribe\"}"));
        wire.extend_from_slice(&client(OpCode::Binary, true, b"\x00"));
        wire.extend_from_slice(&client(OpCode::Close, true, b""));
        // Delivered three bytes at a time: every frame boundary falls inside a chunk somewhere.
        let chunks = wire.chunks(3).map(Bytes::copy_from_slice).collect();
        let got = read(chunks, 1024).await;
        assert_eq!(
            got,
            vec![
                Ok(Incoming::Text(r#"{"type":"ping"}"#.into())),
                Ok(Incoming::Ping(Bytes::from_static(b"hb"))),
                Ok(Incoming::Text(r#"{"type":"subscribe"}"#.into())),
                Ok(Incoming::Binary),
                Ok(Incoming::Close),
            ]
        );
    }

    #[tokio::test]
    async fn a_frame_or_a_fragmented_message_over_the_limit_is_too_big() {
        let big = vec![b'x'; 101];
        assert_eq!(
            read(vec![client(OpCode::Text, true, &big)], 100).await,
            vec![Err(Broken::TooBig)]
        );
        let fragments = vec![
            client(OpCode::Text, false, &[b'x'; 60]),
            client(OpCode::Continue, true, &[b'x'; 60]),
        ];
        assert_eq!(read(fragments, 100).await, vec![Err(Broken::TooBig)]);
    }

    #[tokio::test]
    async fn unmasked_frames_bad_fragments_and_invalid_utf8_break_the_protocol() {
        let mut unmasked = BytesMut::new();
        Parser::write_message(&mut unmasked, b"{}", OpCode::Text, true, false);
        assert_eq!(
            read(vec![unmasked.freeze()], 100).await,
            vec![Err(Broken::Protocol)]
        );
        let stray = client(OpCode::Continue, true, b"x");
        assert_eq!(read(vec![stray], 100).await, vec![Err(Broken::Protocol)]);
        let latin1 = client(OpCode::Text, true, &[0xe9]);
        assert_eq!(read(vec![latin1], 100).await, vec![Err(Broken::Protocol)]);
    }

    #[tokio::test]
    async fn the_end_of_the_payload_ends_the_messages() {
        assert_eq!(
            read(vec![client(OpCode::Text, true, b"{}")], 100).await,
            vec![Ok(Incoming::Text("{}".into()))]
        );
    }
}
