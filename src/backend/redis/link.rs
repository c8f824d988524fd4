//! The connection to one Redis server: a redis-rs `MultiplexedConnection` over a stream this
//! module opens itself (TCP, TLS or a unix socket), read through a RESP frame checker.
//!
//! Why not redis-rs' own `ConnectionManager`: its parser buffers a reply line until it ends,
//! so a server (or anything answering on the port) that sends one endless line fills memory
//! without bound; and after a corrupted reply the manager kept the desynchronised connection,
//! failing every later command. Here every reply line is bounded, every bulk string is bounded
//! by Redis' own limit, a byte that cannot start a reply ends the connection, and a broken
//! connection is replaced on the next command.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisConnectionInfo, RedisError, RedisResult};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest reply line (a simple string, an error, a bulk length): far above any Redis
/// sends, far below what would hurt.
const MAX_LINE_BYTES: usize = 64 << 10;
/// The largest bulk string: Redis' own `proto-max-bulk-len` default.
const MAX_BULK_BYTES: u64 = 512 << 20;
/// The largest CA file read.
const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// Where to connect.
#[derive(Debug, Clone)]
pub enum Address {
    /// Plain TCP.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// TLS over TCP, with the link's TLS settings (the system roots or a CA file's).
    Tls {
        /// Host name or address to connect to.
        host: String,
        /// Port.
        port: u16,
        /// The name the certificate must carry, when it is not `host` (a cluster node reached
        /// through an address map keeps the name it announced).
        name: Option<String>,
    },
    /// A unix socket.
    Unix(std::path::PathBuf),
}

/// Reads a CA file for [`tls_config`] (bounded, off the async threads' blocking budget).
///
/// # Errors
/// It cannot be read or is larger than 1 MiB.
pub async fn read_ca_file(path: &std::path::Path) -> io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let file = tokio::fs::File::open(path).await?;
    let mut out = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut out)
        .await?;
    if out.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it is larger than 1 MiB: not a CA file",
        ));
    }
    Ok(out)
}

use crate::backend::net::{Dialer, Stream};

/// One server's connection, opened on first use and replaced once it breaks.
pub struct Link {
    address: Address,
    tls: Option<Arc<rustls::ClientConfig>>,
    info: RedisConnectionInfo,
    connect_timeout: Duration,
    response_timeout: Duration,
    dialer: Dialer,
    current: Mutex<Option<MultiplexedConnection>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Link {
    /// A link; nothing is opened until [`Link::connection`]. `tls` is made once for many
    /// links (the nodes of a cluster, see [`tls_config`]); streams are opened by `dialer`
    /// (straight, or through an SSH tunnel).
    pub fn new(
        address: Address,
        tls: Option<Arc<rustls::ClientConfig>>,
        info: RedisConnectionInfo,
        (connect_timeout, response_timeout): (Duration, Duration),
        dialer: Dialer,
    ) -> Self {
        Self {
            address,
            tls,
            info,
            connect_timeout,
            response_timeout,
            dialer,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// The open connection, or a new one (within the connect timeout).
    ///
    /// # Errors
    /// The server cannot be reached, the handshake (TLS, AUTH, SELECT) fails, or it takes
    /// longer than the connect timeout.
    pub async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let conn = tokio::time::timeout(self.connect_timeout, self.open())
            .await
            .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))??;
        if let Ok(mut slot) = self.current.lock() {
            *slot = Some(conn.clone());
        }
        Ok(conn)
    }

    fn cached(&self) -> Option<MultiplexedConnection> {
        self.current.lock().ok().and_then(|c| c.clone())
    }

    /// Forgets the connection after an error that leaves it unusable (I/O, a dropped or
    /// desynchronised stream), so the next command opens a fresh one.
    pub fn after_error(&self, e: &RedisError) {
        let broken = e.is_io_error()
            || e.is_connection_dropped()
            || e.is_unrecoverable_error()
            || matches!(e.kind(), redis::ErrorKind::Parse);
        if broken && let Ok(mut slot) = self.current.lock() {
            *slot = None;
        }
    }

