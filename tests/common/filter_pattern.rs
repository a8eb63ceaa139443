//! CloudWatch Logs JSON filter patterns, evaluated by their documented rules, so tests can
//! check what a subscription filter lets through without AWS (moto ignores JSON patterns).
//!
//! Supported: `{ ... }`, selectors `$.a.b` and `$.a[0]`, `=` and `!=` (and `<`, `<=`, `>`,
//! `>=` on numbers), quoted or bare values, `*` wildcards at either end of a string value,
//! `&&`, `||` and parentheses (`&&` binds tighter). A selector that names no value does not
//! match, whichever the operator. Anything else is a parse error, never a silent pass.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare {
        path: Vec<Step>,
        op: Op,
        value: Literal,
    },
    /// `$.field NOT EXISTS`: the event has no such field.
    NotExists(Vec<Step>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
}

pub fn parse(pattern: &str) -> Result<Expr, String> {
    let tokens = tokenize(pattern)?;
    let mut parser = Parser { tokens, at: 0 };
    parser.expect(&Token::Open)?;
    let expr = parser.or()?;
    parser.expect(&Token::Close)?;
    if parser.at != parser.tokens.len() {
        return Err(format!(
            "unexpected {:?} after the pattern",
            parser.tokens[parser.at]
        ));
    }
    Ok(expr)
}

/// Whether a log event (one JSON document) passes the pattern.
pub fn matches(expr: &Expr, event: &Value) -> bool {
    match expr {
        Expr::And(a, b) => matches(a, event) && matches(b, event),
        Expr::Or(a, b) => matches(a, event) || matches(b, event),
        Expr::NotExists(path) => node_at(path, event).is_none(),
        Expr::Compare { path, op, value } => match node_at(path, event) {
            Some(node) => compare(node, *op, value),
            None => false,
        },
    }
}

/// The value a selector's steps lead to, if the event has it.
fn node_at<'v>(path: &[Step], event: &'v Value) -> Option<&'v Value> {
    let mut node = event;
    for step in path {
        node = match step {
            Step::Field(name) => node.get(name)?,
            Step::Index(i) => node.get(*i)?,
        };
    }
    Some(node)
}

fn compare(node: &Value, op: Op, value: &Literal) -> bool {
    match (node, value) {
        (Value::Null, _) => false,
        (Value::Number(n), Literal::Number(v)) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            match op {
                Op::Eq => n == *v,
                Op::Ne => n != *v,
                Op::Lt => n < *v,
                Op::Le => n <= *v,
                Op::Gt => n > *v,
                Op::Ge => n >= *v,
            }
        }
        (Value::String(s), Literal::Text(pattern)) => {
            let hit = wildcard_match(s, pattern);
            match op {
                Op::Eq => hit,
                Op::Ne => !hit,
                _ => false,
            }
        }
        (Value::Bool(b), Literal::Text(t)) => {
            let hit = b.to_string() == *t;
            match op {
                Op::Eq => hit,
                Op::Ne => !hit,
                _ => false,
            }
        }
        _ => false,
    }
}

