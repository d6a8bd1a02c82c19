//! Aggregate literals: lists, maps and message (struct) construction.

use super::{PErr, Parser};
use crate::ast::{Entry, Expr, ExprKind};

impl Parser {
    pub(super) fn list(&mut self, off: usize) -> Result<Expr, PErr> {
        self.enter(off)?;
        let mut elems = Vec::new();
        while !self.is_p("]") {
            let opt = self.eat("?");
            elems.push((self.expr()?, opt));
            if !self.eat(",") {
                break;
            }
        }
        self.expect("]")?;
        self.depth -= 1;
        Ok(Expr::new(off, ExprKind::List(elems)))
    }

    pub(super) fn map(&mut self, off: usize) -> Result<Expr, PErr> {
        self.enter(off)?;
        let mut entries = Vec::new();
        while !self.is_p("}") {
            let optional = self.eat("?");
            let key = self.expr()?;
            self.expect(":")?;
            let value = self.expr()?;
            entries.push(Entry {
                key,
                value,
                optional,
            });
            if !self.eat(",") {
                break;
            }
        }
        self.expect("}")?;
        self.depth -= 1;
        Ok(Expr::new(off, ExprKind::Map(entries)))
    }
    /// Parses `Name{field: value, ?opt: optionalValue}`; the `{` is the current token.
    pub(super) fn message(&mut self, name: String, off: usize) -> Result<Expr, PErr> {
        self.expect("{")?;
        self.enter(off)?;
        let mut fields = Vec::new();
        while !self.is_p("}") {
            let optional = self.eat("?");
            let (field, _) = self.ident()?;
            self.expect(":")?;
            let value = self.expr()?;
            fields.push((field, value, optional));
            if !self.eat(",") {
                break;
            }
        }
        self.expect("}")?;
        self.depth -= 1;
        Ok(Expr::new(off, ExprKind::Message { name, fields }))
    }
}
