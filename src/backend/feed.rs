//! What a subscription or `MONITOR` delivers, held between the socket and the UI: a bounded
//! queue the reading task fills without ever waiting — the oldest items dropped and counted
//! when the UI falls behind — and the service drains in batches a few times a second.
//!
//! The socket is read at the server's speed whatever the UI does: a server whose subscriber
//! stops reading buffers for it and, past `client-output-buffer-limit pubsub`, drops it.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::core::model::{StreamItem, Weigh};

/// Items held at most before the oldest go.
pub const MAX_ITEMS: usize = 100_000;
/// Bytes held at most before the oldest go.
pub const MAX_BYTES: usize = 64 << 20;

#[derive(Default)]
struct Inner {
    items: VecDeque<StreamItem>,
    bytes: usize,
    dropped: u64,
    received: u64,
}

/// The queue of one stream.
#[derive(Default)]
pub struct Feed(Mutex<Inner>);

/// What a drain gives.
#[derive(Debug, Default)]
pub struct Drained {
    /// The items, oldest first.
    pub items: Vec<StreamItem>,
    /// Items dropped since the last drain because the queue was full.
    pub dropped: u64,
    /// Items received in all, kept or not.
    pub received: u64,
}

impl Feed {
    /// Adds an item; never waits. The oldest go while the queue is over its bounds.
    pub fn push(&self, item: StreamItem) {
        let Ok(mut inner) = self.0.lock() else {
            return;
        };
        inner.received += 1;
        inner.bytes += item.weight();
        inner.items.push_back(item);
        while inner.items.len() > MAX_ITEMS || inner.bytes > MAX_BYTES {
            let Some(old) = inner.items.pop_front() else {
                break;
            };
            inner.bytes = inner.bytes.saturating_sub(old.weight());
            inner.dropped += 1;
        }
    }

    /// Takes everything held (at most `max` items).
    pub fn drain(&self, max: usize) -> Drained {
        let Ok(mut inner) = self.0.lock() else {
            return Drained::default();
        };
        let n = inner.items.len().min(max);
        let items: Vec<StreamItem> = inner.items.drain(..n).collect();
        let taken: usize = items.iter().map(Weigh::weight).sum();
        inner.bytes = inner.bytes.saturating_sub(taken);
        Drained {
            items,
            dropped: std::mem::take(&mut inner.dropped),
            received: inner.received,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{MonitorLine, StreamItem};

    fn line(i: usize) -> StreamItem {
        StreamItem::Command(MonitorLine {
            at: i.to_string(),
            node: None,
            db: "0".into(),
            client: "c".into(),
            args: vec![bytes::Bytes::from(vec![b'x'; 10])],
        })
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_them() {
        let feed = Feed::default();
        for i in 0..MAX_ITEMS + 5 {
            feed.push(line(i));
        }
        let first = feed.drain(10);
        assert_eq!(first.dropped, 5);
        assert_eq!(first.received, (MAX_ITEMS + 5) as u64);
        assert_eq!(first.items[0], line(5), "the oldest went");
        let rest = feed.drain(usize::MAX);
        assert_eq!(rest.items.len(), MAX_ITEMS - 10);
        assert_eq!(rest.dropped, 0);
        assert!(feed.drain(usize::MAX).items.is_empty());
    }
}
