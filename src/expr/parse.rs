//! The parser: recursive descent over the precedence levels of `BinOp::precedence`.

use super::lex::{Token, TokenKind};
use super::*;

pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) tokens: Vec<Token>,
    pub(super) pos: usize,
    /// Column just past the end of the input, where a missing trailing operand is reported.
    pub(super) end_column: usize,
}

impl Parser<'_> {
    pub(super) fn parse(mut self) -> Result<Node, ExprError> {
        if self.tokens.is_empty() {
            return Err(self.error("empty expression", 1));
        }
        let root = self.parse_level(0)?;
        match self.tokens.get(self.pos) {
            None => Ok(root),
            Some(token) if token.kind == TokenKind::RParen => {
                Err(self.error("unmatched `)`", token.column))
            }
            Some(token) => Err(self.missing_operator(token)),
        }
    }

    /// Parses a chain of operators of precedence `level`, whose operands bind tighter.
    pub(super) fn parse_level(&mut self, level: u8) -> Result<Node, ExprError> {
        if level > BinOp::Eq.precedence() {
            return self.parse_operand();
        }
        let mut lhs = self.parse_level(level + 1)?;
        while let Some(token) = self.tokens.get(self.pos) {
            let TokenKind::Op(op) = token.kind else { break };
            if op.precedence() != level {
                break;
            }
            let column = token.column;
            self.pos += 1;
            let rhs = self.parse_level(level + 1)?;
            lhs = Node::Binary {
                op,
                column,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(lhs)
    }

    pub(super) fn parse_operand(&mut self) -> Result<Node, ExprError> {
        let Some(token) = self.tokens.get(self.pos).cloned() else {
            // At the end of the input, so the last token is what wanted an operand.
            let after = self
                .tokens
                .last()
                .map_or_else(|| "the start".to_string(), |token| token.kind.describe());
            return Err(self.error(format!("missing operand after {after}"), self.end_column));
        };
        self.pos += 1;
        match token.kind {
            TokenKind::Var(name) => Ok(Node::Var(name)),
            TokenKind::Str(text) => Ok(Node::Str(text)),
            TokenKind::Regex(pattern) => Ok(Node::Regex(pattern)),
            TokenKind::Null => Ok(Node::Null),
            TokenKind::Bool(value) => Ok(Node::Bool(value)),
            TokenKind::LParen => {
                let inner = self.parse_level(0)?;
                match self.tokens.get(self.pos) {
                    Some(next) if next.kind == TokenKind::RParen => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    None => Err(self.error("unclosed `(`", token.column)),
                    Some(next) => Err(self.missing_operator(next)),
                }
            }
            TokenKind::RParen | TokenKind::Op(_) => Err(self.error(
                format!("missing operand before {}", token.kind.describe()),
                token.column,
            )),
        }
    }

    pub(super) fn missing_operator(&self, token: &Token) -> ExprError {
        self.error(
            format!("missing operator before {}", token.kind.describe()),
            token.column,
        )
    }

    pub(super) fn error(&self, message: impl Into<String>, column: usize) -> ExprError {
        ExprError::new(message, column, self.src)
    }
}