    /// A Pub/Sub connection of its own, through the same checked stream (a sentinel's
    /// `+switch-master` events).
    ///
    /// # Errors
    /// The server cannot be reached or the handshake fails.
    pub async fn pubsub(&self) -> RedisResult<redis::aio::PubSub> {
        let open = async {
            let stream = self.stream().await?;
            redis::aio::PubSub::new(&self.info, Checked::new(stream)).await
        };
        tokio::time::timeout(self.connect_timeout, open)
            .await
            .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))?
    }

    /// A connection of its own without a response timeout, for a command that may block
    /// (`BLPOP k 0`): the shared connection is never held up by it, and dropping it (a
    /// cancelled command) closes it, which frees the server's client at once.
    ///
    /// # Errors
    /// The server cannot be reached or the handshake fails.
    pub async fn dedicated(&self) -> RedisResult<MultiplexedConnection> {
        let open = async {
            let stream = self.stream().await?;
            let config = AsyncConnectionConfig::new().set_response_timeout(None);
            let (conn, driver) =
                MultiplexedConnection::new_with_config(&self.info, Checked::new(stream), config)
                    .await?;
            tokio::spawn(driver);
            Ok(conn)
        };
        tokio::time::timeout(self.connect_timeout, open)
            .await
            .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))?
    }

    /// A connection of its own that sends `commands` (`SUBSCRIBE …`, `MONITOR`) after logging
    /// in, then only reads, handing each reply to `each` until the connection fails or the
    /// future is dropped (which closes it). Every reply is bounded as on the shared
    /// connection. Spoken in RESP2, where a subscriber's messages are plain arrays.
    ///
    /// # Errors
    /// The server cannot be reached, refuses the login or a command, or the connection
    /// breaks.
    pub async fn listen(
        &self,
        commands: &[redis::Cmd],
        mut each: impl FnMut(redis::Value) + Send,
    ) -> RedisResult<()> {
        use tokio::io::AsyncWriteExt as _;
        let stream = tokio::time::timeout(self.connect_timeout, self.stream())
            .await
            .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))??;
        let mut io = Checked::new(stream);
        #[expect(
            clippy::default_trait_access,
            reason = "the decoder's type is redis's (through combine) to name; it is inferred"
        )]
        let mut decoder = Default::default();
        if let Some(password) = self.info.password() {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = self.info.username() {
                auth.arg(user);
            }
            auth.arg(password);
            io.write_all(&auth.get_packed_command()).await?;
            let answer = tokio::time::timeout(
                self.response_timeout,
                redis::parse_redis_value_async(&mut decoder, &mut io),
            )
            .await
            .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))??;
            if let redis::Value::ServerError(e) = answer {
                return Err(RedisError::from(e));
            }
        }
        for cmd in commands {
            io.write_all(&cmd.get_packed_command()).await?;
        }
        loop {
            let value = redis::parse_redis_value_async(&mut decoder, &mut io).await?;
            if let redis::Value::ServerError(e) = value {
                return Err(RedisError::from(e));
            }
            each(value);
        }
    }

    /// A connection of its own for a job that reads its replies itself (a pipelined
    /// listing, `scanner.rs`): opened within the connect timeout, logged in and on the
    /// link's database, spoken in RESP2, every reply line and bulk string bounded as on the
    /// shared connection. Dropping it closes it.
    ///
    /// # Errors
    /// The server cannot be reached, or refuses the login or the database.
    pub async fn raw(&self) -> RedisResult<RawConn> {
        tokio::time::timeout(self.connect_timeout, self.open_raw())
            .await
            .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))?
    }

    async fn open_raw(&self) -> RedisResult<RawConn> {
        let stream = self.stream().await?;
        let mut conn = RawConn {
            io: tokio::io::BufReader::new(Checked::new(stream)),
            response_timeout: self.response_timeout,
        };
        if let Some(password) = self.info.password() {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = self.info.username() {
                auth.arg(user);
            }
            auth.arg(password);
            conn.send(&auth.get_packed_command()).await?;
            conn.expect_ok().await?;
        }
        if self.info.db() != 0 {
            conn.send(
                &redis::cmd("SELECT")
                    .arg(self.info.db())
                    .get_packed_command(),
            )
            .await?;
            conn.expect_ok().await?;
        }
        Ok(conn)
    }

    async fn open(&self) -> RedisResult<MultiplexedConnection> {
        let stream = self.stream().await?;
        let config = AsyncConnectionConfig::new().set_response_timeout(Some(self.response_timeout));
        let (conn, driver) =
            MultiplexedConnection::new_with_config(&self.info, Checked::new(stream), config)
                .await?;
        tokio::spawn(driver);
        Ok(conn)
    }

    async fn stream(&self) -> RedisResult<Box<dyn Stream>> {
        let stream: Box<dyn Stream> = match &self.address {
            Address::Tcp { host, port } => self.dialer.tcp(host, *port).await?,
            Address::Tls {
                host, port, name, ..
            } => {
                let tcp = self.dialer.tcp(host, *port).await?;
                let config = self
                    .tls
                    .clone()
                    .ok_or_else(|| RedisError::from(io::Error::other("TLS is not configured")))?;
                let name = rustls::pki_types::ServerName::try_from(
                    name.clone().unwrap_or_else(|| host.clone()),
                )
                .map_err(|e| RedisError::from(io::Error::other(e.to_string())))?;
                Box::new(
                    tokio_rustls::TlsConnector::from(config)
                        .connect(name, tcp)
                        .await?,
                )
            }
            Address::Unix(path) => self.dialer.unix(path).await?,
        };
        Ok(stream)
    }
}

