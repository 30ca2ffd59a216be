//! Deciding what runs: the `rules:if` expression language (`expr`), path patterns (`glob`), and
//! the evaluation of `rules:`, `workflow:rules`, include rules and legacy `only`/`except` (`eval`).

pub mod eval;
/// The `rules:if` language lives below the pipeline model (`crate::expr`), which parses it.
pub use crate::expr;
pub mod glob;

pub use eval::{
    ChangedFiles, Evaluation, Facts, LazyFiles, ProjectFiles, RefFacts, RuleCheck, evaluate,
    evaluate_only_except,
};
