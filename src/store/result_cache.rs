//! The job result cache: a job whose key (a hash of everything that decides its outcome, see
//! ARCHITECTURE.md) matches one that passed is not run again; its result, log, artifacts, dotenv
//! variables and JUnit reports are restored from here. Entries are written to a temporary
//! directory and renamed into place, carry a manifest with every file's size and digest, and are
//! ignored when anything does not match. The least recently used entries go first past the limit.
//!
//! The cache may be shared (`--result-cache DIR` on NFS or a mounted volume) by several
//! processes, checkouts and machines: an entry is written under a temporary name and renamed,
//! under an exclusive per-entry lock (`locks/<key>`); readers hold it shared while they verify and
//! restore; eviction takes the entries' locks without waiting and skips those in use. Each entry
//! keeps the named parts its key was computed from, and `jobs/` names the newest entry of each
//! job, so that a job that runs again can say what changed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped whenever what goes into a key or an entry changes, so old entries stop matching.
pub const FORMAT: &str = "tezos-ci-local result cache v4";

pub const DEFAULT_LIMIT: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub format: String,
    pub job: String,
    pub key: String,
    pub duration_ms: u64,
    pub exit_code: Option<i32>,
    pub coverage: Option<f64>,
    pub dotenv: Vec<(String, String)>,
    /// JUnit report files, relative to the entry's `junit/`.
    pub junit: Vec<String>,
    pub has_artifacts: bool,
    /// Every file of the entry but the manifest: relative path, size, sha256.
    pub files: Vec<(String, u64, String)>,
    /// The named parts the key was computed from (name, digest), but the project files.
    #[serde(default)]
    pub parts: Vec<(String, String)>,
    /// The project files' parts, kept once for all the entries that share them, in
    /// `manifests/<digest>` (a job's key covers thousands of files; most jobs see the same ones).
    #[serde(default)]
    pub files_manifest: Option<String>,
    /// Seconds since the epoch when it was stored.
    #[serde(default)]
    pub stored_at: u64,
}

impl Entry {
    /// What the job gave the jobs after it: its artifact files (path in the artifacts, sha256),
    /// as kept in the entry (checked on lookup).
    pub fn artifact_digests(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .filter_map(|(rel, _, d)| {
                rel.strip_prefix("artifacts/")
                    .map(|r| (r.to_string(), d.clone()))
            })
            .collect()
    }
}

/// What a cache hit gives back.
#[derive(Debug, Clone)]
pub struct Hit {
    pub entry: Entry,
    pub dir: PathBuf,
    /// Held shared while the hit is used: eviction by another process waits for it.
    _lock: Option<std::sync::Arc<EntryLock>>,
}

impl Hit {
    pub fn artifacts(&self) -> Option<PathBuf> {
        self.entry.has_artifacts.then(|| self.dir.join("artifacts"))
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("job.log")
    }
    pub fn junit(&self) -> Vec<PathBuf> {
        self.entry
            .junit
            .iter()
            .map(|j| self.dir.join("junit").join(j))
            .collect()
    }
}

pub struct ResultCache {
    root: PathBuf,
    limit: u64,
}

/// What to store for a passed job.
pub struct Store<'a> {
    pub job: &'a str,
    pub key: &'a str,
    pub duration: Duration,
    pub exit_code: Option<i32>,
    pub coverage: Option<f64>,
    pub dotenv: &'a [(String, String)],
    pub log: Option<&'a Path>,
    pub artifacts: Option<&'a Path>,
    pub junit: &'a [PathBuf],
    /// The named parts of the key (see [`Entry::parts`]); those named `file ...` go to a shared
    /// manifest.
    pub parts: &'a [(String, String)],
}

impl ResultCache {
    /// The cache under the state directory (`<state>/results`).
    pub fn new(state_dir: &Path, limit: u64) -> Self {
        Self::at(state_dir.join("results"), limit)
    }

