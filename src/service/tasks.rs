//! The work a connection does for one request: a listing streamed in batches, a pattern
//! delete or a memory analysis with progress, a metrics sampler, and one-answer requests.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;

use super::{CommandKind, ConnId, EventKind, EventSender, MIN_METRICS_INTERVAL, ReqId, ScanState};
use crate::backend::ops::{Chunks, Pages, preview};
use crate::backend::{BackendError, CacheBackend};
use crate::core::model::{DumpedKey, KeyType, PageCursor, ScanRequest, TtlChange, WriteOp};

/// How often a stream's items go to the UI (a batch a frame or so; fewer events than items).
const STREAM_BATCH_EVERY: Duration = Duration::from_millis(50);
/// Items per batch at most (the rest wait for the next one).
const STREAM_BATCH_MAX: usize = 20_000;

/// What a stream listens to.
pub(super) enum Listen {
    /// Channels and patterns.
    Subscribe(crate::core::model::Subscription),
    /// `MONITOR` on these nodes.
    Monitor(Vec<String>),
}

/// Aborts the task it holds when dropped (the reading task of a stream whose job ended).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One request's work: the backend it runs on and where its events go.
pub(super) struct Job {
    pub backend: Arc<dyn CacheBackend>,
    pub events: EventSender,
    pub conn: ConnId,
    pub req: ReqId,
}

impl Job {
    pub(super) async fn send(&self, kind: EventKind) -> bool {
        self.events.conn(self.conn, self.req, kind).await
    }

    /// Sends the one answer of a request that has one.
    pub async fn answer(self, work: CommandKind) {
        let kind = match answer(self.backend.as_ref(), work).await {
            Ok(kind) => kind,
            Err(e) => EventKind::Failed(e),
        };
        self.send(kind).await;
    }

    /// Runs a console command: asks first when it is dangerous and `ask_dangerous`, else
    /// sends it through the guard and answers with its replies.
    pub async fn exec(
        self,
        args: Vec<bytes::Bytes>,
        on: crate::core::model::ExecOn,
        ask_dangerous: bool,
    ) {
        let run = async {
            if ask_dangerous {
                let facts = self.backend.command_facts(&args).await?;
                if facts.dangerous && self.backend.capabilities().write {
                    let name = args
                        .first()
                        .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
                        .unwrap_or_default();
                    return Ok(EventKind::ExecAsk { name });
                }
            }
            let started = Instant::now();
            let replies = self.backend.execute(&args, &on).await?;
            Ok(EventKind::ExecDone {
                replies,
                took: started.elapsed(),
            })
        };
        let kind = run.await.unwrap_or_else(EventKind::Failed);
        self.send(kind).await;
    }

