//! tezos-ci-local: run GitLab CI pipelines locally in Docker, with GitLab's semantics.
//!
//! The flow (see ARCHITECTURE.md): `pipeline` loads and resolves the YAML into a model, `plan`
//! decides what runs and builds the job graph, `scheduler` runs it through an `executor`, and
//! `report` renders the `event`s.

pub mod app;
pub mod checkout;
pub mod cli;
pub mod commands;
pub mod engines;
pub mod error;
pub mod event;
pub mod executor;
pub mod expand;
pub mod expr;
pub mod mask;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod rules;
pub mod scheduler;
pub mod store;
pub mod time;
pub mod user_vars;
pub mod visible;
pub mod yaml;
