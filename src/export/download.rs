//! An export streamed to an HTTP client (the dashboard's CSV download).
//!
//! The export writes synchronously (csv::Writer), so it runs on a blocking thread that
//! drives its async queries with the runtime's handle, and hands chunks to the response
//! body over a small bounded channel: a slow client blocks that thread, never a runtime
//! worker, and memory stays at a few chunks whatever the number of rows. A client that
//! goes away drops the body, the channel's next send fails, and the export stops reading
//! the database (tests/api/export.rs shows it).

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use futures_util::Stream;
use tokio::task::JoinHandle;

use super::{ExportOptions, Summary, export};
use crate::db::DbPool;
use crate::survey::Definition;

/// Chunks written ahead of the client: with 64 KiB chunks, at most about 320 KiB of an
/// export is in memory at once.
const CHUNKS_AHEAD: usize = 4;

/// How a streamed export ended.
#[derive(Debug)]
pub enum Ended {
    /// Every row was sent to the body.
    Complete(Summary),
    /// The client went away (the body was dropped) before the end; the export stopped.
    Cancelled,
    /// The export itself failed; the body ends with an error.
    Failed(anyhow::Error),
}

/// Start exporting `opts` on a blocking thread. Returns the response body, in chunks of
/// about `chunk` bytes, and the export's outcome (which a handler may simply drop).
pub fn stream(
    pool: DbPool,
    def: Arc<Definition>,
    secret: Vec<u8>,
    opts: ExportOptions,
    chunk: usize,
) -> (
    impl Stream<Item = io::Result<Vec<u8>>> + Send + 'static,
    JoinHandle<Ended>,
) {
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(CHUNKS_AHEAD);
    let handle = tokio::runtime::Handle::current();
    let cancelled = Arc::new(AtomicBool::new(false));
    let finished = tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(chunk),
            chunk,
            cancelled: cancelled.clone(),
        };
        let outcome = handle.block_on(async {
            let (summary, mut writer) = export(&pool, &def, &secret, &opts, writer).await?;
            writer.flush()?;
            anyhow::Ok(summary)
        });
        match outcome {
            Ok(summary) => Ended::Complete(summary),
            Err(_) if cancelled.load(Ordering::Relaxed) => Ended::Cancelled,
            Err(e) => {
                let _ = tx.send(Err(io::Error::other("export failed")));
                Ended::Failed(e)
            }
        }
    });
    (body(rx), finished)
}

/// The receiving end as a stream. Each chunk is awaited on the blocking pool too (a std
/// channel); the receiver travels with the pending receive, so dropping the stream drops
/// it at the latest when that receive returns, and the sender sees it at its next send.
fn body(rx: Receiver<io::Result<Vec<u8>>>) -> impl Stream<Item = io::Result<Vec<u8>>> {
    futures_util::stream::unfold(rx, |rx| async move {
        let (item, rx) = tokio::task::spawn_blocking(move || (rx.recv().ok(), rx))
            .await
            .ok()?;
        item.map(|chunk| (chunk, rx))
    })
}

/// Sends what the export writes to the body in chunks of `chunk` bytes.
struct ChannelWriter {
    tx: SyncSender<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    chunk: usize,
    /// Set when a send failed: the receiver, the response body, is gone.
    cancelled: Arc<AtomicBool>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk));
        self.tx.send(Ok(full)).map_err(|_| {
            self.cancelled.store(true, Ordering::Relaxed);
            io::Error::new(io::ErrorKind::BrokenPipe, "download cancelled")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.chunk {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
