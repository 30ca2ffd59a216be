//! PLACEHOLDER until the expression language lands from its branch: same API, no semantics.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr(String);
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at column {column} of `{source_text}`")]
pub struct ExprError {
    pub message: String,
    pub column: usize,
    pub source_text: String,
}
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    Ok(Expr(src.to_string()))
}
impl Expr {
    pub fn eval(&self, _lookup: &dyn Fn(&str) -> Option<String>) -> Result<bool, ExprError> {
        Ok(true)
    }
    pub fn variables(&self) -> Vec<String> {
        Vec::new()
    }
}
impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
