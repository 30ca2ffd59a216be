//! Typed errors, and the one place that maps them to exit codes.
//!
//! Library code returns these; `app.rs` adds context with anyhow at the edge, and `main.rs` asks
//! [`exit_code`] what the process returns. A failed job is not an error: it is a result carried in
//! an event, and turns into exit code 1 through [`Error::JobsFailed`].

use std::fmt;
use std::path::PathBuf;

use crate::yaml::{Span, YamlError};

/// One problem in the pipeline definition, with everything needed to find it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub span: Option<Span>,
    pub job: Option<String>,
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn new(span: Option<&Span>, message: impl Into<String>) -> Self {
        ConfigError {
            span: span.cloned(),
            job: None,
            key: None,
            message: message.into(),
        }
    }

    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = Some(job.into());
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        if let Some(span) = &self.span {
            text.push_str(&format!("{span}: "));
        }
        match (&self.job, &self.key) {
            (Some(job), Some(key)) => text.push_str(&format!("job `{job}`, key `{key}`: ")),
            (Some(job), None) => text.push_str(&format!("job `{job}`: ")),
            (None, Some(key)) => text.push_str(&format!("key `{key}`: ")),
            (None, None) => {}
        }
        text.push_str(&self.message);
        // Names and values come from the pipeline: no escape sequence reaches the terminal.
        f.write_str(&crate::visible::visible(&text))
    }
}

impl From<YamlError> for ConfigError {
    fn from(e: YamlError) -> Self {
        ConfigError {
            span: Some(e.span),
            job: None,
            key: None,
            message: e.message,
        }
    }
}

/// Every problem found in a pipeline, not just the first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn push(&mut self, e: ConfigError) {
        self.0.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Orders the problems by file, line and column (those without a position last), as a reader
    /// goes through the files.
    pub fn sort_by_position(&mut self) {
        self.0.sort_by(|a, b| match (&a.span, &b.span) {
            (Some(x), Some(y)) => (x.file(), x.line, x.col).cmp(&(y.file(), y.line, y.col)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }

    /// Ok when nothing was found, else all of it.
    pub fn into_result(self) -> Result<(), ConfigErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n({} problems)", self.0.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline definition is wrong.
    #[error("{0}")]
    Config(ConfigErrors),
    /// The command line asks for something that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// The environment is wrong: no Docker engine, no git repository, no emulation... or it
    /// failed under a run (the engine lost, this host's disk full).
    #[error("{0}")]
    Environment(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// At least one job failed (and was not allowed to).
    #[error("{0} failed")]
    JobsFailed(String),
    /// The user stopped the run.
    #[error("interrupted")]
    Interrupted,
}

impl From<ConfigErrors> for Error {
    fn from(e: ConfigErrors) -> Self {
        Error::Config(e)
    }
}

impl From<YamlError> for Error {
    fn from(e: YamlError) -> Self {
        Error::Config(ConfigError::from(e).into())
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e.into())
    }
}

pub const EXIT_JOBS_FAILED: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

/// The exit code for an error that reached `main`: 1 a job failed, 2 the pipeline, command line or
/// environment is wrong (a job that failed because the engine stopped answering or this host's
/// disk is full is the environment's fault: 2), 130 interrupted (by any of the signals a run
/// handles). Anything unexpected is treated as bad input or environment.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    match err.downcast_ref::<Error>() {
        Some(Error::JobsFailed(_)) => EXIT_JOBS_FAILED,
        Some(Error::Interrupted) => EXIT_INTERRUPTED,
        _ => EXIT_BAD_INPUT,
    }
}
