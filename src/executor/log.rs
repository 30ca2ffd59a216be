//! A job's log on its way out: split into lines, masked, written to the job's log file, and sent
//! to the dispatcher as events. Memory and disk stay bounded whatever the job prints: lines are
//! capped, the channel is bounded (a job that prints fast waits for the writer), and the log is
//! capped as GitLab caps a job log (4 MiB by default): past half the cap, lines are kept only in a
//! ring of the last half, written at the end after a line saying how much was cut.

use std::io::Write;
use std::path::Path;

use tokio::sync::mpsc;

use crate::mask::Masker;

/// The longest line kept whole; longer output is cut into pieces of this size.
const MAX_LINE: usize = 64 * 1024;

/// GitLab's default limit on a job's log (`output_limit`, 4 MiB).
pub const DEFAULT_LOG_LIMIT: u64 = 4 * 1024 * 1024;

/// A line of a job's log, for the dispatcher.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub job: String,
    pub line: String,
}

pub struct LogSink {
    job: String,
    file: Option<std::io::BufWriter<std::fs::File>>,
    tx: Option<mpsc::Sender<LogLine>>,
    masks: Masker,
    partial: Vec<u8>,
    coverage: Option<regex::Regex>,
    /// `--timestamps`.
    timestamps: bool,
    /// Shared with the dispatcher, which reads it once the executor has consumed the sink.
    last_coverage: std::sync::Arc<std::sync::Mutex<Option<f64>>>,
    tail: std::collections::VecDeque<String>,
    cap: Cap,
}

/// The head and tail of a log that outgrows its limit.
struct Cap {
    /// Bytes kept from the start, and at most as many from the end.
    half: u64,
    /// Bytes of the head written so far.
    written: u64,
    /// Past the head: the last lines, newline-terminated, at most `half` bytes.
    ring: std::collections::VecDeque<u8>,
    /// Bytes dropped between the head and the ring.
    cut: u64,
    /// Whether the ring starts at the start of a line.
    aligned: bool,
    cutting: bool,
}

/// How many last lines a sink remembers, for the summary of a failed job.
pub const TAIL_LINES: usize = 20;

impl LogSink {
    /// `file`: where the log is written. `masks`: values replaced by `[MASKED]`. `coverage`: the
    /// job's `coverage:` regex (without slashes); the last match in the log is the job's coverage.
    pub fn new(
        job: &str,
        file: Option<&Path>,
        tx: Option<mpsc::Sender<LogLine>>,
        masks: Vec<String>,
        coverage: Option<regex::Regex>,
    ) -> std::io::Result<Self> {
        let file = match file {
            Some(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                Some(std::io::BufWriter::new(std::fs::File::create(p)?))
            }
            None => None,
        };
        let masks = Masker::new(masks);
        Ok(LogSink {
            job: job.to_string(),
            file,
            tx,
            masks,
            partial: Vec::new(),
            coverage,
            timestamps: false,
            last_coverage: Default::default(),
            tail: Default::default(),
            cap: Cap {
                half: DEFAULT_LOG_LIMIT / 2,
                written: 0,
                ring: Default::default(),
                cut: 0,
                aligned: true,
                cutting: false,
            },
        })
    }

    /// Caps the log at `bytes` (the first and last halves are kept).
    pub fn with_limit(mut self, bytes: u64) -> Self {
        self.cap.half = bytes / 2;
        self
    }

    /// Starts every line with the UTC time it was written, as GitLab's `FF_TIMESTAMPS` does
    /// (`--timestamps`).
    pub fn with_timestamps(mut self) -> Self {
        self.timestamps = true;
        self
    }

    /// A sink that keeps nothing but the tail (tests).
    pub fn discard(job: &str) -> Self {
        LogSink::new(job, None, None, Vec::new(), None).expect("no file to open")
    }

