//! Deciding what runs: the `rules:if` expression language (`expr`), path patterns (`glob`), and
//! the evaluation of `rules:`, `workflow:rules`, include rules and legacy `only`/`except` (`eval`).

pub mod eval;
pub mod expr;
pub mod glob;

pub use eval::{
    ChangedFiles, Evaluation, Facts, LazyFiles, ProjectFiles, RefFacts, RuleCheck, evaluate,
    evaluate_only_except,
};
