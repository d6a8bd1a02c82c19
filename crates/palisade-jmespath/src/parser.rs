//! Pratt parser with JMESPath's binding powers (as in jmespath.py and go-jmespath).

use crate::ast::{Cmp, Node};
use crate::error::ParseError;
use crate::lexer::{Tok, Token, tokenize};

/// Deepest nesting of sub-expressions accepted; deeper input is a parse error, not a crash.
pub const MAX_DEPTH: usize = 256;
/// Tokens with a binding power below this end a projection's right-hand side.
const PROJECTION_STOP: u8 = 10;

fn binding_power(t: &Tok) -> u8 {
    match t {
        Tok::Pipe => 1,
        Tok::Or => 2,
        Tok::And => 3,
        Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => 5,
        Tok::Flatten => 9,
        Tok::Star => 20,
        Tok::Filter => 21,
        Tok::Dot => 40,
        Tok::Not => 45,
        Tok::LBrace => 50,
        Tok::LBracket => 55,
        Tok::LParen => 60,
        _ => 0,
    }
}

/// Parses an expression into a tree.
pub fn parse(expr: &str) -> Result<Node, ParseError> {
    let tokens = tokenize(expr)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let node = p.expression(0)?;
    let t = p.peek_token();
    if t.tok != Tok::Eof {
        return Err(ParseError::new(
            t.offset,
            format!("Unexpected token: {:?}", t.tok),
        ));
    }
    Ok(node)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek_token(&self) -> Token {
        self.tokens.get(self.pos).cloned().unwrap_or(Token {
            tok: Tok::Eof,
            offset: 0,
        })
    }

    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> &Tok {
        self.tokens.get(self.pos + n).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(0, |t| t.offset)
    }

    fn advance(&mut self) -> Token {
        let t = self.peek_token();
        self.pos += 1;
        t
    }

    fn expect(&mut self, want: &Tok) -> Result<(), ParseError> {
        if self.peek() == want {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("expected {want:?}")))
        }
    }

    fn unexpected(&self, what: &str) -> ParseError {
        let t = self.peek_token();
        if t.tok == Tok::Eof {
            return ParseError::new(t.offset, format!("Unexpected end of expression: {what}"));
        }
        ParseError::new(t.offset, format!("Unexpected token {:?}: {what}", t.tok))
    }

    /// Parses at binding power `rbp`. `depth` counts nested calls plus chained operators, which
    /// bounds the depth of the resulting tree (so evaluating or dropping it cannot overflow).
    fn expression(&mut self, rbp: u8) -> Result<Node, ParseError> {
        let saved = self.depth;
        self.enter()?;
        let token = self.advance();
        let mut left = self.nud(token)?;
        while rbp < binding_power(self.peek()) {
            self.enter()?;
            let token = self.advance();
            left = self.led(token, left)?;
        }
        self.depth = saved;
        Ok(left)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                self.offset(),
                "expression is nested too deeply",
            ));
        }
        Ok(())
    }

    fn nud(&mut self, token: Token) -> Result<Node, ParseError> {
        match token.tok {
            Tok::Literal(v) => Ok(Node::Literal(v)),
            Tok::Ident(name) => Ok(Node::Field(name)),
            Tok::QuotedIdent(name) => {
                if *self.peek() == Tok::LParen {
                    return Err(ParseError::new(
                        token.offset,
                        "Quoted identifier not allowed for function names",
                    ));
                }
                Ok(Node::Field(name))
            }
            Tok::Star => {
                let right = if *self.peek() == Tok::RBracket {
                    Node::Identity
                } else {
                    self.projection_rhs(binding_power(&Tok::Star))?
                };
                Ok(Node::ValueProjection(
                    Box::new(Node::Identity),
                    Box::new(right),
                ))
            }
            Tok::Filter => self.filter(Node::Identity),
            Tok::LBrace => self.multi_hash(),
            Tok::Flatten => {
                let right = self.projection_rhs(binding_power(&Tok::Flatten))?;
                Ok(Node::Projection(
                    Box::new(Node::Flatten(Box::new(Node::Identity))),
                    Box::new(right),
                ))
            }
            Tok::LBracket => match self.peek() {
                Tok::Number(_) | Tok::Colon => {
                    let index = self.index_or_slice()?;
                    self.project_if_slice(Node::Identity, index)
                }
                Tok::Star if *self.peek_at(1) == Tok::RBracket => {
                    self.pos += 2;
                    let right = self.projection_rhs(binding_power(&Tok::Star))?;
                    Ok(Node::Projection(Box::new(Node::Identity), Box::new(right)))
                }
                _ => self.multi_list(),
            },
            Tok::At => Ok(Node::Identity),
            Tok::Ampersand => Ok(Node::ExpRef(Box::new(self.expression(0)?))),
            Tok::Not => Ok(Node::Not(Box::new(
                self.expression(binding_power(&Tok::Not))?,
            ))),
            Tok::LParen => {
                let inner = self.expression(0)?;
                self.expect(&Tok::RParen)?;
                Ok(inner)
            }
            Tok::Eof => Err(ParseError::new(
                token.offset,
                "Unexpected end of expression",
            )),
            other => Err(ParseError::new(
                token.offset,
                format!("Unexpected token: {other:?}"),
            )),
        }
    }

    fn led(&mut self, token: Token, left: Node) -> Result<Node, ParseError> {
        let bp = binding_power(&token.tok);
        let boxed = Box::new(left);
        match token.tok {
            Tok::Dot => {
                if *self.peek() == Tok::Star {
                    self.pos += 1;
                    let right = self.projection_rhs(bp)?;
                    return Ok(Node::ValueProjection(boxed, Box::new(right)));
                }
                let right = self.dot_rhs(bp)?;
                Ok(Node::Subexpr(boxed, Box::new(right)))
            }
            Tok::Pipe => Ok(Node::Pipe(boxed, Box::new(self.expression(bp)?))),
            Tok::Or => Ok(Node::Or(boxed, Box::new(self.expression(bp)?))),
            Tok::And => Ok(Node::And(boxed, Box::new(self.expression(bp)?))),
            Tok::LParen => {
                let Node::Field(name) = *boxed else {
                    return Err(ParseError::new(token.offset, "Invalid function name"));
                };
                let mut args = Vec::new();
                while *self.peek() != Tok::RParen {
                    args.push(self.expression(0)?);
                    if *self.peek() == Tok::Comma {
                        self.pos += 1;
                        if *self.peek() == Tok::RParen {
                            return Err(self.unexpected("expected an argument"));
                        }
                    } else if *self.peek() != Tok::RParen {
                        return Err(self.unexpected("expected ',' or ')'"));
                    }
                }
                self.pos += 1;
                Ok(Node::Function(crate::ast::Func::new(name), args))
            }
            Tok::Filter => self.filter(*boxed),
            Tok::Flatten => {
                let right = self.projection_rhs(bp)?;
                Ok(Node::Projection(
                    Box::new(Node::Flatten(boxed)),
                    Box::new(right),
                ))
            }
            Tok::LBracket => match self.peek() {
                Tok::Number(_) | Tok::Colon => {
                    let index = self.index_or_slice()?;
                    self.project_if_slice(*boxed, index)
                }
                Tok::Star if *self.peek_at(1) == Tok::RBracket => {
                    self.pos += 2;
                    let right = self.projection_rhs(binding_power(&Tok::Star))?;
                    Ok(Node::Projection(boxed, Box::new(right)))
                }
                _ => Err(self.unexpected("expected a number, ':' or '*'")),
            },
            Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => {
                let op = match token.tok {
                    Tok::Eq => Cmp::Eq,
                    Tok::Ne => Cmp::Ne,
                    Tok::Lt => Cmp::Lt,
                    Tok::Le => Cmp::Le,
                    Tok::Gt => Cmp::Gt,
                    _ => Cmp::Ge,
                };
                Ok(Node::Compare(op, boxed, Box::new(self.expression(bp)?)))
            }
            other => Err(ParseError::new(
                token.offset,
                format!("Unexpected token: {other:?}"),
            )),
        }
    }

    fn filter(&mut self, left: Node) -> Result<Node, ParseError> {
        let cond = self.expression(0)?;
        self.expect(&Tok::RBracket)?;
        let right = if *self.peek() == Tok::Flatten {
            Node::Identity
        } else {
            self.projection_rhs(binding_power(&Tok::Filter))?
        };
        Ok(Node::FilterProjection(
            Box::new(left),
            Box::new(right),
            Box::new(cond),
        ))
    }

    fn project_if_slice(&mut self, left: Node, index: Node) -> Result<Node, ParseError> {
        let is_slice = matches!(index, Node::Slice(..));
        let expr = Node::IndexExpr(Box::new(left), Box::new(index));
        if !is_slice {
            return Ok(expr);
        }
        let right = self.projection_rhs(binding_power(&Tok::Star))?;
        Ok(Node::Projection(Box::new(expr), Box::new(right)))
    }

    /// After `[`: an index `n]` or a slice `a:b:c]`.
    fn index_or_slice(&mut self) -> Result<Node, ParseError> {
        let mut parts: [Option<i64>; 3] = [None, None, None];
        let mut idx = 0;
        loop {
            match self.peek().clone() {
                Tok::Number(n) => {
                    parts[idx] = Some(n);
                    self.pos += 1;
                }
                Tok::Colon => {
                    idx += 1;
                    if idx > 2 {
                        return Err(self.unexpected("too many colons in slice"));
                    }
                    self.pos += 1;
                }
                Tok::RBracket => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("expected a number, ':' or ']'")),
            }
            if !matches!(self.peek(), Tok::Colon | Tok::RBracket) && parts[idx].is_some() {
                return Err(self.unexpected("expected ':' or ']'"));
            }
        }
        if idx == 0 {
            return parts[0]
                .map(Node::Index)
                .ok_or_else(|| self.unexpected("expected an index"));
        }
        Ok(Node::Slice(parts[0], parts[1], parts[2]))
    }

    fn projection_rhs(&mut self, bp: u8) -> Result<Node, ParseError> {
        let next = self.peek().clone();
        if binding_power(&next) < PROJECTION_STOP {
            return Ok(Node::Identity);
        }
        match next {
            Tok::LBracket | Tok::Filter => self.expression(bp),
            Tok::Dot => {
                self.pos += 1;
                self.dot_rhs(bp)
            }
            _ => Err(self.unexpected("expected '.', '[' or a filter after a projection")),
        }
    }

    fn dot_rhs(&mut self, bp: u8) -> Result<Node, ParseError> {
        match self.peek() {
            Tok::Ident(_) | Tok::QuotedIdent(_) | Tok::Star => self.expression(bp),
            Tok::LBracket => {
                self.pos += 1;
                self.multi_list()
            }
            Tok::LBrace => {
                self.pos += 1;
                self.multi_hash()
            }
            _ => Err(self.unexpected("expected an identifier, '[' or '{' after '.'")),
        }
    }

    fn multi_list(&mut self) -> Result<Node, ParseError> {
        let mut items = Vec::new();
        loop {
            items.push(self.expression(0)?);
            match self.peek() {
                Tok::Comma => self.pos += 1,
                Tok::RBracket => {
                    self.pos += 1;
                    return Ok(Node::MultiList(items));
                }
                _ => return Err(self.unexpected("expected ',' or ']'")),
            }
        }
    }

    fn multi_hash(&mut self) -> Result<Node, ParseError> {
        let mut pairs = Vec::new();
        loop {
            let key = match self.advance().tok {
                Tok::Ident(k) | Tok::QuotedIdent(k) => k,
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("expected a key name"));
                }
            };
            self.expect(&Tok::Colon)?;
            pairs.push((key, self.expression(0)?));
            match self.peek() {
                Tok::Comma => self.pos += 1,
                Tok::RBrace => {
                    self.pos += 1;
                    return Ok(Node::MultiHash(pairs));
                }
                // go-jmespath reads the next key without a comma; policies rely on it.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let cases: &[(&str, &str)] = &[
            ("a.b", "Subexpression\n  Field \"a\"\n  Field \"b\"\n"),
            ("a[0]", "IndexExpression\n  Field \"a\"\n  Index 0\n"),
            ("a[*].b", "Projection\n  Field \"a\"\n  Field \"b\"\n"),
            (
                "a || b && c",
                "OrExpression\n  Field \"a\"\n  AndExpression\n    Field \"b\"\n    Field \"c\"\n",
            ),
            (
                "!a == b",
                "Comparator ==\n  NotExpression\n    Field \"a\"\n  Field \"b\"\n",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(parse(e).unwrap().dump(), *want, "{e}");
        }
    }

    #[test]
    fn hash_keys_need_no_comma_as_in_go_jmespath() {
        let with = parse("{a: b, c: d}").unwrap().dump();
        assert_eq!(parse("{a: b c: d}").unwrap().dump(), with);
        assert!(parse("{a: b c}").is_err());
        assert!(parse("[a b]").is_err());
    }

    #[test]
    fn errors() {
        for e in [
            "",
            "a.",
            "a[",
            "[1",
            "a[?b",
            "{a}",
            "\"f\"(@)",
            "a]",
            "foo(@,)",
            "a[1:2:3:4]",
            "[:::]",
            "a.[0]",
        ] {
            assert!(parse(e).is_err(), "{e:?}");
        }
        let err = parse("a.b.").unwrap_err();
        assert_eq!(err.offset, 4);
        assert_eq!(err.caret("a.b."), "a.b.\n    ^");
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let e = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&e).is_err());
        let e = "!".repeat(100_000) + "a";
        assert!(parse(&e).is_err());
        let e = "a".to_string() + &".b".repeat(100_000);
        assert!(parse(&e).is_err());
        let e = "a".to_string() + &"[0]".repeat(100_000);
        assert!(parse(&e).is_err());
    }
}
