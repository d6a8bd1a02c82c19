//! Recursive-descent CEL parser with a nesting limit and macro expansion.

use crate::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::lexer::{Tok, Token, lex};
use crate::macros;
use crate::value::Value;

mod aggregate;

/// Deepest nesting the parser accepts; bounds recursion in every later pass.
pub(crate) const MAX_DEPTH: usize = 100;
/// Longest expression accepted, in code points (cel-go's default limit).
pub(crate) const MAX_CODE_POINTS: usize = 100_000;

/// A parse failure: byte offset and message.
pub(crate) type PErr = (usize, String);

/// Parses `src` into an expression tree.
pub(crate) fn parse(src: &str) -> Result<Expr, PErr> {
    if src.chars().count() > MAX_CODE_POINTS {
        return Err((
            0,
            format!("expression exceeds {MAX_CODE_POINTS} code points"),
        ));
    }
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.expr()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        return Err((
            t.off,
            format!("unexpected {} after expression", describe(&t.tok)),
        ));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Eof => "end of expression".into(),
        Tok::P(p) => format!("'{p}'"),
        Tok::Ident(i) => format!("identifier '{i}'"),
        other => format!("{other:?}"),
    }
}

impl Parser {
    fn peek(&self) -> Token {
        self.toks.get(self.pos).cloned().unwrap_or(Token {
            tok: Tok::Eof,
            off: 0,
        })
    }

    fn peek_tok(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }

    fn is_p(&self, p: &str) -> bool {
        matches!(self.peek_tok(0), Some(Tok::P(q)) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.is_p(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<usize, PErr> {
        let t = self.peek();
        if self.eat(p) {
            Ok(t.off)
        } else {
            Err((
                t.off,
                format!("expected '{p}' but found {}", describe(&t.tok)),
            ))
        }
    }

    /// Accounts one level of nesting; every recursive path and operator chain goes through it.
    fn enter(&mut self, off: usize) -> Result<(), PErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((
                off,
                format!("expression nesting exceeds the limit of {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, PErr> {
        let off = self.peek().off;
        self.enter(off)?;
        let cond = self.or()?;
        let out = if self.eat("?") {
            let then = self.or()?;
            self.expect(":")?;
            let other = self.expr()?;
            Expr::new(
                off,
                ExprKind::Cond {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    other: Box::new(other),
                },
            )
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    /// Parses a left-associative chain, charging one nesting level per operator.
    fn chain(
        &mut self,
        next: fn(&mut Self) -> Result<Expr, PErr>,
        op: fn(&Tok) -> Option<BinOp>,
    ) -> Result<Expr, PErr> {
        let mut lhs = next(self)?;
        let mut levels = 0;
        loop {
            let t = self.peek();
            let Some(kind) = op(&t.tok) else { break };
            self.pos += 1;
            levels += 1;
            self.enter(t.off)?;
            let rhs = next(self)?;
            let (l, r) = (Box::new(lhs), Box::new(rhs));
            // Errors about an operator point at the operator, as cel-go reports them.
            lhs = Expr::new(
                t.off,
                ExprKind::Binary {
                    op: kind,
                    lhs: l,
                    rhs: r,
                },
            );
        }
        self.depth -= levels;
        Ok(lhs)
    }

    fn or(&mut self) -> Result<Expr, PErr> {
        self.logical("||", Self::and)
    }

    fn and(&mut self) -> Result<Expr, PErr> {
        self.logical("&&", Self::relation)
    }

    /// Parses `a && b && ...` (or `||`) into a balanced tree, as cel-go does, so long
    /// generated chains stay shallow (depth grows with log2 of the operand count).
    fn logical(
        &mut self,
        op: &'static str,
        next: fn(&mut Self) -> Result<Expr, PErr>,
    ) -> Result<Expr, PErr> {
        let mut terms = vec![next(self)?];
        let mut ops = Vec::new();
        while self.is_p(op) {
            ops.push(self.peek().off);
            self.pos += 1;
            terms.push(next(self)?);
        }
        let levels = usize::BITS - terms.len().saturating_sub(1).leading_zeros();
        let first_op = ops.first().copied().unwrap_or(0);
        for _ in 0..levels {
            self.enter(first_op)?;
        }
        self.depth -= levels as usize;
        Ok(balance(terms, &ops, op == "||"))
    }

    fn relation(&mut self) -> Result<Expr, PErr> {
        self.chain(Self::addition, |t| {
            Some(match t {
                Tok::P("==") => BinOp::Eq,
                Tok::P("!=") => BinOp::Ne,
                Tok::P("<") => BinOp::Lt,
                Tok::P("<=") => BinOp::Le,
                Tok::P(">") => BinOp::Gt,
                Tok::P(">=") => BinOp::Ge,
                Tok::In => BinOp::In,
                _ => return None,
            })
        })
    }

    fn addition(&mut self) -> Result<Expr, PErr> {
        self.chain(Self::multiplication, |t| match t {
            Tok::P("+") => Some(BinOp::Add),
            Tok::P("-") => Some(BinOp::Sub),
            _ => None,
        })
    }

    fn multiplication(&mut self) -> Result<Expr, PErr> {
        self.chain(Self::unary, |t| match t {
            Tok::P("*") => Some(BinOp::Mul),
            Tok::P("/") => Some(BinOp::Div),
            Tok::P("%") => Some(BinOp::Rem),
            _ => None,
        })
    }

    fn unary(&mut self) -> Result<Expr, PErr> {
        let t = self.peek();
        let op = match t.tok {
            Tok::P("!") => UnOp::Not,
            Tok::P("-") => UnOp::Neg,
            _ => return self.member(),
        };
        self.pos += 1;
        self.enter(t.off)?;
        // Fold `-` into numeric literals so the most negative int is expressible.
        let out = match (op, self.peek_tok(0).cloned()) {
            (UnOp::Neg, Some(Tok::Int(v))) if !self.postfix_follows(1) => {
                self.pos += 1;
                let n = i64::try_from(v).map(|v| -v).or_else(|_| {
                    if v == 1u64 << 63 {
                        Ok(i64::MIN)
                    } else {
                        Err((t.off, "integer literal out of range".to_string()))
                    }
                })?;
                Expr::new(t.off, ExprKind::Lit(Value::Int(n)))
            }
            (UnOp::Neg, Some(Tok::Double(v))) if !self.postfix_follows(1) => {
                self.pos += 1;
                Expr::new(t.off, ExprKind::Lit(Value::Double(-v)))
            }
            _ => {
                let operand = self.unary()?;
                Expr::new(
                    t.off,
                    ExprKind::Unary {
                        op,
                        operand: Box::new(operand),
                    },
                )
            }
        };
        self.depth -= 1;
        Ok(out)
    }

    fn postfix_follows(&self, n: usize) -> bool {
        matches!(self.peek_tok(n), Some(Tok::P("." | ".?" | "[")))
    }

    fn member(&mut self) -> Result<Expr, PErr> {
        let mut e = self.primary()?;
        let mut levels = 0;
        loop {
            let t = self.peek();
            if t.tok == Tok::P("{")
                && let Some(name) = e.qualified_name()
            {
                // `Object.spec{...}`: a qualified type name followed by field initializers.
                e = self.message(name, e.off)?;
                continue;
            }
            let optional = match t.tok {
                Tok::P(".") => false,
                Tok::P(".?") => true,
                Tok::P("[") => {
                    self.pos += 1;
                    levels += 1;
                    self.enter(t.off)?;
                    let opt = self.eat("?");
                    let index = self.expr()?;
                    self.expect("]")?;
                    e = Expr::new(
                        t.off,
                        ExprKind::Index {
                            operand: Box::new(e),
                            index: Box::new(index),
                            optional: opt,
                        },
                    );
                    continue;
                }
                _ => break,
            };
            self.pos += 1;
            levels += 1;
            self.enter(t.off)?;
            let (name, _) = self.ident()?;
            if !optional && self.is_p("(") {
                let args = self.args()?;
                e = macros::expand_method(e, name, args, t.off)?;
            } else {
                e = Expr::new(
                    t.off,
                    ExprKind::Select {
                        operand: Box::new(e),
                        field: name.into(),
                        optional,
                    },
                );
            }
        }
        self.depth -= levels;
        Ok(e)
    }

    fn ident(&mut self) -> Result<(String, usize), PErr> {
        let t = self.peek();
        if let Tok::Ident(name) = t.tok {
            self.pos += 1;
            Ok((name, t.off))
        } else {
            Err((
                t.off,
                format!("expected an identifier but found {}", describe(&t.tok)),
            ))
        }
    }

    fn args(&mut self) -> Result<Vec<Expr>, PErr> {
        self.expect("(")?;
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(")") {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }

    fn primary(&mut self) -> Result<Expr, PErr> {
        let t = self.peek();
        self.pos += 1;
        let lit = |v| Ok(Expr::new(t.off, ExprKind::Lit(v)));
        match t.tok {
            Tok::Int(v) => match i64::try_from(v) {
                Ok(v) => lit(Value::Int(v)),
                Err(_) => Err((t.off, "integer literal out of range".into())),
            },
            Tok::Uint(v) => lit(Value::Uint(v)),
            Tok::Double(v) => lit(Value::Double(v)),
            Tok::Str(s) => lit(Value::from(s)),
            Tok::Bytes(b) => lit(Value::Bytes(b.into())),
            Tok::True => lit(Value::Bool(true)),
            Tok::False => lit(Value::Bool(false)),
            Tok::Null => lit(Value::Null),
            Tok::Ident(name) => {
                reject_reserved(&name, t.off)?;
                if self.is_p("(") {
                    let args = self.args()?;
                    macros::expand_global(name, args, t.off)
                } else if self.is_p("{") {
                    self.message(name, t.off)
                } else {
                    Ok(Expr::new(t.off, ExprKind::Ident(name)))
                }
            }
            Tok::P(".") => {
                // Leading dot: name resolved from the root scope.
                let (name, off) = self.ident()?;
                reject_reserved(&name, off)?;
                if self.is_p("(") {
                    let args = self.args()?;
                    macros::expand_global(name, args, t.off)
                } else {
                    Ok(Expr::new(t.off, ExprKind::Ident(name)))
                }
            }
            Tok::P("(") => {
                self.enter(t.off)?;
                let e = self.expr()?;
                self.expect(")")?;
                self.depth -= 1;
                Ok(e)
            }
            Tok::P("[") => self.list(t.off),
            Tok::P("{") => self.map(t.off),
            other => Err((t.off, format!("unexpected {}", describe(&other)))),
        }
    }
}

/// Builds a balanced tree from `terms` joined by the operators at offsets `ops`.
fn balance(mut terms: Vec<Expr>, ops: &[usize], is_or: bool) -> Expr {
    if terms.len() <= 1 {
        return terms
            .pop()
            .unwrap_or(Expr::new(0, ExprKind::Lit(Value::Bool(!is_or))));
    }
    let mid = terms.len() / 2;
    let right = terms.split_off(mid);
    let off = ops.get(mid - 1).copied().unwrap_or(0);
    let (lops, rops) = (
        ops.get(..mid - 1).unwrap_or(&[]),
        ops.get(mid..).unwrap_or(&[]),
    );
    let l = Box::new(balance(terms, lops, is_or));
    let r = Box::new(balance(right, rops, is_or));
    Expr::new(
        off,
        if is_or {
            ExprKind::Or(l, r)
        } else {
            ExprKind::And(l, r)
        },
    )
}

/// Reserved words may not name a variable or function (they may name a field).
fn reject_reserved(name: &str, off: usize) -> Result<(), PErr> {
    if crate::lexer::RESERVED.contains(&name) {
        return Err((off, format!("reserved identifier '{name}'")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_expressions() {
        let ok = [
            "a.b.c",
            "a.?b.c",
            "a[?0]",
            "[1, ?x, 3,]",
            "{'a': 1, ?'b': y}",
            "a ? b : c ? d : e",
            "-9223372036854775808",
            "!!true",
            "x.all(y, y > 0)",
            "has(a.b)",
            "m.map(k, v, k + v)",
            "1 in [1, 2] && 'a' + 'b' == 'ab' || 3 % 2 == 1",
            "x.transformList(i, v, v * 2)",
            "opt.optMap(v, v + 1)",
            ".a",
            "Object{spec: Object.spec{replicas: 1}, ?status: x}",
            "JSONPatch{op: 'add', path: '/a', value: 1}",
        ];
        for src in ok {
            assert!(parse(src).is_ok(), "{src}: {:?}", parse(src).err());
        }
    }

    #[test]
    fn rejects_invalid_expressions_with_offsets() {
        let cases = [
            ("a +", 3),
            ("(1", 2),
            ("a.b(", 4),
            ("has(a)", 0),
            ("x.all(1, true)", 6),
            ("9223372036854775808", 0),
            ("a b", 2),
        ];
        for (src, off) in cases {
            let e = parse(src).unwrap_err();
            assert_eq!(e.0, off, "{src}: {}", e.1);
        }
    }

    #[test]
    fn reserved_words_only_as_field_names() {
        assert!(parse("object.metadata.namespace == request.namespace").is_ok());
        assert!(parse("Object{namespace: 1}").is_ok());
        for src in ["namespace", "namespace.x", ".namespace", "package(1)"] {
            assert!(parse(src).unwrap_err().1.contains("reserved"), "{src}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(&deep).unwrap_err().1.contains("nesting"));
        let long_chain = vec!["1"; 5000].join(" + ");
        assert!(parse(&long_chain).unwrap_err().1.contains("nesting"));
        // Logical chains are balanced, so thousands of terms stay shallow.
        assert!(parse(&vec!["a"; 5000].join(" || ")).is_ok());
        assert!(parse(&vec!["a"; 5000].join(" && ")).is_ok());
        let members = format!("a{}", ".b".repeat(5000));
        assert!(parse(&members).is_err());
        let nots = format!("{}true", "!".repeat(5000));
        assert!(parse(&nots).is_err());
        assert!(parse(&vec!["1"; 50].join(" + ")).is_ok());
    }
}