    /// The cache in `root` itself (`--result-cache DIR`), which other processes may share.
    pub fn at(root: PathBuf, limit: u64) -> Self {
        ResultCache { root, limit }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry_dir(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// The entry for `key`, when it exists and is whole.
    pub fn lookup(&self, key: &str) -> Option<Hit> {
        let dir = self.entry_dir(key);
        if !dir.join("manifest.json").exists() {
            return None;
        }
        let lock = EntryLock::take(&self.root, key, false).ok();
        let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        if entry.format != FORMAT || entry.key != key {
            return None;
        }
        for (rel, size, digest) in &entry.files {
            let path = dir.join(rel);
            let meta = std::fs::symlink_metadata(&path).ok()?;
            if meta.len() != *size || file_digest(&path).ok()? != *digest {
                return None;
            }
        }
        // Mark it used, for the least-recently-used eviction.
        let _ = std::fs::write(dir.join("used"), b"");
        Some(Hit {
            entry,
            dir,
            _lock: lock.map(std::sync::Arc::new),
        })
    }

    /// The newest entry stored for `job` (by any process sharing the cache), unchecked: what a
    /// job that runs again is compared with, to say what changed.
    pub fn latest(&self, job: &str) -> Option<Entry> {
        let key = std::fs::read_to_string(self.job_pointer(job)).ok()?;
        let text =
            std::fs::read_to_string(self.entry_dir(key.trim()).join("manifest.json")).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        (entry.format == FORMAT && entry.job == job).then_some(entry)
    }

    /// An entry's parts, the project files' included (`None` when its manifest is gone).
    pub fn all_parts(&self, entry: &Entry) -> Option<Vec<(String, String)>> {
        let mut parts = entry.parts.clone();
        if let Some(m) = &entry.files_manifest {
            let text = std::fs::read_to_string(self.root.join("manifests").join(m)).ok()?;
            let files: Vec<(String, String)> = serde_json::from_str(&text).ok()?;
            parts.extend(files);
        }
        Some(parts)
    }

    fn job_pointer(&self, job: &str) -> PathBuf {
        let h: String = Sha256::digest(job.as_bytes())
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        self.root.join("jobs").join(h)
    }

    /// Writes `bytes` to `path` through a temporary file and a rename: readers in other
    /// processes see the old content or the new, never half of it.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
        std::io::Write::write_all(&mut tmp, bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Whether an entry is stored under `key` (not checked, not marked used: for `explain`).
    pub fn has(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    /// The manifest stored under `key` (not checked, not marked used: for `explain`).
    pub fn entry(&self, key: &str) -> Option<Entry> {
        std::fs::read_to_string(self.entry_dir(key).join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Entry>(&t).ok())
            .filter(|e| e.format == FORMAT && e.key == key)
    }

    /// Stores a passed job's result. Errors are returned for the caller to report; a failure to
    /// store never fails the job.
    pub fn store(&self, s: &Store) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let (file_parts, parts): (Vec<_>, Vec<_>) = s
            .parts
            .iter()
            .cloned()
            .partition(|(n, _)| n.starts_with("file "));
        let files_manifest = if file_parts.is_empty() {
            None
        } else {
            let bytes = serde_json::to_vec(&file_parts).map_err(std::io::Error::other)?;
            let digest: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let path = self.root.join("manifests").join(&digest);
            if path.exists() {
                // Mark it used, for eviction.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
            } else {
                self.write_atomic(&path, &bytes)?;
            }
            Some(digest)
        };
        let _lock = EntryLock::take(&self.root, s.key, true)?;
        if self.lookup_unlocked(s.key) {
            // Another process stored the same result meanwhile: keys say it is the same.
            return self.write_atomic(&self.job_pointer(s.job), s.key.as_bytes());
        }
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempdir_in(&self.root)?;
        let t = tmp.path();
        if let Some(log) = s.log {
            std::fs::copy(log, t.join("job.log"))?;
        } else {
            std::fs::write(t.join("job.log"), b"")?;
        }
        let has_artifacts = match s.artifacts {
            Some(a) if a.exists() => {
                copy_tree(a, &t.join("artifacts"))?;
                true
            }
            _ => false,
        };
        let mut junit = Vec::new();
        for (i, j) in s.junit.iter().enumerate() {
            let name = format!(
                "{i}-{}",
                j.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "report.xml".into())
            );
            std::fs::create_dir_all(t.join("junit"))?;
            std::fs::copy(j, t.join("junit").join(&name))?;
            junit.push(name);
        }
        let mut files = Vec::new();
        list_files(t, t, &mut files)?;
        let entry = Entry {
            format: FORMAT.into(),
            job: s.job.into(),
            key: s.key.into(),
            duration_ms: s.duration.as_millis() as u64,
            exit_code: s.exit_code,
            coverage: s.coverage,
            dotenv: s.dotenv.to_vec(),
            junit,
            has_artifacts,
            files,
            parts,
            files_manifest,
            stored_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        std::fs::write(
            t.join("manifest.json"),
            serde_json::to_vec_pretty(&entry).map_err(std::io::Error::other)?,
        )?;
        let dest = self.entry_dir(s.key);
        // A damaged entry is moved aside before it is removed: readers never see half of one.
        if dest.exists() {
            let aside = self.root.join(format!(".tmp-old-{}", s.key));
            let _ = std::fs::remove_dir_all(&aside);
            std::fs::rename(&dest, &aside)?;
            let _ = std::fs::remove_dir_all(&aside);
        }
        let kept = tmp.keep();
        std::fs::rename(&kept, &dest).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&kept);
        })?;
        self.write_atomic(&self.job_pointer(s.job), s.key.as_bytes())
    }