fn wildcard_match(text: &str, pattern: &str) -> bool {
    let leading = pattern.starts_with('*');
    let trailing = pattern.len() > 1 && pattern.ends_with('*');
    let core = &pattern[usize::from(leading)..pattern.len() - usize::from(trailing)];
    match (leading, trailing) {
        (true, true) => text.contains(core),
        (true, false) => text.ends_with(core),
        (false, true) => text.starts_with(core),
        (false, false) => text == core,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    LParen,
    RParen,
    And,
    Or,
    Op(Op),
    Selector(Vec<Step>),
    Quoted(String),
    Bare(String),
}

fn tokenize(pattern: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '{' => (tokens.push(Token::Open), i += 1).1,
            '}' => (tokens.push(Token::Close), i += 1).1,
            '(' => (tokens.push(Token::LParen), i += 1).1,
            ')' => (tokens.push(Token::RParen), i += 1).1,
            '&' if next == Some('&') => (tokens.push(Token::And), i += 2).1,
            '|' if next == Some('|') => (tokens.push(Token::Or), i += 2).1,
            '!' if next == Some('=') => (tokens.push(Token::Op(Op::Ne)), i += 2).1,
            '=' => (tokens.push(Token::Op(Op::Eq)), i += 1).1,
            '<' | '>' => {
                let or_equal = next == Some('=');
                let op = match (c, or_equal) {
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    _ => Op::Ge,
                };
                tokens.push(Token::Op(op));
                i += 1 + usize::from(or_equal);
            }
            '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string".into()),
                        Some('"') => break,
                        Some('\\') => {
                            text.push(*chars.get(i + 1).ok_or("dangling escape")?);
                            i += 2;
                        }
                        Some(c) => {
                            text.push(*c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                tokens.push(Token::Quoted(text));
            }
            '$' => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !"=!<>()&|{}".contains(chars[i])
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                tokens.push(Token::Selector(selector(&text)?));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !"=!<>()&|{}\"".contains(chars[i])
                {
                    i += 1;
                }
                if start == i {
                    return Err(format!("unexpected {c:?}"));
                }
                tokens.push(Token::Bare(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(tokens)
}

fn selector(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = text.strip_prefix('$').ok_or("a selector starts with $")?;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(format!("empty field in {text}"));
            }
            steps.push(Step::Field(after[..end].to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or(format!("unclosed [ in {text}"))?;
            let index = after[..end]
                .parse()
                .map_err(|_| format!("bad index in {text}"))?;
            steps.push(Step::Index(index));
            rest = &after[end + 1..];
        } else {
            return Err(format!("cannot read selector {text}"));
        }
    }
    if steps.is_empty() {
        return Err("a selector names a field".into());
    }
    Ok(steps)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn expect(&mut self, token: &Token) -> Result<(), String> {
        if self.peek() == Some(token) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {token:?}, found {:?}", self.peek()))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.factor()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(&Token::LParen) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(&Token::RParen)?;
            return Ok(inner);
        }
        let Some(Token::Selector(path)) = self.peek().cloned() else {
            return Err(format!("expected a selector, found {:?}", self.peek()));
        };
        self.at += 1;
        if self.peek() == Some(&Token::Bare("NOT".into())) {
            self.at += 1;
            self.expect(&Token::Bare("EXISTS".into()))?;
            return Ok(Expr::NotExists(path));
        }
        let Some(Token::Op(op)) = self.peek().cloned() else {
            return Err(format!("expected an operator, found {:?}", self.peek()));
        };
        self.at += 1;
        let value = match self.peek().cloned() {
            Some(Token::Quoted(text)) => Literal::Text(text),
            Some(Token::Bare(text)) => match text.parse::<f64>() {
                Ok(n) => Literal::Number(n),
                Err(_) => Literal::Text(text),
            },
            other => return Err(format!("expected a value, found {other:?}")),
        };
        self.at += 1;
        Ok(Expr::Compare { path, op, value })
    }
}

#[cfg(test)]
mod rules {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_the_documented_rules() {
        let event = json!({"a": "GetSecretValue", "n": 5, "e": {"m": "x marked y"}, "l": ["p"]});
        let yes = [
            r#"{ $.a = "GetSecretValue" }"#,
            r#"{ $.a = GetSecretValue }"#,
            r#"{ $.a = "Get*" }"#,
            r#"{ $.a = "*Value" }"#,
            r#"{ $.e.m = "*marked*" }"#,
            r#"{ $.l[0] = "p" }"#,
            r#"{ $.n >= 5 && $.n < 6 }"#,
            r#"{ $.a != "Other" }"#,
            r#"{ ($.a = "x") || ($.a = "GetSecretValue" && $.n = 5) }"#,
            r#"{ $.a = "x" && $.n = 1 || $.n = 5 }"#,
            r#"{ $.missing NOT EXISTS }"#,
            r#"{ $.e.gone NOT EXISTS && $.a = "GetSecretValue" }"#,
        ];
        for pattern in yes {
            assert!(matches(&parse(pattern).unwrap(), &event), "{pattern}");
        }
        let no = [
            r#"{ $.a = "getsecretvalue" }"#,
            r#"{ $.a = "Secret*" }"#,
            r#"{ $.missing = "*" }"#,
            r#"{ $.missing != "x" }"#,
            r#"{ $.a = "x" && ($.n = 1 || $.n = 5) }"#,
            r#"{ $.a NOT EXISTS }"#,
            r#"{ $.e.m NOT EXISTS }"#,
        ];
        for pattern in no {
            assert!(!matches(&parse(pattern).unwrap(), &event), "{pattern}");
        }
        for bad in [
            "$.a = 1",
            "{ $.a = }",
            "{ $.a \"x\" }",
            "{ a = 1 }",
            "{ $.a = 1 ",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
