//! The jobs' sections of the HTML report: for each job its facts, its artifacts with their sizes,
//! its JUnit counts and coverage, and its log embedded with its colours. Long logs are folded:
//! the tail shows, the earlier lines open on a click, and past a bound the middle is left in the
//! log file (the page stays a few megabytes for the Octez pipeline). Failed jobs are open.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::ansi_html::AnsiToHtml;
use super::files::relative_href;
use super::format;
use super::html::{JobView, esc, state_symbol, state_word};
use super::html_history::{RunData, speed_change};
use super::html_times::Shown;
use super::junit::junit_counts;
use crate::event::JobStatus;

/// A log up to this size is embedded whole.
const WHOLE_BYTES: u64 = 96 * 1024;
/// Lines shown unfolded at the end of a log.
const TAIL_LINES: usize = 150;
/// Past [`WHOLE_BYTES`]: how much of the start and of the end is embedded.
const HEAD_BYTES: u64 = 16 * 1024;
const TAIL_BYTES: u64 = 48 * 1024;
/// Files listed per job's artifacts; the rest are counted.
const MAX_ARTIFACTS: usize = 40;

pub fn render_jobs(
    out: &mut String,
    jobs: &[JobView],
    run_dir: &Path,
    page_dir: &Path,
    previous: Option<&RunData>,
) {
    out.push_str("<section id=\"jobs\">\n<h2>Jobs</h2>\n");
    for j in jobs {
        render_job(out, j, run_dir, page_dir, previous);
    }
    out.push_str("</section>\n");
}

fn render_job(
    out: &mut String,
    j: &JobView,
    run_dir: &Path,
    page_dir: &Path,
    previous: Option<&RunData>,
) {
    let class = j.shown.class();
    let open = matches!(j.shown, Shown::Done(JobStatus::Failed));
    let duration = j
        .result
        .and_then(format::shown_duration)
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<details id=\"job-{}\" class=\"job {class}\" data-job=\"{}\"{}>\n<summary><span class=\"sym {class}\">{}</span> \
         <b>{}</b> <span class=\"badge {class}\">{}</span> <span class=\"meta\">{} · {}{}</span></summary>",
        j.index,
        esc(&j.info.name),
        if open { " open" } else { "" },
        state_symbol(j.shown),
        esc(&j.info.name),
        state_word(j.shown),
        esc(if j.info.stage.is_empty() {
            "(no stage)"
        } else {
            &j.info.stage
        }),
        esc(&j.where_label()),
        if duration.is_empty() {
            String::new()
        } else {
            format!(" · {duration}")
        },
    );
    out.push_str("<div class=\"body\">\n");
    let mut facts: Vec<String> = Vec::new();
    if let Some(r) = j.result {
        if let Some(reason) = format::reason(r) {
            facts.push(esc(&reason));
        }
        if let Some(code) = r.exit_code {
            facts.push(format!("exit code {code}"));
        }
        if let Some(c) = r.coverage {
            facts.push(format!("coverage <b class=\"coverage\">{c:.2}%</b>"));
        }
    }
    if !j.info.needs.is_empty() && j.info.uses_needs {
        facts.push(format!("needs {}", esc(&j.info.needs.join(", "))));
    }
    if let Some(prev) = previous {
        match prev.job(&j.info.name) {
            Some(b) => {
                let mut s = format!(
                    "previous run: {}, {}",
                    esc(&b.status.replace('_', " ")),
                    format::duration(std::time::Duration::from_millis(b.duration_ms))
                );
                if let Some(slow) = speed_change(b, j) {
                    s.push_str(if slow {
                        " (slower now)"
                    } else {
                        " (faster now)"
                    });
                }
                facts.push(s);
            }
            None => facts.push("not in the previous run".into()),
        }
    }
    if !facts.is_empty() {
        let _ = writeln!(out, "<p class=\"facts\">{}</p>", facts.join(" · "));
    }
    if let Some(r) = j.result {
        for file in &r.junit {
            let c = junit_counts(&j.info.name, file);
            let _ = writeln!(
                out,
                "<p class=\"junit\">JUnit <code>{}</code>: {} tests, <span class=\"{}\">{} failed</span>, {} errors, {} skipped</p>",
                esc(&file
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()),
                c.tests,
                if c.failures + c.errors > 0 {
                    "failed"
                } else {
                    ""
                },
                c.failures,
                c.errors,
                c.skipped
            );
            if !c.failed_cases.is_empty() {
                out.push_str("<ul class=\"cases\">");
                for case in c.failed_cases.iter().take(20) {
                    let _ = write!(out, "<li>{}</li>", esc(case));
                }
                if c.failed_cases.len() > 20 {
                    let _ = write!(out, "<li>and {} more</li>", c.failed_cases.len() - 20);
                }
                out.push_str("</ul>\n");
            }
        }
    }
    render_artifacts(
        out,
        &run_dir
            .join("artifacts")
            .join(crate::store::file_name_for(&j.info.name)),
    );
    render_logs(out, j, page_dir);
    out.push_str("</div>\n</details>\n");
}

