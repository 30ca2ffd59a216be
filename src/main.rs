//! tezos-ci-local: run GitLab CI pipelines locally in Docker.

mod error;
mod event;
mod executor;
mod pipeline;
mod yaml;

fn main() {}
