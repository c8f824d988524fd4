//! How a backend opens its byte streams: straight to the address, or through an SSH tunnel
//! that reaches the address from the bastion (so a cluster node's announced internal address
//! works as it is, and a node that appears after a failover is reached the same way).

use std::io;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use super::ssh::Tunnel;

/// A byte stream a backend speaks its protocol over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Opens streams to the servers of one connection.
#[derive(Clone, Default)]
pub enum Dialer {
    /// From this machine.
    #[default]
    Direct,
    /// Through an SSH tunnel.
    Ssh(Arc<Tunnel>),
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Direct => f.write_str("Direct"),
            Self::Ssh(tunnel) => write!(f, "Ssh({})", tunnel.label()),
        }
    }
}

impl Dialer {
    /// A TCP connection to `host:port` (as the far end of the tunnel resolves it).
    ///
    /// # Errors
    /// The address cannot be reached, or the tunnel refuses to open a channel there.
    pub async fn tcp(&self, host: &str, port: u16) -> io::Result<Box<dyn Stream>> {
        match self {
            Self::Direct => {
                let tcp = tokio::net::TcpStream::connect((host, port)).await?;
                tcp.set_nodelay(true)?;
                Ok(Box::new(tcp))
            }
            Self::Ssh(tunnel) => Ok(Box::new(tunnel.dial_tcp(host, port).await?)),
        }
    }

    /// A unix socket connection (on the bastion, when tunnelled).
    ///
    /// # Errors
    /// The socket cannot be opened.
    pub async fn unix(&self, path: &Path) -> io::Result<Box<dyn Stream>> {
        match self {
            Self::Direct => Ok(Box::new(tokio::net::UnixStream::connect(path).await?)),
            Self::Ssh(tunnel) => Ok(Box::new(tunnel.dial_unix(path).await?)),
        }
    }
}