    /// Runs a subscription or `MONITOR`: a task reads the server into a bounded [`Feed`]
    /// at the server's speed, this one sends what it holds to the UI every
    /// [`STREAM_BATCH_EVERY`] (waiting on a slow UI never slows the reading), until the
    /// stream fails or the job is aborted (which aborts the reader and closes its
    /// connections).
    ///
    /// [`Feed`]: crate::backend::feed::Feed
    pub async fn stream(self, what: Listen) {
        use crate::backend::feed::Feed;
        let feed = Arc::new(Feed::default());
        let reader = {
            let backend = self.backend.clone();
            let feed = feed.clone();
            tokio::spawn(async move {
                match what {
                    Listen::Subscribe(subscription) => backend.subscribe(&subscription, feed).await,
                    Listen::Monitor(nodes) => backend.monitor(&nodes, feed).await,
                }
            })
        };
        let _reader_stops_with_this_job = AbortOnDrop(reader.abort_handle());
        let mut tick = tokio::time::interval(STREAM_BATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sent_received = 0;
        loop {
            tick.tick().await;
            let finished = reader.is_finished();
            let batch = feed.drain(STREAM_BATCH_MAX);
            if !batch.items.is_empty() || batch.dropped > 0 || batch.received != sent_received {
                sent_received = batch.received;
                let event = EventKind::StreamBatch {
                    items: batch.items,
                    dropped: batch.dropped,
                    received: batch.received,
                };
                if !self.send(event).await {
                    return;
                }
                continue;
            }
            if finished {
                let error = match reader.await {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => BackendError::Server {
                        command: "listen".into(),
                        reason: "the server ended the stream".into(),
                    },
                    Err(e) => BackendError::Internal(format!("the stream stopped: {e}")),
                };
                self.send(EventKind::Failed(error)).await;
                return;
            }
        }
    }

    /// Sorts keys on the blocking pool and sends them in order.
    pub async fn sort(self, sort: crate::core::keyindex::SortJob) {
        let kind = match tokio::task::spawn_blocking(move || sort.run()).await {
            Ok(sorted) => EventKind::KeysSorted(sorted),
            Err(e) => EventKind::Failed(BackendError::Internal(format!("the sort stopped: {e}"))),
        };
        self.send(kind).await;
    }

    /// Streams a listing in batches until it is done, reaches `limit` matches, or the UI is
    /// gone.
    pub async fn scan(self, request: ScanRequest, from_cursor: u64, limit: Option<u64>) {
        match self.backend.key_count().await {
            Ok(total_keys) => {
                if !self.send(EventKind::ScanStarted { total_keys }).await {
                    return;
                }
            }
            Err(e) => {
                self.send(EventKind::Failed(e)).await;
                return;
            }
        }
        let mut matched: u64 = 0;
        let mut pages = Pages::new(self.backend.as_ref(), &request, from_cursor);
        loop {
            let page = match pages.next().await {
                Ok(Some(page)) => page,
                // A listing always ends with the page whose cursor is 0; nothing follows it.
                Ok(None) => return,
                Err(e) => {
                    self.send(EventKind::Failed(e)).await;
                    return;
                }
            };
            matched += page.keys.len() as u64;
            let state = if page.next_cursor == 0 {
                ScanState::Done
            } else if limit.is_some_and(|l| matched >= l) {
                ScanState::Paused
            } else {
                ScanState::Running
            };
            let kind = EventKind::ScanBatch {
                keys: page.keys,
                cursor: page.next_cursor,
                progress: page.progress,
                parts: page.parts,
                note: page.note,
                count: page.count,
                state,
            };
            if !self.send(kind).await || state != ScanState::Running {
                return;
            }
        }
    }

    /// Deletes what `request` matches, reporting progress, until done or `cancel` is set.
    pub async fn delete_matching(self, request: ScanRequest, cancel: Arc<AtomicBool>) {
        let (report, forward) = self.progress(EventKind::DeleteProgress);
        let result = self
            .backend
            .delete_matching(&request, &cancel, &report)
            .await;
        drop(report);
        let _ = forward.await;
        self.send(match result {
            Ok(done) => EventKind::DeleteDone(done),
            Err(e) => EventKind::Failed(e),
        })
        .await;
    }

    /// Runs a memory analysis, reporting progress; its report comes even when cancelled.
    pub async fn analyze(
        self,
        request: crate::backend::analysis::AnalysisRequest,
        cancel: Arc<AtomicBool>,
    ) {
        let (report, forward) =
            self.progress(|(keys, progress)| EventKind::AnalysisProgress { keys, progress });
        let progress = move |keys: u64, progress: f64| report((keys, progress));
        let result =
            crate::backend::analysis::analyze(self.backend.as_ref(), &request, &cancel, &progress)
                .await;
        drop(progress);
        let _ = forward.await;
        self.send(match result {
            Ok(report) => EventKind::AnalysisDone(report),
            Err(e) => EventKind::Failed(e),
        })
        .await;
    }

    /// Counts what `request` lists into a namespace tree, a page at a time, keeping no key;
    /// the tree comes when the listing ends or `cancel` is set.
    pub async fn census(self, request: ScanRequest, delimiter: String, cancel: Arc<AtomicBool>) {
        let (report, forward) =
            self.progress(|(keys, progress)| EventKind::CensusProgress { keys, progress });
        let mut census = crate::core::census::Census::new(&delimiter);
        let mut pages = Pages::new(self.backend.as_ref(), &request, 0);
        let mut cancelled = false;
        let mut reported = Instant::now();
        let result = loop {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                cancelled = true;
                break Ok(());
            }
            match pages.next().await {
                Ok(Some(page)) => {
                    for key in &page.keys {
                        census.add(key);
                    }
                    if reported.elapsed() >= Duration::from_millis(100) {
                        reported = Instant::now();
                        report((census.keys(), page.progress));
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        drop(report);
        let _ = forward.await;
        self.send(match result {
            Ok(()) => EventKind::CensusDone(Box::new(census), cancelled),
            Err(e) => EventKind::Failed(e),
        })
        .await;
    }

    /// Samples the backend's figures every `interval` until aborted or the UI is gone.
    pub async fn sample(self, interval: Duration) {
        let interval = interval.max(MIN_METRICS_INTERVAL);
        let mut prev: Option<crate::core::metrics::Sample> = None;
        loop {
            let started = Instant::now();
            let result = self.backend.stats().await;
            let took = started.elapsed();
            let next_in = crate::core::metrics::sampling_wait(interval, took);
            let kind = match result {
                Ok(servers) => {
                    let sample = crate::core::metrics::Sample {
                        at_ms: crate::core::ttl::now_unix_ms(),
                        servers,
                    };
                    let derived = crate::core::metrics::derive(prev.as_ref(), &sample);
                    prev = Some(sample.clone());
                    EventKind::Metrics {
                        sample,
                        derived,
                        took,
                        next_in,
                    }
                }
                Err(e) => EventKind::MetricsFailed(e),
            };
            if !self.send(kind).await {
                return;
            }
            tokio::time::sleep(next_in.saturating_sub(started.elapsed())).await;
        }
    }

    /// Progress reports of a long job go to the UI through a small channel, so the job never
    /// waits on the UI; a report dropped because the UI is behind is followed by a newer one.
    fn progress<P: Send + 'static>(
        &self,
        to_event: fn(P) -> EventKind,
    ) -> (
        impl Fn(P) + Send + Sync + use<P>,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, mut rx) = mpsc::channel::<P>(4);
        let (events, conn, req) = (self.events.clone(), self.conn, self.req);
        let forward = tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                events.conn(conn, req, to_event(p)).await;
            }
        });
        let report = move |p: P| {
            let _ = tx.try_send(p);
        };
        (report, forward)
    }
}

