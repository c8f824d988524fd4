//! Faults on the wire, for tests: a TCP proxy on a free loopback port in front of a real
//! server that can pass, delay, stall, cut or corrupt the stream on command, and fake servers
//! that answer garbage or one endless line. Threads and std sockets only, so sync and async
//! tests can both use them; everything stops when the value is dropped.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with the bytes it relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// Relay as is.
    Pass = 0,
    /// Hold every byte from now on (a server that stops answering mid-reply).
    Stall = 1,
    /// Close every connection now, and each new one at once.
    Cut = 2,
    /// Flip bits in what the server sends.
    Corrupt = 3,
    /// Relay each chunk 200 ms late.
    Delay = 4,
}

impl Fault {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Stall,
            2 => Self::Cut,
            3 => Self::Corrupt,
            4 => Self::Delay,
            _ => Self::Pass,
        }
    }
}

/// A proxy from a free loopback port to `upstream`.
pub struct FaultProxy {
    port: u16,
    mode: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl FaultProxy {
    /// Starts relaying to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let mode = Arc::new(AtomicU8::new(Fault::Pass as u8));
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_owned();
        let (m, s, c) = (mode.clone(), stop.clone(), conns.clone());
        std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    let Ok((client, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    if Fault::from_u8(m.load(Ordering::Relaxed)) == Fault::Cut {
                        drop(client);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(&upstream) else {
                        continue;
                    };
                    let _ = client.set_nonblocking(false);
                    if let (Ok(a), Ok(b)) = (client.try_clone(), server.try_clone()) {
                        let mut list = c.lock().expect("conns");
                        list.push(a);
                        list.push(b);
                    }
                    pump(&client, &server, m.clone(), s.clone(), false);
                    pump(&server, &client, m.clone(), s.clone(), true);
                }
            })
            .expect("proxy thread");
        Self {
            port,
            mode,
            stop,
            conns,
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Switches what the proxy does; `Cut` also closes every open connection now.
    pub fn set(&self, fault: Fault) {
        self.mode.store(fault as u8, Ordering::Relaxed);
        if fault == Fault::Cut {
            for c in self.conns.lock().expect("conns").drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for c in self.conns.lock().expect("conns").drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Relays `from` to `to` on a thread of its own, applying the current fault to each chunk.
fn pump(from: &TcpStream, to: &TcpStream, mode: Arc<AtomicU8>, stop: Arc<AtomicBool>, reply: bool) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = std::thread::Builder::new()
        .name("fault-pump".into())
        .spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while !stop.load(Ordering::Relaxed) {
                match Fault::from_u8(mode.load(Ordering::Relaxed)) {
                    Fault::Stall => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    Fault::Cut => break,
                    _ => {}
                }
                let n = match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        continue;
                    }
                    Err(_) => break,
                };
                // A stall that began while this chunk was read holds it too.
                while Fault::from_u8(mode.load(Ordering::Relaxed)) == Fault::Stall
                    && !stop.load(Ordering::Relaxed)
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                match Fault::from_u8(mode.load(Ordering::Relaxed)) {
                    Fault::Corrupt if reply => {
                        for b in &mut buf[..n] {
                            *b ^= 0x5a;
                        }
                    }
                    Fault::Delay => std::thread::sleep(Duration::from_millis(200)),
                    Fault::Cut => break,
                    _ => {}
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        });
}

/// A fake server on a free loopback port that answers every connection with `reply` once
/// it has read something, then (when `endless`) repeats `reply` forever without a newline.
pub struct FakeServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    /// Answers with `reply` after the first bytes arrive.
    pub fn start(reply: &'static [u8], endless: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::Builder::new()
            .name("fake-server".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    let Ok((mut conn, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    let s = s.clone();
                    let _ = std::thread::Builder::new()
                        .name("fake-conn".into())
                        .spawn(move || {
                            let _ = conn.set_nonblocking(false);
                            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                            let mut buf = [0u8; 4096];
                            if conn.read(&mut buf).unwrap_or(0) == 0 {
                                return;
                            }
                            loop {
                                if s.load(Ordering::Relaxed) || conn.write_all(reply).is_err() {
                                    return;
                                }
                                if !endless {
                                    // Keep answering whatever else is asked.
                                    if conn.read(&mut buf).unwrap_or(0) == 0 {
                                        return;
                                    }
                                }
                            }
                        });
                }
            })
            .expect("fake server thread");
        Self { port, stop }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
