//! A minimal HTTP/1.1 client: one keep-alive connection, one request at a time, JSON bodies.
//!
//! Why not a full client crate: the load generator needs exactly this (fixed-length or chunked
//! responses from one known server), it must bind its socket to a chosen loopback source address,
//! and it keeps the dependency tree small.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::net;

/// Largest response body accepted (setup answers and votes are small).
const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("i/o with {addr}: {source}")]
    Io {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed response from {0}: {1}")]
    Malformed(SocketAddr, String),
}

/// One answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The `name=value` pair of the last `Set-Cookie`, if any.
    pub set_cookie: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&self.body).into_owned()))
    }
}

/// A keep-alive connection to one server, reopened after an error.
pub struct HttpConn {
    addr: SocketAddr,
    source: Option<Ipv4Addr>,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl HttpConn {
    pub fn new(addr: SocketAddr, source: Option<Ipv4Addr>) -> Self {
        HttpConn {
            addr,
            source,
            stream: None,
            buf: Vec::with_capacity(4096),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends one request. A keep-alive connection the server closed meanwhile is reopened once.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, HttpError> {
        let reused = self.stream.is_some();
        match self.try_request(method, path, headers, body).await {
            Ok(r) => Ok(r),
            Err(HttpError::Io { .. }) if reused => {
                self.stream = None;
                self.try_request(method, path, headers, body).await
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    async fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, HttpError> {
        let addr = self.addr;
        let io = |source| HttpError::Io { addr, source };
        if self.stream.is_none() {
            self.stream = Some(net::connect(addr, self.source).await.map_err(io)?);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(HttpError::Malformed(addr, "no connection".into()));
        };
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\n");
        for (k, v) in headers {
            head.push_str(k);
            head.push_str(": ");
            head.push_str(v);
            head.push_str("\r\n");
        }
        if let Some(body) = body {
            head.push_str("content-type: application/json\r\n");
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if let Some(body) = body {
            out.extend_from_slice(body);
        }
        stream.write_all(&out).await.map_err(io)?;

        self.buf.clear();
        let (status, set_cookie, framing, keep_alive, header_len) = loop {
            if stream.read_buf(&mut self.buf).await.map_err(io)? == 0 {
                return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let mut parsed_headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut parsed_headers);
            match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = response.code.unwrap_or(0);
                    let mut set_cookie = None;
                    let mut framing = Framing::UntilClose;
                    let mut keep_alive = true;
                    for h in response.headers.iter() {
                        let value = String::from_utf8_lossy(h.value);
                        if h.name.eq_ignore_ascii_case("set-cookie") {
                            set_cookie = value.split(';').next().map(|p| p.trim().to_owned());
                        } else if h.name.eq_ignore_ascii_case("content-length") {
                            let n = value
                                .trim()
                                .parse()
                                .map_err(|_| HttpError::Malformed(addr, "bad content-length".into()))?;
                            framing = Framing::Length(n);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && value.to_ascii_lowercase().contains("chunked")
                        {
                            framing = Framing::Chunked;
                        } else if h.name.eq_ignore_ascii_case("connection")
                            && value.eq_ignore_ascii_case("close")
                        {
                            keep_alive = false;
                        }
                    }
                    break (status, set_cookie, framing, keep_alive, len);
                }
                Ok(httparse::Status::Partial) => {
                    if self.buf.len() > 64 * 1024 {
                        return Err(HttpError::Malformed(addr, "headers too long".into()));
                    }
                }
                Err(e) => return Err(HttpError::Malformed(addr, e.to_string())),
            }
        };
        let mut rest = self.buf.split_off(header_len);
        let body = match framing {
            Framing::Length(n) => {
                if n > MAX_BODY {
                    return Err(HttpError::Malformed(addr, format!("body of {n} bytes")));
                }
                while rest.len() < n {
                    if stream.read_buf(&mut rest).await.map_err(io)? == 0 {
                        return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
                    }
                }
                rest.truncate(n);
                rest
            }
            Framing::Chunked => read_chunked(stream, rest, addr).await?,
            Framing::UntilClose => {
                while stream.read_buf(&mut rest).await.map_err(io)? > 0 {
                    if rest.len() > MAX_BODY {
                        return Err(HttpError::Malformed(addr, "body too long".into()));
                    }
                }
                self.stream = None;
                rest
            }
        };
        if !keep_alive {
            self.stream = None;
        }
        Ok(Response {
            status,
            set_cookie,
            body,
        })
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Decodes a chunked body; `buf` holds what was read past the headers.
async fn read_chunked(
    stream: &mut TcpStream,
    mut buf: Vec<u8>,
    addr: SocketAddr,
) -> Result<Vec<u8>, HttpError> {
    let io = |source| HttpError::Io { addr, source };
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        // A size line.
        let line_end = loop {
            if let Some(i) = buf[pos..].windows(2).position(|w| w == b"\r\n") {
                break pos + i;
            }
            if stream.read_buf(&mut buf).await.map_err(io)? == 0 {
                return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        };
        let line = String::from_utf8_lossy(&buf[pos..line_end]);
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| HttpError::Malformed(addr, format!("bad chunk size `{size_text}`")))?;
        pos = line_end + 2;
        if size == 0 {
            // The empty trailer's CRLF, so that the next response starts clean.
            while buf.len() < pos + 2 {
                if stream.read_buf(&mut buf).await.map_err(io)? == 0 {
                    break;
                }
            }
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(HttpError::Malformed(addr, "body too long".into()));
        }
        while buf.len() < pos + size + 2 {
            if stream.read_buf(&mut buf).await.map_err(io)? == 0 {
                return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}