/// The one answer to a request that has one.
async fn answer(backend: &dyn CacheBackend, work: CommandKind) -> Result<EventKind, BackendError> {
    Ok(match work {
        CommandKind::ListDatabases => EventKind::Databases(backend.databases().await?),
        CommandKind::FetchMeta { keys } => {
            let meta = backend.key_meta(&keys).await?;
            EventKind::Meta { keys, meta }
        }
        CommandKind::OpenKey { key, page_size } => {
            let details = backend.key_details(&key).await?;
            let page = backend
                .read_page(&key, &details.meta.key_type, &PageCursor::Start, page_size)
                .await?;
            EventKind::KeyOpened { key, details, page }
        }
        CommandKind::ReadPage {
            key,
            key_type,
            cursor,
            page_size,
        } => {
            let page = backend
                .read_page(&key, &key_type, &cursor, page_size)
                .await?;
            EventKind::Page { key, page }
        }
        CommandKind::FindInValue {
            key,
            key_type,
            pattern,
            cursor,
            page_size,
        } => {
            let page = backend
                .find_in_value(&key, &key_type, &pattern, &cursor, page_size)
                .await?;
            EventKind::Found { key, pattern, page }
        }
        CommandKind::SaveValue { key, path } => {
            let bytes = save_value(backend, &key, &path).await?;
            EventKind::Saved { path, bytes }
        }
        CommandKind::Write { op } => {
            let outcome = backend.write(&op).await?;
            EventKind::Written { op, outcome }
        }
        CommandKind::ChangeTtl { key, ttl } => {
            let saved = backend
                .dump(std::slice::from_ref(&key))
                .await?
                .into_iter()
                .flatten()
                .next();
            let op = WriteOp::SetTtl { key, ttl };
            let outcome = backend.write(&op).await?;
            EventKind::TtlChanged { op, outcome, saved }
        }
        CommandKind::UndoTtl { saved } => {
            let ttl = saved
                .expire_at_unix_ms
                .map_or(TtlChange::Persist, TtlChange::AtUnixMs);
            let op = WriteOp::SetTtl {
                key: saved.key.clone(),
                ttl,
            };
            match backend.write(&op).await {
                Ok(outcome) => EventKind::Written { op, outcome },
                // The change made it expire: it comes back whole, with its old TTL.
                Err(BackendError::KeyNotFound(_)) => {
                    let op = WriteOp::Restore { keys: vec![saved] };
                    let outcome = backend.write(&op).await?;
                    EventKind::Written { op, outcome }
                }
                Err(e) => return Err(e),
            }
        }
        CommandKind::DeleteWithUndo { keys } => {
            let saved: Vec<DumpedKey> = backend.dump(&keys).await?.into_iter().flatten().collect();
            let deleted = backend.write(&WriteOp::Delete { keys }).await?.changed();
            EventKind::Deleted { saved, deleted }
        }
        CommandKind::ServerInfo => EventKind::ServerInfo(backend.server_info().await?),
        CommandKind::SlowLog { count } => EventKind::SlowLog(backend.slow_log(count).await?),
        CommandKind::Nodes => EventKind::Nodes(backend.nodes().await?),
        CommandKind::Clients => EventKind::Clients(backend.clients().await?),
        CommandKind::CommandDocs => EventKind::CommandDocs(backend.command_docs().await?),
        CommandKind::SaveText { path, text } => save_text(path, text).await?,
        CommandKind::PreviewImport { path } => super::transfers::previewed(path).await?,
        work @ (CommandKind::LaravelTags { .. } | CommandKind::TagKeys { .. }) => {
            return laravel_answer(backend, work).await;
        }
        CommandKind::Preview { request, sample } => {
            let (matched, sample) = preview(backend, &request, sample).await?;
            EventKind::Previewed { matched, sample }
        }
        other => {
            return Err(BackendError::Internal(format!(
                "{other:?} has no single answer"
            )));
        }
    })
}

