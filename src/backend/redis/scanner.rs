//! A listing of one server at the server's own speed, or within a budget of its time.
//!
//! Each `SCAN` reply is read in two steps: its cursor first, then its keys. Unthrottled, the
//! next `SCAN` is sent as soon as the cursor is known, so the server works on the next page
//! while this one is read, packed and handed on; one call is ever in flight, as `SCAN` needs
//! the cursor of the one before. This needs the reply's parts one by one, which redis-rs' parser (a
//! whole value at a time) cannot give: the few RESP2 shapes a `SCAN` reply has are read here,
//! from a connection of the listing's own ([`Link::raw`], bounded as every connection is).
//!
//! With a budget ([`crate::core::pace::Pacer`]) each call's `COUNT` follows how long the
//! last ones took, and a call waits while the second's budget is spent. Then a call is sent
//! only once the last reply is read whole: its time is then the server's and one round trip,
//! never the time this side took over the reply before it (which would shrink the `COUNT`
//! for nothing), nor less than the server's (which would let it grow too far).

use std::time::Instant;

use bytes::Bytes;
use redis::RedisError;
use tokio::sync::mpsc;

use super::link::{Link, RawConn, server_error};
use crate::backend::{BackendResult, split_packed};
use crate::core::model::ScanRequest;
use crate::core::pace::Pacer;

/// One `SCAN` reply: the cursor it was sent with, the next one, the keys, and the `COUNT`
/// asked for.
#[derive(Debug)]
pub struct Step {
    /// The cursor the call was sent with.
    pub from: u64,
    /// The cursor to go on from (0: the end).
    pub next: u64,
    /// The keys it returned.
    pub keys: Vec<Bytes>,
    /// The `COUNT` it asked for.
    pub count: u32,
}

fn scan_command(request: &ScanRequest, cursor: u64, count: u32) -> Vec<u8> {
    super::scan_cmd(request, cursor, count).get_packed_command()
}

fn protocol(what: &str) -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("a SCAN reply {what}"),
    ))
}

/// A length line (`*2`, `$5`) read as its number; an error reply as the server's error.
fn length(line: &[u8], kind: u8) -> Result<usize, RedisError> {
    match line.split_first() {
        Some((k, digits)) if *k == kind => std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| protocol("had a length that is not a number")),
        _ => Err(server_error(line)),
    }
}

/// The head of a reply: `*2`, then the cursor as a bulk string.
async fn read_cursor(conn: &mut RawConn) -> Result<u64, RedisError> {
    if length(&conn.line().await?, b'*')? != 2 {
        return Err(protocol("was not a pair"));
    }
    let n = length(&conn.line().await?, b'$')?;
    if n > 20 {
        return Err(protocol("had a cursor longer than a number"));
    }
    let mut cursor = Vec::with_capacity(n);
    conn.bulk_into(n, &mut cursor).await?;
    std::str::from_utf8(&cursor)
        .ok()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| protocol("had a cursor that is not a number"))
}

/// The rest of a reply: its keys, packed into one buffer as the other listings do.
async fn read_keys(conn: &mut RawConn) -> Result<Vec<Bytes>, RedisError> {
    let n = length(&conn.line().await?, b'*')?;
    let mut buf = Vec::new();
    let mut ends = Vec::with_capacity(n.min(100_000));
    for _ in 0..n {
        let len = length(&conn.line().await?, b'$')?;
        conn.bulk_into(len, &mut buf).await?;
        ends.push(buf.len());
    }
    Ok(split_packed(buf, ends))
}

/// How often a budgeted listing measures the network's round trip again.
const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Times a `PING` (the network's round trip: the server does nothing for it).
async fn ping(conn: &mut RawConn, pacer: &mut Pacer) -> Result<(), RedisError> {
    let started = Instant::now();
    conn.send(b"*1\r\n$4\r\nPING\r\n").await?;
    let line = conn.line().await?;
    if line.as_slice() != b"+PONG" {
        return Err(server_error(&line));
    }
    pacer.round_trip(started.elapsed());
    Ok(())
}

/// Opens the listing's connection on `link`.
///
/// # Errors
/// The server cannot be reached or refuses the login.
pub async fn open(link: &Link) -> Result<RawConn, RedisError> {
    link.raw().await
}

/// Lists from `from` to the end, handing each reply, made into what the listing wants by
/// `each`, to `out`; stops at the first failure (handed on as the last item) or when `out` is
/// dropped. `fail` names the error as the backend does.
pub async fn run<T: Send>(
    mut conn: RawConn,
    request: ScanRequest,
    from: u64,
    out: mpsc::Sender<T>,
    fail: impl Fn(&RedisError) -> crate::backend::BackendError + Send,
    mut each: impl FnMut(BackendResult<Step>) -> T + Send,
) {
    let mut pacer = Pacer::new(request.budget_ms, request.count, Instant::now());
    let pipelined = pacer.budget_ms().is_none();
    let mut pinged = Instant::now();
    // Three round trips to start with: the least of them is the network's.
    for _ in 0..if pipelined { 0 } else { 3 } {
        if let Err(e) = ping(&mut conn, &mut pacer).await {
            let _ = out.send(each(Err(fail(&e)))).await;
            return;
        }
    }
    let mut cursor = from;
    let mut count = pacer.count();
    let mut sent_at = Instant::now();
    if let Err(e) = conn.send(&scan_command(&request, cursor, count)).await {
        let _ = out.send(each(Err(fail(&e)))).await;
        return;
    }
    loop {
        let next = match read_cursor(&mut conn).await {
            Ok(next) => next,
            Err(e) => {
                let _ = out.send(each(Err(fail(&e)))).await;
                return;
            }
        };
        let now = Instant::now();
        pacer.took(now.saturating_duration_since(sent_at), now);
        let asked = count;
        // Unthrottled, the next call goes now, while this reply's keys are read; within a
        // budget, once they are handed on and any wait is over.
        let mut sent_next = false;
        if next != 0 && pipelined {
            count = pacer.count();
            sent_at = Instant::now();
            if let Err(e) = conn.send(&scan_command(&request, next, count)).await {
                let _ = out.send(each(Err(fail(&e)))).await;
                return;
            }
            sent_next = true;
        }
        let keys = match read_keys(&mut conn).await {
            Ok(keys) => keys,
            Err(e) => {
                let _ = out.send(each(Err(fail(&e)))).await;
                return;
            }
        };
        let step = Step {
            from: cursor,
            next,
            keys,
            count: asked,
        };
        if out.send(each(Ok(step))).await.is_err() || next == 0 {
            return; // the listing is gone, or done
        }
        cursor = next;
        if !sent_next {
            tokio::time::sleep(pacer.wait(Instant::now())).await;
            // The network's round trip, measured again now and then (it changes).
            if pinged.elapsed() >= PING_EVERY {
                pinged = Instant::now();
                if let Err(e) = ping(&mut conn, &mut pacer).await {
                    let _ = out.send(each(Err(fail(&e)))).await;
                    return;
                }
            }
            count = pacer.count();
            sent_at = Instant::now();
            if let Err(e) = conn.send(&scan_command(&request, cursor, count)).await {
                let _ = out.send(each(Err(fail(&e)))).await;
                return;
            }
        }
    }
}