fn render_artifacts(out: &mut String, dir: &Path) {
    let mut files: Vec<(String, u64)> = Vec::new();
    let mut todo: Vec<PathBuf> = vec![dir.to_path_buf()];
    let (mut count, mut total) = (0usize, 0u64);
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(meta) = e.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                todo.push(e.path());
            } else {
                count += 1;
                total += meta.len();
                if files.len() < MAX_ARTIFACTS {
                    let rel = e
                        .path()
                        .strip_prefix(dir)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    files.push((rel, meta.len()));
                }
            }
        }
    }
    if count == 0 {
        return;
    }
    files.sort();
    let _ = write!(
        out,
        "<details class=\"artifacts\"><summary>Artifacts: {count} file{}, {}</summary><ul>",
        if count == 1 { "" } else { "s" },
        size(total)
    );
    for (name, len) in &files {
        let _ = write!(out, "<li><code>{}</code> {}</li>", esc(name), size(*len));
    }
    if count > files.len() {
        let _ = write!(out, "<li>and {} more</li>", count - files.len());
    }
    out.push_str("</ul></details>\n");
}

pub fn size(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n if n < 1024 * 1024 * 1024 => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
        n => format!("{:.1} GiB", n as f64 / (1024.0 * 1024.0 * 1024.0)),
    }
}

/// The log of every attempt: the last open (a retried job's earlier attempts folded).
fn render_logs(out: &mut String, j: &JobView, page_dir: &Path) {
    let logs = j.log_paths();
    if logs.is_empty() {
        if matches!(j.shown, Shown::Done(_)) {
            out.push_str("<p class=\"meta\">No log: the job did not run in this run.</p>\n");
        }
        return;
    }
    let n = logs.len();
    for (k, (attempt, path)) in logs.iter().enumerate() {
        let last = k + 1 == n;
        let title = if n > 1 {
            format!("Log of attempt {attempt}")
        } else {
            "Log".to_string()
        };
        if !last {
            let _ = write!(
                out,
                "<details class=\"attempt-log\"><summary>{title}</summary>"
            );
        }
        render_log(out, &title, path, page_dir);
        if !last {
            out.push_str("</details>\n");
        }
    }
}

fn render_log(out: &mut String, title: &str, path: &Path, page_dir: &Path) {
    let href = esc(&relative_href(page_dir, path));
    let excerpt = match read_excerpt(path) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"meta\">Cannot read <a href=\"{href}\">the log</a>: {}</p>",
                esc(&e.to_string())
            );
            return;
        }
    };
    let _ = writeln!(
        out,
        "<div class=\"log\"><p class=\"logmeta\">{title}: {} lines{}, {} (<a href=\"{href}\">file</a>)</p>",
        excerpt.head.len() + excerpt.tail.len(),
        if excerpt.omitted > 0 { " embedded" } else { "" },
        size(excerpt.total),
    );
    let mut ansi = AnsiToHtml::default();
    if !excerpt.head.is_empty() {
        let _ = write!(
            out,
            "<details class=\"earlier\"><summary>{} earlier line{}{}</summary><pre>",
            excerpt.head.len(),
            if excerpt.head.len() == 1 { "" } else { "s" },
            if excerpt.omitted > 0 {
                format!(
                    " (then {} not embedded: see the file)",
                    size(excerpt.omitted)
                )
            } else {
                String::new()
            }
        );
        for l in &excerpt.head {
            out.push_str(&ansi.line(l));
            out.push('\n');
        }
        out.push_str("</pre></details>");
        if excerpt.omitted > 0 {
            ansi = AnsiToHtml::default();
        }
    }
    out.push_str("<pre class=\"tail\">");
    for l in &excerpt.tail {
        out.push_str(&ansi.line(l));
        out.push('\n');
    }
    out.push_str("</pre></div>\n");
}

struct Excerpt {
    /// Folded lines before the tail.
    head: Vec<String>,
    /// Bytes between the head and the tail that are not embedded.
    omitted: u64,
    tail: Vec<String>,
    total: u64,
}

/// Reads what the page embeds of a log, never more than about 64 KiB of a large one.
fn read_excerpt(path: &Path) -> io::Result<Excerpt> {
    let mut f = File::open(path)?;
    let total = f.metadata()?.len();
    if total <= WHOLE_BYTES {
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        let mut lines = split_lines(&buf);
        let cut = lines.len().saturating_sub(TAIL_LINES);
        let tail = lines.split_off(cut);
        return Ok(Excerpt {
            head: lines,
            omitted: 0,
            tail,
            total,
        });
    }
    let mut head_buf = vec![0u8; HEAD_BYTES as usize];
    f.read_exact(&mut head_buf)?;
    // Whole lines only.
    let head_len = head_buf
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    head_buf.truncate(head_len);
    let tail_from = total - TAIL_BYTES;
    f.seek(SeekFrom::Start(tail_from))?;
    let mut tail_buf = Vec::new();
    f.read_to_end(&mut tail_buf)?;
    let skip = tail_buf
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    let tail_start = tail_from + skip as u64;
    let mut tail = split_lines(&tail_buf[skip..]);
    let cut = tail.len().saturating_sub(TAIL_LINES);
    let head = split_lines(&head_buf);
    // The lines cut off the tail's start stay in the file with the rest of the middle.
    let cut_bytes: u64 = tail.drain(..cut).map(|l| l.len() as u64 + 1).sum();
    let omitted = (tail_start + cut_bytes).saturating_sub(head_len as u64);
    Ok(Excerpt {
        head,
        omitted,
        tail,
        total,
    })
}

fn split_lines(buf: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(buf);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n').map(str::to_string).collect()
}