    /// Whether a whole entry is under `key` (the caller holds its lock).
    fn lookup_unlocked(&self, key: &str) -> bool {
        let dir = self.entry_dir(key);
        let Some(entry) = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Entry>(&t).ok())
        else {
            return false;
        };
        entry.format == FORMAT
            && entry.key == key
            && entry.files.iter().all(|(rel, size, digest)| {
                let path = dir.join(rel);
                std::fs::symlink_metadata(&path).is_ok_and(|m| m.len() == *size)
                    && file_digest(&path).is_ok_and(|d| d == *digest)
            })
    }

    /// Deletes the least recently used entries until the cache fits its limit, and leftovers of
    /// interrupted writes. Called once at the end of a run (it reads every entry: once per
    /// stored job would cost the number of jobs times the size of the cache).
    pub fn evict(&self) {
        // One process evicts at a time; the others leave it to the one that is.
        let Ok(evicting) = lock_file(&self.root.join("locks").join(".evict")) else {
            return;
        };
        if !matches!(flock(&evicting, libc::LOCK_EX | libc::LOCK_NB), Ok(true)) {
            return;
        }
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if matches!(name.as_str(), "jobs" | "locks" | "manifests") {
                continue;
            }
            if name.starts_with(".tmp-") {
                // A write that did not finish (the process was killed): older than an hour is dead.
                if e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m.elapsed().unwrap_or_default() > Duration::from_secs(3600))
                {
                    let _ = std::fs::remove_dir_all(&p);
                }
                continue;
            }
            let used = std::fs::metadata(p.join("used"))
                .or_else(|_| std::fs::metadata(p.join("manifest.json")))
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            entries.push((used, dir_size(&p), p));
        }
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort();
        for (_, size, path) in entries {
            if total <= self.limit {
                break;
            }
            let key = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // An entry another process is reading or writing is left for a later eviction.
            let Ok(Some(_lock)) = EntryLock::try_take(&self.root, &key) else {
                continue;
            };
            let aside = self.root.join(format!(".tmp-evicted-{key}"));
            if std::fs::rename(&path, &aside).is_ok() {
                let _ = std::fs::remove_dir_all(&aside);
                total -= size;
            }
        }
        // Shared file manifests no entry used for a day go too.
        if let Ok(rd) = std::fs::read_dir(self.root.join("manifests")) {
            for e in rd.flatten() {
                if e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m.elapsed().unwrap_or_default() > Duration::from_secs(86400))
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    pub fn clear(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// An advisory lock on one entry (`locks/<key>`), shared for readers and exclusive for writers
/// and eviction; released when dropped. Lock files stay (they are empty).
#[derive(Debug)]
pub struct EntryLock {
    _file: std::fs::File,
}

fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

impl EntryLock {
    fn path(root: &Path, key: &str) -> PathBuf {
        root.join("locks").join(key)
    }

    /// Waits for the lock.
    fn take(root: &Path, key: &str, exclusive: bool) -> std::io::Result<EntryLock> {
        let file = lock_file(&Self::path(root, key))?;
        flock(
            &file,
            if exclusive {
                libc::LOCK_EX
            } else {
                libc::LOCK_SH
            },
        )?;
        Ok(EntryLock { _file: file })
    }

    /// The exclusive lock, or `None` when someone holds it.
    fn try_take(root: &Path, key: &str) -> std::io::Result<Option<EntryLock>> {
        let file = lock_file(&Self::path(root, key))?;
        Ok(flock(&file, libc::LOCK_EX | libc::LOCK_NB)?.then_some(EntryLock { _file: file }))
    }
}

/// `flock(2)` (advisory, per open file, released on close; NFS emulates it with byte-range
/// locks). `Ok(false)`: `LOCK_NB` and someone else holds it.
fn flock(file: &std::fs::File, op: libc::c_int) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: the descriptor is open for as long as `file` is borrowed.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// `500M`, `2G`, `1024` (bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = s[i..].to_ascii_uppercase();
            let m: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
                "" => 1,
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                "T" => 1 << 40,
                _ => return None,
            };
            (&s[..i], m)
        }
        None => (s, 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as u64)
}

