//! Tar streams between host directories and the engine, never held whole in memory: a tar is
//! written on a blocking thread into a small bounded channel that feeds the HTTP body, and a tar
//! coming from the engine is read on a blocking thread from a channel the response fills.

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

/// Chunks in flight between the tar thread and the engine: memory stays at about
/// `CHANNEL_DEPTH * CHUNK` whatever the size of the tree.
const CHANNEL_DEPTH: usize = 8;
const CHUNK: usize = 256 * 1024;

/// What goes into an upload, in order: later entries overwrite earlier ones when extracted.
pub enum Part {
    /// A host directory's contents, at the root of the archive.
    Tree(PathBuf),
    /// A file made up here: path in the archive, content, mode.
    File(String, Vec<u8>, u32),
}

/// A stream of a tar of `parts`, for `bollard::body_try_stream`. The engine sees an error (and
/// the upload fails) when reading the host files fails.
pub fn upload_stream(parts: Vec<Part>) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_DEPTH);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result = write_parts(&mut w, parts);
        match result {
            Ok(()) => {
                let _ = w.flush();
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

fn write_parts(w: &mut ChannelWriter, parts: Vec<Part>) -> io::Result<()> {
    let mut b = tar::Builder::new(w);
    for part in parts {
        match part {
            Part::Tree(dir) => append_tree(&mut b, &dir)?,
            Part::File(path, data, mode) => {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                h.set_mode(mode);
                h.set_mtime(now());
                b.append_data(&mut h, path, &data[..])?;
            }
        }
    }
    b.finish()
}

/// Appends a directory's contents, owned by root as a fresh clone in a container would be,
/// symlinks as symlinks.
fn append_tree<W: Write>(b: &mut tar::Builder<W>, root: &Path) -> io::Result<()> {
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(&rel))?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let child = rel.join(e.file_name());
            let meta = std::fs::symlink_metadata(e.path())?;
            let mut h = tar::Header::new_gnu();
            h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(meta.mtime().max(0) as u64);
            let ft = meta.file_type();
            if ft.is_dir() {
                h.set_size(0);
                b.append_data(&mut h, &child, io::empty())?;
                stack.push(child);
            } else if ft.is_symlink() {
                h.set_size(0);
                b.append_link(&mut h, &child, std::fs::read_link(e.path())?)?;
            } else if ft.is_file() {
                b.append_data(&mut h, &child, std::fs::File::open(e.path())?)?;
            }
        }
    }
    Ok(())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the engine stopped reading"))
    }
}

/// Runs `consume` on a blocking thread, reading what `stream` yields; the async side pumps the
/// stream into a bounded channel so a slow consumer slows the download instead of filling memory.
pub async fn consume_stream<S, E, T>(
    stream: S,
    consume: impl FnOnce(&mut dyn Read) -> io::Result<T> + Send + 'static,
) -> io::Result<T>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_DEPTH);
    let reader = tokio::task::spawn_blocking(move || {
        let mut r = ChannelReader {
            rx,
            chunk: Bytes::new(),
        };
        let out = consume(&mut r);
        // Drain what is left so the pump does not wait on a full channel.
        let _ = io::copy(&mut r, &mut io::sink());
        out
    });
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        let item = item.map_err(|e| io::Error::other(e.to_string()));
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    reader.await.map_err(io::Error::other)?
}

struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.chunk = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tree_round_trips_through_the_channels() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("d")).unwrap();
        std::fs::write(src.join("d/f"), vec![7u8; 3 * CHUNK + 5]).unwrap();
        std::os::unix::fs::symlink("d/f", src.join("l")).unwrap();
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_DEPTH);
        let parts = vec![
            Part::Tree(src.clone()),
            Part::File("x/made".into(), b"hi".to_vec(), 0o600),
        ];
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = ChannelWriter {
                tx,
                buf: Vec::new(),
            };
            write_parts(&mut w, parts)?;
            w.flush()
        });
        let stream =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|i| (i, rx)) },
            );
        let dest = t.path().join("dest");
        let d2 = dest.clone();
        consume_stream(stream, move |r| tar::Archive::new(r).unpack(&d2))
            .await
            .unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(
            std::fs::read(dest.join("d/f")).unwrap().len(),
            3 * CHUNK + 5
        );
        assert_eq!(
            std::fs::read_link(dest.join("l")).unwrap(),
            Path::new("d/f")
        );
        assert_eq!(std::fs::read(dest.join("x/made")).unwrap(), b"hi");
    }
}
