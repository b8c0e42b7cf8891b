//! Files and writers of the export: a writer that hashes what it writes (the manifest's
//! SHA-256), and files that appear under their final name only when complete.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Passes bytes through to `inner`, counting them and hashing them with SHA-256.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the byte count and the hex SHA-256 of everything written.
    pub fn finish(mut self) -> io::Result<(W, u64, String)> {
        self.inner.flush()?;
        Ok((self.inner, self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file written under a temporary name in the target's directory and renamed into
/// place by [`AtomicFile::commit`]; dropped without commit, it removes itself, so a
/// failed export never leaves a partial file under the output name.
pub struct AtomicFile {
    file: Option<std::io::BufWriter<std::fs::File>>,
    temp: PathBuf,
    target: PathBuf,
}

impl AtomicFile {
    pub fn create(target: &Path) -> anyhow::Result<AtomicFile> {
        let name = target
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("{}: not a file name", target.display()))?;
        let dir = target.parent().filter(|d| !d.as_os_str().is_empty());
        let temp_name = format!(
            ".{}.{}-{:08x}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            rand::random::<u32>()
        );
        let temp = dir.map_or_else(|| PathBuf::from(&temp_name), |d| d.join(&temp_name));
        // Owner-only from the start: an export may hold personal data.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", target.display()))?;
        Ok(AtomicFile {
            file: Some(std::io::BufWriter::new(file)),
            temp,
            target: target.to_path_buf(),
        })
    }

    /// Flush and sync to disk, still under the temporary name (a pair of files is
    /// synced before either is renamed).
    pub fn sync(&mut self) -> anyhow::Result<()> {
        let target = &self.target;
        let fail = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", target.display());
        if let Some(buf) = &mut self.file {
            buf.flush().map_err(fail)?;
            buf.get_ref().sync_all().map_err(fail)?;
        }
        Ok(())
    }

    /// Flush, sync and rename into place.
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.sync()?;
        let target = self.target.clone();
        let fail = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", target.display());
        // Taken only now: until the rename succeeds, dropping removes the temporary file.
        std::fs::rename(&self.temp, &self.target).map_err(fail)?;
        self.file.take();
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Write `bytes` to `path` through an [`AtomicFile`].
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    f.commit()
}
