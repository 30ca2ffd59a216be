//! One module per command that is more than wiring: each renders what the earlier stages made.

pub mod explain;
pub mod graph;
pub mod hook;
pub mod list;
pub mod report;
pub mod run;
pub mod runs;