    /// Takes raw output, which may end in the middle of a line.
    pub async fn write(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let rest = self.partial.split_off(pos + 1);
            let mut line = std::mem::replace(&mut self.partial, rest);
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.emit(&line).await;
        }
        // Enough is held past the cut to see a masked value that straddles it.
        let hold = self.masks.values().first().map_or(0, |v| v.len() - 1);
        while self.partial.len() > MAX_LINE + hold {
            // A masked value is never cut in two: each piece is masked on its own.
            let cut = self.masks.safe_cut(&self.partial, MAX_LINE);
            let rest = self.partial.split_off(cut);
            let chunk = std::mem::replace(&mut self.partial, rest);
            self.emit(&chunk).await;
        }
        // Once per chunk of output, not per line: `logs JOB --follow` sees the log as it grows.
        if let Some(f) = &mut self.file {
            let _ = f.flush();
        }
    }

    /// A line written by the runner itself (not the job), such as `$ command` echoes or notices.
    /// It starts on a line of its own: the job's unterminated output goes first.
    pub async fn line(&mut self, text: &str) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.emit(&rest).await;
        }
        self.emit(text.as_bytes()).await;
        if let Some(f) = &mut self.file {
            let _ = f.flush();
        }
    }

    async fn emit(&mut self, raw: &[u8]) {
        // Progress bars redraw with carriage returns; keep what the terminal would finally show.
        let raw = match raw.iter().rposition(|&b| b == b'\r') {
            Some(p) => &raw[p + 1..],
            None => raw,
        };
        let mut line = self.masks.masked(&String::from_utf8_lossy(raw));
        if self.timestamps {
            line = format!("{} {line}", timestamp(std::time::SystemTime::now()));
        }
        if let Some(re) = &self.coverage {
            // As GitLab's trace reader: the last match in the log; within it, the last capture
            // group when the regex has groups; then the first number in that text.
            if let Some(caps) = re.captures_iter(&line).last() {
                let text = if caps.len() > 1 {
                    caps.get(caps.len() - 1).map(|m| m.as_str())
                } else {
                    caps.get(0).map(|m| m.as_str())
                };
                if let Some(v) = text.and_then(first_number) {
                    *self.last_coverage.lock().expect("not poisoned") = Some(v);
                }
            }
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.clone());
        let size = line.len() as u64 + 1;
        let cap = &mut self.cap;
        if !cap.cutting && cap.written + size <= cap.half {
            cap.written += size;
            self.out(line).await;
            return;
        }
        if !cap.cutting {
            cap.cutting = true;
            let half = cap.half;
            self.send(format!(
                "[tezos-ci-local] The job's log passed {}: only its last {} will be kept",
                bytes(half),
                bytes(half)
            ))
            .await;
        }
        let cap = &mut self.cap;
        cap.ring.extend(line.as_bytes());
        cap.ring.push_back(b'\n');
        let excess = (cap.ring.len() as u64).saturating_sub(cap.half);
        if excess > 0 {
            cap.aligned = cap.ring[excess as usize - 1] == b'\n';
            cap.ring.drain(..excess as usize);
            cap.cut += excess;
        }
    }

    /// Writes a kept line to the file and the dispatcher.
    async fn out(&mut self, line: String) {
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{line}");
        }
        self.send(line).await;
    }

    async fn send(&mut self, line: String) {
        if let Some(tx) = &self.tx {
            let _ = tx
                .send(LogLine {
                    job: self.job.clone(),
                    line,
                })
                .await;
        }
    }

    /// Writes what the ring kept, after a line saying how much was cut.
    async fn flush_ring(&mut self) {
        if !self.cap.cutting {
            return;
        }
        self.cap.cutting = false;
        let mut ring = std::mem::take(&mut self.cap.ring);
        // The ring starts wherever the last cut fell: drop the rest of that line.
        if !self.cap.aligned {
            let start = ring
                .iter()
                .position(|&b| b == b'\n')
                .map_or(ring.len(), |p| p + 1);
            ring.drain(..start);
            self.cap.cut += start as u64;
        }
        let total = self.cap.written + self.cap.cut + ring.len() as u64;
        let notice = format!(
            "[tezos-ci-local] Job's log exceeded limit of {} bytes: {} cut here ({} kept of {}: \
             the first {} and the last {})",
            self.cap.half * 2,
            bytes(self.cap.cut),
            bytes(total - self.cap.cut),
            bytes(total),
            bytes(self.cap.written),
            bytes(ring.len() as u64)
        );
        let mut ring = Vec::from(ring);
        let mut lines = Vec::new();
        if ring.pop().is_some() {
            lines.extend(
                ring.split(|&b| b == b'\n')
                    .map(|l| String::from_utf8_lossy(l).into_owned()),
            );
        }
        // The file gets the whole tail; the dispatcher (the terminal) its last lines only, so
        // that the end of a flood does not hold up the run.
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{notice}");
            for l in &lines {
                let _ = writeln!(f, "{l}");
            }
        }
        self.send(notice).await;
        let from = lines.len().saturating_sub(TAIL_LINES);
        for l in lines.drain(from..) {
            self.send(l).await;
        }
    }

    /// Flushes a last unterminated line and the file.
    pub async fn finish(&mut self) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.emit(&rest).await;
        }
        self.flush_ring().await;
        if let Some(f) = &mut self.file {
            let _ = f.flush();
        }
    }

    pub fn coverage(&self) -> Option<f64> {
        *self.last_coverage.lock().expect("not poisoned")
    }

    /// The cell the coverage value lands in, readable after the sink is gone.
    pub fn coverage_cell(&self) -> std::sync::Arc<std::sync::Mutex<Option<f64>>> {
        self.last_coverage.clone()
    }

    /// The values this sink masks, for what the job leaves besides its log (its JUnit reports).
    pub fn masker(&self) -> &Masker {
        &self.masks
    }

    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }
}