pub fn file_digest(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::symlink_metadata(path)?;
    let mut h = Sha256::new();
    if meta.file_type().is_symlink() {
        h.update(std::fs::read_link(path)?.to_string_lossy().as_bytes());
    } else {
        let mut f = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn list_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, u64, String)>,
) -> std::io::Result<()> {
    let mut rd: Vec<_> = std::fs::read_dir(dir)?.flatten().collect();
    rd.sort_by_key(|e| e.file_name());
    for e in rd {
        let p = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            list_files(root, &p, out)?;
        } else {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let size = std::fs::symlink_metadata(&p)?.len();
            out.push((rel, size, file_digest(&p)?));
        }
    }
    Ok(())
}

/// Copies a directory tree, keeping symlinks as symlinks.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    tree(from, to, &|src, dst| std::fs::copy(src, dst).map(drop))
}

/// Copies a directory tree by hard links where it can (the state directory is one file system:
/// no bytes copied), by copies where it cannot; symlinks stay symlinks.
pub fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    tree(from, to, &link_file)
}

/// Recreates the tree `from` at `to`: directories made, symlinks kept, files given to `file`.
fn tree(
    from: &Path,
    to: &Path,
    file: &dyn Fn(&Path, &Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)?.flatten() {
        let src = e.path();
        let dst = to.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_dir() {
            tree(&src, &dst, file)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            file(&src, &dst)?;
        }
    }
    Ok(())
}