/// A logged-in connection whose replies its user reads ([`Link::raw`]).
pub struct RawConn {
    /// The stream, read through the frame checker and a buffer.
    pub io: tokio::io::BufReader<Checked<Box<dyn Stream>>>,
    /// How long one reply may take.
    pub response_timeout: Duration,
}

impl RawConn {
    /// Sends a packed command.
    ///
    /// # Errors
    /// The connection broke.
    pub async fn send(&mut self, packed: &[u8]) -> RedisResult<()> {
        use tokio::io::AsyncWriteExt as _;
        let io = self.io.get_mut();
        io.write_all(packed).await?;
        io.flush().await?;
        Ok(())
    }

    /// Reads one reply line (without its CRLF), within the response timeout.
    ///
    /// # Errors
    /// The connection broke, the checker refused the line, or it took too long.
    pub async fn line(&mut self) -> RedisResult<Vec<u8>> {
        use tokio::io::AsyncBufReadExt as _;
        let mut line = Vec::new();
        let read =
            tokio::time::timeout(self.response_timeout, self.io.read_until(b'\n', &mut line))
                .await
                .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))??;
        if read == 0 || !line.ends_with(b"\r\n") {
            return Err(RedisError::from(io::Error::from(
                io::ErrorKind::UnexpectedEof,
            )));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    /// Reads `n` bytes of a bulk string and its CRLF into `out`, within the response timeout.
    ///
    /// # Errors
    /// The connection broke or it took too long.
    pub async fn bulk_into(&mut self, n: usize, out: &mut Vec<u8>) -> RedisResult<()> {
        use tokio::io::AsyncReadExt as _;
        let start = out.len();
        out.resize(start + n + 2, 0);
        tokio::time::timeout(self.response_timeout, self.io.read_exact(&mut out[start..]))
            .await
            .map_err(|_| RedisError::from(io::Error::from(io::ErrorKind::TimedOut)))??;
        if &out[start + n..] != b"\r\n" {
            return Err(RedisError::from(io::Error::new(
                io::ErrorKind::InvalidData,
                "a bulk string did not end where its length said",
            )));
        }
        out.truncate(start + n);
        Ok(())
    }

    /// Reads a reply that must be `+OK`; an error reply is returned as the server's error.
    ///
    /// # Errors
    /// The server refused, or the connection broke.
    pub async fn expect_ok(&mut self) -> RedisResult<()> {
        let line = self.line().await?;
        match line.first() {
            Some(b'+') => Ok(()),
            _ => Err(server_error(&line)),
        }
    }
}

/// The server's error line (`-NOPERM …`) as the error redis-rs would give; anything else
/// that is not the reply expected, as a protocol error.
#[must_use]
pub fn server_error(line: &[u8]) -> RedisError {
    if line.first() == Some(&b'-') {
        let mut framed = line.to_vec();
        framed.extend_from_slice(b"\r\n");
        if let Ok(redis::Value::ServerError(e)) = redis::parse_redis_value(&framed) {
            return RedisError::from(e);
        }
    }
    RedisError::from(io::Error::new(
        io::ErrorKind::InvalidData,
        "the server's reply was not the one expected",
    ))
}

/// The TLS client settings: the CA file's certificates, or the system's roots.
///
/// # Errors
/// The CA file holds no usable certificate.
pub fn tls_config(ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("the CA file is not PEM: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("a certificate in the CA file is unusable: {e}"))?;
        }
        if roots.is_empty() {
            return Err("the CA file holds no certificate".to_owned());
        }
    } else {
        // The system's roots; ones it cannot parse are skipped, as browsers do.
        let native = rustls_native_certs::load_native_certs();
        let _ = roots.add_parsable_certificates(native.certs);
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// Where the reply checker is within the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// At the start of a reply (or of an element of an aggregate).
    Start,
    /// Inside a header line of this type, this many bytes read so far.
    Line {
        kind: u8,
        len: usize,
        length: i64,
        sign: bool,
        digits: usize,
    },
    /// Inside a bulk string's bytes (with its closing CRLF).
    Bulk { remaining: u64 },
}

