//! A local end for clients that open their own sockets (sqlx): a unix socket in a private
//! directory (0700, made here) whose every connection is carried through the tunnel.
//!
//! A unix socket in a private directory rather than a loopback TCP port (as `ssh -L` gives):
//! a loopback port is open to every local user for as long as the tunnel is up; this socket
//! is reachable only by this user.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Tunnel;

/// The local socket; it and its directory go away when this is dropped.
pub struct LocalSocket {
    dir: PathBuf,
    socket: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl LocalSocket {
    /// Listens on `dir/file_name` (a fresh private directory) and carries each connection to
    /// `host:port` through `tunnel`.
    ///
    /// # Errors
    /// The directory or the socket cannot be made.
    pub fn start(
        tunnel: Arc<Tunnel>,
        file_name: &str,
        host: String,
        port: u16,
    ) -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt as _;
        let mut dir = None;
        for _ in 0..8 {
            let mut random = [0u8; 8];
            getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
            let name = u64::from_le_bytes(random);
            let name = format!("{name:016x}");
            let candidate = std::env::temp_dir().join(format!("cache-console-ssh-{name}"));
            match std::fs::DirBuilder::new().mode(0o700).create(&candidate) {
                Ok(()) => {
                    dir = Some(candidate);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        let dir = dir.ok_or_else(|| std::io::Error::other("no free private directory name"))?;
        let socket = dir.join(file_name);
        let listener = match tokio::net::UnixListener::bind(&socket) {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                return Err(e);
            }
        };
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut local, _)) = listener.accept().await else {
                    break;
                };
                let tunnel = Arc::clone(&tunnel);
                let host = host.clone();
                tokio::spawn(async move {
                    // A failed channel closes the local connection: the client reports it as
                    // a dropped connection and retries or fails with its own message.
                    if let Ok(mut remote) = tunnel.dial_tcp(&host, port).await {
                        let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
                    }
                });
            }
        });
        Ok(Self { dir, socket, task })
    }

    /// The directory holding the socket.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The socket itself.
    #[must_use]
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for LocalSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir(&self.dir);
    }
}
