//! WebSocket streams on the HTTP port, after the 101. The handshake is
//! checked, admitted and decided in the pure core (`app::handshake`,
//! `app::stream`); this module runs a connection: live frames or a script,
//! pings, limits and the close handshake.

mod connection;

use std::time::Duration;

pub use connection::run;

/// Limits of WebSocket streams.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    /// Streams open at once; one more gets 503 at the handshake.
    pub max_streams: usize,
    /// Largest frame or message a client may send; `fault: oversize` sends one byte more.
    pub max_message: usize,
    /// The server pings this often; a client that has not answered the
    /// previous ping by the next one is dropped.
    pub ping_interval: Duration,
    /// A frame the client does not take within this time (a reader that
    /// stopped reading) drops the connection instead of queueing more.
    pub send_timeout: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_streams: 10_000,
            max_message: 1024 * 1024,
            ping_interval: Duration::from_secs(30),
            send_timeout: Duration::from_secs(10),
        }
    }
}
