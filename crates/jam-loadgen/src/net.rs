//! Sockets from chosen loopback source addresses.
//!
//! Every TCP connection needs a distinct (source address, source port) pair towards one server, and a
//! socket bound before `connect` reserves its port for that source address alone. Spreading the
//! connections over 127.0.0.2, 127.0.0.3, … keeps each address well inside the ephemeral port range.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};

/// Connects to `addr`, from `source` (port chosen by the kernel) when given.
pub async fn connect(addr: SocketAddr, source: Option<Ipv4Addr>) -> std::io::Result<TcpStream> {
    connect_with(addr, source, None).await
}

/// As `connect`, with a receive buffer of `recv_buffer` bytes (set before connecting, so the
/// advertised window stays that small).
pub async fn connect_with(
    addr: SocketAddr,
    source: Option<Ipv4Addr>,
    recv_buffer: Option<u32>,
) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(bytes) = recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip.into(), 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The source addresses to spread connections over: 127.0.0.`first` … 127.0.0.`first + count - 1`.
#[derive(Debug, Clone, Copy)]
pub struct Sources {
    pub first: u8,
    pub count: u8,
}

impl Sources {
    /// The address for the `i`-th connection (round robin), or `None` to let the kernel choose.
    pub fn pick(&self, i: usize) -> Option<Ipv4Addr> {
        if self.count == 0 {
            return None;
        }
        let n = (i % usize::from(self.count)) as u8;
        Some(Ipv4Addr::new(127, 0, 0, self.first.saturating_add(n)))
    }
}

/// The process's soft limit on open files, from `/proc/self/limits`.
pub fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