/// A stream whose replies are checked as they arrive: RESP's frame structure (type byte,
/// header line, bulk bytes) is followed byte by byte, without buffering anything. An
/// overlong line, an oversized bulk or a byte that cannot start a reply is an I/O error, which
/// ends the connection before the parser buffers anything unbounded.
pub struct Checked<S> {
    inner: S,
    frame: Frame,
}

impl<S> Checked<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            frame: Frame::Start,
        }
    }

    fn check(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        while let Some(&b) = bytes.first() {
            match &mut self.frame {
                Frame::Start => {
                    if !b"+-:$*%~>_#,(!=|".contains(&b) {
                        return Err(bad(format!(
                            "the server sent byte 0x{b:02x} where a reply must start: this is \
                             not a Redis reply (corrupted, or not a Redis server)"
                        )));
                    }
                    self.frame = Frame::Line {
                        kind: b,
                        len: 1,
                        length: 0,
                        sign: false,
                        digits: 0,
                    };
                    bytes = &bytes[1..];
                }
                Frame::Line {
                    kind,
                    len,
                    length,
                    sign,
                    digits,
                } => {
                    let end = memchr::memchr(b'\n', bytes);
                    let take = end.map_or(bytes.len(), |i| i + 1);
                    *len += take;
                    if *len > MAX_LINE_BYTES {
                        return Err(bad(format!(
                            "the server sent a reply line longer than {} KiB: not read further",
                            MAX_LINE_BYTES >> 10
                        )));
                    }
                    if matches!(kind, b'$' | b'!' | b'=') {
                        for &d in &bytes[..end.unwrap_or(bytes.len())] {
                            match d {
                                b'-' if *digits == 0 && !*sign => *sign = true,
                                b'0'..=b'9' => {
                                    *digits += 1;
                                    *length = length
                                        .saturating_mul(10)
                                        .saturating_add(i64::from(d - b'0'));
                                }
                                b'\r' => {}
                                _ => return Err(bad("a bulk length that is not a number".into())),
                            }
                        }
                    }
                    bytes = &bytes[take..];
                    if end.is_some() {
                        let (kind, length, sign) = (*kind, *length, *sign);
                        self.frame = match kind {
                            b'$' | b'!' | b'=' if !sign => {
                                let n = u64::try_from(length).unwrap_or(u64::MAX);
                                if n > MAX_BULK_BYTES {
                                    return Err(bad(format!(
                                        "the server announced a {n}-byte string, more than \
                                         Redis itself allows: not read"
                                    )));
                                }
                                Frame::Bulk { remaining: n + 2 }
                            }
                            _ => Frame::Start, // a null bulk, a simple type, an aggregate header
                        };
                    }
                }
                Frame::Bulk { remaining } => {
                    let take = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *remaining -= take as u64;
                    bytes = &bytes[take..];
                    if *remaining == 0 {
                        self.frame = Frame::Start;
                    }
                }
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Checked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => Poll::Ready(this.check(&buf.filled()[before..])),
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Checked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(chunks: &[&[u8]]) -> io::Result<Frame> {
        let mut c = Checked::new(());
        for chunk in chunks {
            c.check(chunk)?;
        }
        Ok(c.frame)
    }

    #[test]
    fn replies_split_anywhere_are_followed() {
        let reply: &[u8] = b"*3\r\n$5\r\nhe\r\nl\r\n:42\r\n$-1\r\n+OK\r\n%1\r\n$1\r\nk\r\n_\r\n";
        for split in 0..reply.len() {
            let (a, b) = reply.split_at(split);
            assert_eq!(
                check(&[a, b]).expect("valid"),
                Frame::Start,
                "split at {split}"
            );
        }
        // A bulk whose bytes look like headers is skipped as bytes.
        assert_eq!(check(&[b"$5\r\n*\r\n-x\r\n"]).expect("valid"), Frame::Start);
    }

    #[test]
    fn endless_lines_huge_bulks_and_garbage_are_refused() {
        let endless = vec![b'a'; 70 << 10];
        assert!(
            check(&[b"+", &endless]).is_err(),
            "an endless simple string"
        );
        let mut split = vec![b'-'];
        split.extend(vec![b'x'; 40 << 10]);
        assert!(
            check(&[&split, &split[1..]]).is_err(),
            "a line over two reads"
        );
        assert!(check(&[b"$999999999999\r\n"]).is_err());
        assert!(check(&[b"$12a\r\n"]).is_err());
        assert!(check(&[b"HTTP/1.1 400 Bad Request\r\n"]).is_err());
        assert!(
            check(&[b"+OK\r\n\x5a"]).is_err(),
            "a corrupted byte after a reply"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_checked_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = check(&[&bytes]);
        }
    }
}