/// A hard link, or a copy across file systems.
pub fn link_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)?;
    }
    Ok(())
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(cache: &ResultCache, key: &str, art: &Path) {
        cache
            .store(&Store {
                job: "build",
                key,
                duration: Duration::from_millis(1500),
                exit_code: Some(0),
                coverage: Some(80.0),
                dotenv: &[("V".into(), "1".into())],
                log: None,
                artifacts: Some(art),
                junit: &[],
                parts: &[],
            })
            .unwrap();
    }

    #[test]
    fn stores_and_restores() {
        let state = tempfile::tempdir().unwrap();
        let art = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(art.path().join("_build")).unwrap();
        std::fs::write(art.path().join("_build/bin"), b"binary").unwrap();
        let cache = ResultCache::new(state.path(), DEFAULT_LIMIT);
        assert!(cache.lookup("k1").is_none());
        store(&cache, "k1", art.path());
        let hit = cache.lookup("k1").expect("stored");
        assert_eq!(hit.entry.dotenv, [("V".to_string(), "1".to_string())]);
        assert_eq!(
            std::fs::read(hit.artifacts().unwrap().join("_build/bin")).unwrap(),
            b"binary"
        );
    }

    #[test]
    fn truncated_or_corrupt_entries_are_ignored() {
        let state = tempfile::tempdir().unwrap();
        let art = tempfile::tempdir().unwrap();
        std::fs::write(art.path().join("out.txt"), b"0123456789").unwrap();
        let cache = ResultCache::new(state.path(), DEFAULT_LIMIT);
        store(&cache, "k", art.path());
        let f = cache.root().join("k/artifacts/out.txt");
        std::fs::write(&f, b"01234").unwrap();
        assert!(cache.lookup("k").is_none(), "a truncated file is detected");
        store(&cache, "k", art.path());
        std::fs::write(&f, b"0123456780").unwrap();
        assert!(
            cache.lookup("k").is_none(),
            "same size, other content is detected"
        );
        store(&cache, "k", art.path());
        let m = cache.root().join("k/manifest.json");
        let text = std::fs::read_to_string(&m).unwrap();
        std::fs::write(&m, &text[..text.len() / 2]).unwrap();
        assert!(
            cache.lookup("k").is_none(),
            "a half-written manifest is ignored"
        );
    }

    #[test]
    fn least_recently_used_go_first() {
        let state = tempfile::tempdir().unwrap();
        let art = tempfile::tempdir().unwrap();
        std::fs::write(art.path().join("big"), vec![7u8; 4000]).unwrap();
        let cache = ResultCache::new(state.path(), 10_000);
        // Times set explicitly, not waited for: `a` used an hour ago, `b` a minute ago.
        let used_at = |key: &str, ago: u64| {
            std::fs::File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(cache.root().join(key).join("used"))
                .and_then(|f| {
                    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(ago))
                })
                .unwrap();
        };
        store(&cache, "a", art.path());
        used_at("a", 3600);
        store(&cache, "b", art.path());
        used_at("b", 60);
        cache.evict();
        assert!(cache.lookup("a").is_some()); // a is now more recently used than b
        store(&cache, "c", art.path());
        cache.evict();
        assert!(cache.lookup("b").is_none(), "b was the least recently used");
        assert!(cache.lookup("a").is_some() && cache.lookup("c").is_some());
    }

    #[test]
    fn concurrent_writers_of_one_shared_cache_never_leave_a_corrupt_entry() {
        let shared = tempfile::tempdir().unwrap();
        let art = tempfile::tempdir().unwrap();
        std::fs::write(art.path().join("big"), vec![5u8; 300_000]).unwrap();
        let root = shared.path().join("cache");
        std::thread::scope(|s| {
            for w in 0..4 {
                let (root, art) = (root.clone(), art.path());
                s.spawn(move || {
                    // Each writer is its own ResultCache, as another process would be.
                    let cache = ResultCache::at(root.clone(), DEFAULT_LIMIT);
                    for i in 0..10 {
                        store(&cache, &format!("k{}", i % 3), art);
                        let hit = cache.lookup(&format!("k{}", (i + w) % 3));
                        if let Some(hit) = hit {
                            let bytes =
                                std::fs::read(hit.artifacts().unwrap().join("big")).unwrap();
                            assert_eq!(bytes.len(), 300_000, "a reader sees a whole entry");
                        }
                        if i % 4 == w {
                            ResultCache::at(root.clone(), 1).evict();
                        }
                    }
                });
            }
        });
        let cache = ResultCache::at(root, DEFAULT_LIMIT);
        store(&cache, "k0", art.path());
        assert!(cache.lookup("k0").is_some());
        for e in std::fs::read_dir(cache.root()).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('k') {
                assert!(cache.lookup(&name).is_some(), "{name} is whole");
            }
        }
    }

    #[test]
    fn the_newest_entry_of_a_job_keeps_its_key_parts() {
        let state = tempfile::tempdir().unwrap();
        let art = tempfile::tempdir().unwrap();
        let cache = ResultCache::new(state.path(), DEFAULT_LIMIT);
        let parts = vec![
            ("script".to_string(), "s1".to_string()),
            ("file a.ml".to_string(), "f1".to_string()),
        ];
        cache
            .store(&Store {
                job: "build",
                key: "k1",
                duration: Duration::ZERO,
                exit_code: Some(0),
                coverage: None,
                dotenv: &[],
                log: None,
                artifacts: Some(art.path()),
                junit: &[],
                parts: &parts,
            })
            .unwrap();
        let latest = cache.latest("build").expect("stored");
        assert_eq!(latest.key, "k1");
        assert_eq!(
            latest.parts,
            parts[..1],
            "file parts go to a shared manifest"
        );
        assert_eq!(cache.all_parts(&latest).unwrap(), parts);
        assert!(cache.latest("test").is_none());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("lots"), None);
    }
}