/// A size for people: `512 bytes`, `2.0 MiB`.
fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// GitLab reads the coverage value as the first decimal number in the matched text.
fn first_number(s: &str) -> Option<f64> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let rest = &s[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].trim_end_matches('.').parse().ok()
}

/// `t` as RFC 3339 in UTC with microseconds, as GitLab's timestamped logs.
fn timestamp(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = crate::time::civil_from_days((secs / 86400) as i64);
    let rem = secs % 86400;
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_795_969_201_123_456);
        assert_eq!(timestamp(t), "2026-11-29T16:20:01.123456Z");
    }

    #[tokio::test]
    async fn a_timestamped_sink_starts_every_line_with_the_time() {
        let mut sink = LogSink::discard("j").with_timestamps();
        sink.write(b"hello\n").await;
        let tail = sink.tail();
        let (time, text) = tail[0].split_once(' ').unwrap();
        assert_eq!(text, "hello");
        assert!(time.ends_with('Z') && time.contains('T'), "{time}");
    }

    #[tokio::test]
    async fn splits_masks_and_reads_coverage() {
        let (tx, mut rx) = mpsc::channel(16);
        let re = regex::Regex::new(r"Coverage: \d+\.\d+%").unwrap();
        let mut sink =
            LogSink::new("j", None, Some(tx), vec!["s3cr3t-value".into()], Some(re)).unwrap();
        sink.write(b"hello s3cr3t-value\nCoverage: 12.5%\nCover")
            .await;
        sink.write(b"age: 80.25%\r\nprogress 10%\rprogress 100%\npartial")
            .await;
        sink.finish().await;
        drop(sink.tx.take());
        let mut lines = Vec::new();
        while let Some(l) = rx.recv().await {
            lines.push(l.line);
        }
        assert_eq!(
            lines,
            [
                "hello [MASKED]",
                "Coverage: 12.5%",
                "Coverage: 80.25%",
                "progress 100%",
                "partial"
            ]
        );
        assert_eq!(sink.coverage(), Some(80.25));
    }

    #[tokio::test]
    async fn a_value_written_in_small_chunks_is_masked() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut sink =
            LogSink::new("j", None, Some(tx), vec!["s3cr3t-value".into()], None).unwrap();
        // One byte at a time, as a program that flushes every character.
        for b in b"token=s3cr3t-value;\nagain s3cr3t-" {
            sink.write(&[*b]).await;
        }
        sink.write(b"value").await;
        sink.finish().await;
        drop(sink.tx.take());
        let mut lines = Vec::new();
        while let Some(l) = rx.recv().await {
            lines.push(l.line);
        }
        assert_eq!(lines, ["token=[MASKED];", "again [MASKED]"]);
    }

    #[tokio::test]
    async fn a_value_across_the_cut_of_a_long_line_is_masked() {
        let secret = "s3cr3t-value";
        let mut sink = LogSink::new("j", None, None, vec![secret.into()], None).unwrap();
        // The value straddles MAX_LINE, where the line is cut in pieces.
        let mut line = vec![b'x'; MAX_LINE - 5];
        line.extend_from_slice(secret.as_bytes());
        line.extend_from_slice(&[b'y'; 100]);
        for chunk in line.chunks(7) {
            sink.write(chunk).await;
        }
        sink.finish().await;
        let all = sink.tail().concat();
        assert!(!all.contains(secret), "the value leaked across the cut");
        assert!(all.contains("[MASKED]"));
        assert_eq!(all.len(), line.len() - secret.len() + "[MASKED]".len());
    }

    #[tokio::test]
    async fn coverage_takes_the_last_capture_group() {
        let re = regex::Regex::new(r"Coverage: \d+/\d+ \(([^%]+%)\)").unwrap();
        let mut sink = LogSink::new("j", None, None, Vec::new(), Some(re)).unwrap();
        sink.write(b"Coverage: 26/26 (100.00%)\n").await;
        assert_eq!(
            sink.coverage(),
            Some(100.0),
            "not 26, the first number of the whole match"
        );
    }

    #[tokio::test]
    async fn a_log_past_its_limit_keeps_its_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.log");
        let (tx, mut rx) = mpsc::channel(100_000);
        let mut sink = LogSink::new("j", Some(&path), Some(tx), Vec::new(), None)
            .unwrap()
            .with_limit(1000);
        // 10 000 lines of 9 bytes and a newline: 100 000 bytes.
        for i in 0..10_000 {
            sink.write(format!("line {i:04}\n").as_bytes()).await;
        }
        sink.finish().await;
        drop(sink);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "line 0000");
        assert_eq!(lines[49], "line 0049", "the first 500 bytes are kept");
        assert!(
            lines[50].contains("exceeded limit of 1000 bytes"),
            "{}",
            lines[50]
        );
        assert!(
            lines[50].contains("99000 bytes cut") || lines[50].contains("96.7 KiB cut"),
            "{}",
            lines[50]
        );
        assert_eq!(lines[51], "line 9950", "the last 500 bytes are kept");
        assert_eq!(*lines.last().unwrap(), "line 9999");
        assert_eq!(lines.len(), 101);
        assert!(text.len() < 1200, "{}", text.len());
        // The dispatcher saw the head, a notice, the cut line and the tail's last lines: not the
        // middle.
        let mut seen = Vec::new();
        while let Ok(l) = rx.try_recv() {
            seen.push(l.line);
        }
        assert_eq!(seen.len(), 50 + 2 + TAIL_LINES);
        assert_eq!(seen.last().unwrap(), "line 9999");
        assert!(seen[50].contains("only its last 500 bytes"), "{}", seen[50]);
        assert!(!seen.iter().any(|l| l == "line 5000"));
    }

    #[tokio::test]
    async fn a_flood_without_newlines_stays_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.log");
        let mut sink = LogSink::new("j", Some(&path), None, Vec::new(), None)
            .unwrap()
            .with_limit(4 * MAX_LINE as u64);
        let chunk = vec![b'x'; 32 * 1024];
        for _ in 0..1000 {
            sink.write(&chunk).await;
        }
        sink.finish().await;
        drop(sink);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 4 * MAX_LINE as u64 + 4096, "{size}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("cut here"), "{}", &text[..200]);
    }

    #[tokio::test]
    async fn runner_lines_start_on_their_own_line() {
        let mut sink = LogSink::discard("j");
        sink.write(b"no newline yet").await;
        sink.line("ERROR: Job failed: exit code 1").await;
        sink.finish().await;
        assert_eq!(
            sink.tail(),
            ["no newline yet", "ERROR: Job failed: exit code 1"]
        );
    }

    #[tokio::test]
    async fn long_lines_are_cut() {
        let mut sink = LogSink::discard("j");
        sink.write(&vec![b'x'; MAX_LINE * 2 + 10]).await;
        sink.finish().await;
        let tail = sink.tail();
        assert_eq!(tail.len(), 3);
        assert_eq!(tail[0].len(), MAX_LINE);
    }
}