/// Writes `text` to `path`, whole or not at all, on the blocking pool.
async fn save_text(path: std::path::PathBuf, text: String) -> Result<EventKind, BackendError> {
    let bytes = text.len() as u64;
    let target = path.clone();
    tokio::task::spawn_blocking(move || super::files::write_whole(&target, text.as_bytes()))
        .await
        .map_err(|e| BackendError::Internal(format!("the save stopped: {e}")))?
        .map_err(BackendError::File)?;
    Ok(EventKind::Saved { path, bytes })
}

/// The answers about Laravel's cache tags.
async fn laravel_answer(
    backend: &dyn CacheBackend,
    work: CommandKind,
) -> Result<EventKind, BackendError> {
    use crate::backend::laravel::{tag_members, tags_of};
    Ok(match work {
        CommandKind::LaravelTags { key } => {
            let tags = tags_of(backend, &key).await?;
            EventKind::LaravelTags { key, tags }
        }
        CommandKind::TagKeys { tag } => {
            let keys = tag_members(backend, &tag.root, &tag.name).await?;
            EventKind::TagKeys { tag, keys }
        }
        other => {
            return Err(BackendError::Internal(format!(
                "{other:?} is not about Laravel's tags"
            )));
        }
    })
}

/// Streams a string value to `path` in chunks, whole or not at all.
async fn save_value(
    backend: &dyn CacheBackend,
    key: &[u8],
    path: &Path,
) -> Result<u64, BackendError> {
    let details = backend.key_details(key).await?;
    if details.meta.key_type != KeyType::String {
        return Err(BackendError::Unsupported(
            "only string values can be saved to a file".to_owned(),
        ));
    }
    let file_err = |e: std::io::Error| BackendError::File(format!("{}: {e}", path.display()));
    // Write next to the target and rename, so a failure never leaves half a file behind.
    let tmp = path.with_extension("cache-console-partial");
    let mut file = tokio::fs::File::create(&tmp).await.map_err(file_err)?;
    let mut chunks = Chunks::new(backend, key, details.length);
    let result: Result<(), BackendError> = async {
        while let Some(chunk) = chunks.next().await? {
            file.write_all(&chunk).await.map_err(file_err)?;
        }
        file.flush().await.map_err(file_err)?;
        file.sync_all().await.map_err(file_err)?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    tokio::fs::rename(&tmp, path).await.map_err(file_err)?;
    Ok(chunks.read())
}
