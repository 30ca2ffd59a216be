//! `--json`: one JSON object per line on stdout for each event, for scripts and other tools. The
//! schema is documented in `docs/json-events.md` and is a promise: add fields, never rename.

use std::io::{self, Write};
use std::time::SystemTime;

use serde::Serialize;

use super::Reporter;
use super::format::rfc3339_utc;
use crate::event::RunEvent;

pub struct JsonReporter {
    out: Box<dyn Write + Send>,
    verbose: bool,
    /// When each line was written; replaceable so tests are deterministic.
    clock: fn() -> SystemTime,
}

/// The event's own fields (serde's derive on `RunEvent` gives `"event"` and the rest), then the
/// time it was reported.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    event: &'a RunEvent,
    time: String,
}

impl JsonReporter {
    /// `verbose`: also emit a `job_log` object for every line of every job's log.
    pub fn new(out: Box<dyn Write + Send>, verbose: bool) -> Self {
        JsonReporter {
            out,
            verbose,
            clock: SystemTime::now,
        }
    }

    /// Replaces the clock of the `time` field (tests).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }
}

impl Reporter for JsonReporter {
    fn report(&mut self, event: &RunEvent) -> io::Result<()> {
        if matches!(event, RunEvent::JobLog { .. }) && !self.verbose {
            return Ok(());
        }
        let line = Line {
            event,
            time: rfc3339_utc((self.clock)()),
        };
        serde_json::to_writer(&mut self.out, &line).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        // A consumer reads the run as it happens (`| jq`), so no line waits in a buffer.
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
