//! A job's log on its way out: split into lines, masked, written to the job's log file, and sent
//! to the dispatcher as events. Memory stays bounded whatever the job prints: lines are capped and
//! the channel is bounded, so a job that prints fast waits for the writer.

use std::io::Write;
use std::path::Path;

use tokio::sync::mpsc;

/// The longest line kept whole; longer output is cut into pieces of this size.
const MAX_LINE: usize = 64 * 1024;

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
    masks: Vec<String>,
    partial: Vec<u8>,
    coverage: Option<regex::Regex>,
    /// Shared with the dispatcher, which reads it once the executor has consumed the sink.
    last_coverage: std::sync::Arc<std::sync::Mutex<Option<f64>>>,
    tail: std::collections::VecDeque<String>,
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
        let masks = masks.into_iter().filter(|m| m.len() >= 4).collect();
        Ok(LogSink {
            job: job.to_string(),
            file,
            tx,
            masks,
            partial: Vec::new(),
            coverage,
            last_coverage: Default::default(),
            tail: Default::default(),
        })
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
        while self.partial.len() > MAX_LINE {
            let rest = self.partial.split_off(MAX_LINE);
            let chunk = std::mem::replace(&mut self.partial, rest);
            self.emit(&chunk).await;
        }
    }

    /// A line written by the runner itself (not the job), such as `$ command` echoes or notices.
    pub async fn line(&mut self, text: &str) {
        self.emit(text.as_bytes()).await;
    }

    async fn emit(&mut self, raw: &[u8]) {
        // Progress bars redraw with carriage returns; keep what the terminal would finally show.
        let raw = match raw.iter().rposition(|&b| b == b'\r') {
            Some(p) => &raw[p + 1..],
            None => raw,
        };
        let mut line = String::from_utf8_lossy(raw).into_owned();
        for m in &self.masks {
            if line.contains(m.as_str()) {
                line = line.replace(m.as_str(), "[MASKED]");
            }
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
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{line}");
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.clone());
        if let Some(tx) = &self.tx {
            let _ = tx
                .send(LogLine {
                    job: self.job.clone(),
                    line,
                })
                .await;
        }
    }

    /// Flushes a last unterminated line and the file.
    pub async fn finish(&mut self) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.emit(&rest).await;
        }
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

    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
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

#[cfg(test)]
mod tests {
    use super::*;

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
    async fn long_lines_are_cut() {
        let mut sink = LogSink::discard("j");
        sink.write(&vec![b'x'; MAX_LINE * 2 + 10]).await;
        sink.finish().await;
        let tail = sink.tail();
        assert_eq!(tail.len(), 3);
        assert_eq!(tail[0].len(), MAX_LINE);
    }
}
