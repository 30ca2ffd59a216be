//! The pipeline definition: load the files (`load`), resolve `!reference`, `extends` and
//! `default:` (`resolve`), and build the model (`build`) that the rest of the program reads.

pub mod build;
pub mod fetch;
pub mod inputs;
pub mod load;
pub mod merge;
pub mod model;
pub mod names;
pub mod read;
pub mod resolve;
pub mod trigger;

use std::path::Path;

use crate::error::ConfigErrors;
pub use load::{IncludeContext, Source};
pub use model::Pipeline;

/// Loads, resolves and builds the pipeline: every problem found is returned, not just the first.
pub fn load_pipeline(
    project_dir: &Path,
    source: &Source,
    context: &dyn IncludeContext,
) -> Result<Pipeline, ConfigErrors> {
    build_loaded(load::load(project_dir, source, context)?)
}

/// Loads, resolves and builds a child pipeline from its `trigger:include` files.
pub fn load_child_pipeline(
    project_dir: &Path,
    entries: &[load::ChildFile],
    context: &dyn IncludeContext,
) -> Result<Pipeline, ConfigErrors> {
    build_loaded(load::load_child(project_dir, entries, context)?)
}

fn build_loaded(loaded: load::Loaded) -> Result<Pipeline, ConfigErrors> {
    let (resolved, mut errors) = resolve::resolve(loaded.root);
    if errors.is_empty() {
        return build::build(resolved, loaded.files).map_err(|mut e| {
            e.sort_by_position();
            e
        });
    }
    // Build what resolved, to report its problems too, unless nothing did (then building would
    // only add "no visible job").
    if !resolved.jobs.is_empty() {
        if let Err(e) = build::build(resolved, loaded.files) {
            errors.0.extend(e.0);
        }
    }
    errors.sort_by_position();
    Err(errors)
}
