//! Actions to a tree: text, output actions, `if`/`else if`/`else`, `range` (with `$i, $v :=`),
//! `with`, `end`; pipelines of commands joined by `|`.

use super::lex::{Piece, Token};
use super::TemplateError;

#[derive(Debug)]
pub enum Node {
    Text(String),
    Output(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

#[derive(Debug)]
pub struct Pipeline {
    /// `$x :=` / `$i, $v :=` (or `=`: assignment to an existing variable)
    pub vars: Vec<String>,
    pub commands: Vec<Command>,
}

#[derive(Debug)]
pub struct Command {
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub enum Arg {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `( pipeline ).A.B`
    Sub(Box<Pipeline>, Vec<String>),
}

/// How a block ended: `{{end}}`, `{{else}}`, or `{{else if ...}}` / `{{else with ...}}`.
enum Ending {
    End,
    Else,
    ElseIf(Vec<Token>),
    Eof,
}

pub fn parse(pieces: Vec<Piece>) -> Result<Vec<Node>, TemplateError> {
    let mut it = pieces.into_iter();
    let (nodes, ending) = block(&mut it)?;
    match ending {
        Ending::Eof => Ok(nodes),
        _ => Err(TemplateError::parse("unexpected {{end}} or {{else}}")),
    }
}

fn block(it: &mut impl Iterator<Item = Piece>) -> Result<(Vec<Node>, Ending), TemplateError> {
    let mut nodes = Vec::new();
    while let Some(piece) = it.next() {
        let tokens = match piece {
            Piece::Text(t) => {
                nodes.push(Node::Text(t));
                continue;
            }
            Piece::Action(t) => t,
        };
        match tokens.first() {
            Some(Token::Ident(k)) if k == "end" => return Ok((nodes, Ending::End)),
            Some(Token::Ident(k)) if k == "else" => {
                return Ok((
                    nodes,
                    if tokens.len() > 1 {
                        Ending::ElseIf(tokens[1..].to_vec())
                    } else {
                        Ending::Else
                    },
                ))
            }
            Some(Token::Ident(k)) if k == "if" || k == "range" || k == "with" => {
                nodes.push(control(k.clone(), tokens[1..].to_vec(), it)?);
            }
            Some(Token::Ident(k)) if matches!(k.as_str(), "define" | "template" | "block") => {
                return Err(TemplateError::parse(format!(
                    "{{{{{k}}}}} is not supported"
                )))
            }
            _ => nodes.push(Node::Output(pipeline(&tokens)?)),
        }
    }
    Ok((nodes, Ending::Eof))
}

fn control(
    keyword: String,
    tokens: Vec<Token>,
    it: &mut impl Iterator<Item = Piece>,
) -> Result<Node, TemplateError> {
    let pipe = pipeline(&tokens)?;
    let (body, ending) = block(it)?;
    let otherwise = match ending {
        Ending::End => Vec::new(),
        Ending::Else => {
            let (nodes, end) = block(it)?;
            if !matches!(end, Ending::End) {
                return Err(TemplateError::parse(format!(
                    "{{{{{keyword}}}}} has no {{{{end}}}}"
                )));
            }
            nodes
        }
        // `else if X` is `else` + a nested `if X ... end` sharing the outer end.
        Ending::ElseIf(rest) => match rest.first() {
            Some(Token::Ident(k)) if k == "if" || k == "with" => {
                vec![control(k.clone(), rest[1..].to_vec(), it)?]
            }
            _ => return Err(TemplateError::parse("unexpected tokens after {{else}}")),
        },
        Ending::Eof => {
            return Err(TemplateError::parse(format!(
                "{{{{{keyword}}}}} has no {{{{end}}}}"
            )))
        }
    };
    Ok(match keyword.as_str() {
        "if" => Node::If(pipe, body, otherwise),
        "range" => Node::Range(pipe, body, otherwise),
        _ => Node::With(pipe, body, otherwise),
    })
}

pub fn pipeline(tokens: &[Token]) -> Result<Pipeline, TemplateError> {
    let mut vars = Vec::new();
    let mut rest = tokens;
    // `$x :=`, `$i, $v :=`, `$x =`
    let decl_at = tokens
        .iter()
        .position(|t| matches!(t, Token::Declare | Token::Assign));
    if let Some(at) = decl_at {
        for t in &tokens[..at] {
            match t {
                Token::Var(name, chain) if chain.is_empty() => vars.push(name.clone()),
                Token::Comma => {}
                _ => return Err(TemplateError::parse("only variables go before :=")),
            }
        }
        rest = &tokens[at + 1..];
    }
    let mut commands = Vec::new();
    let mut pos = 0;
    loop {
        let (cmd, used) = command(&rest[pos..])?;
        commands.push(cmd);
        pos += used;
        match rest.get(pos) {
            Some(Token::Pipe) => pos += 1,
            None => break,
            Some(t) => {
                return Err(TemplateError::parse(format!(
                    "unexpected {t:?} in pipeline"
                )))
            }
        }
    }
    Ok(Pipeline { vars, commands })
}

/// One command: arguments up to `|`, `)` or the end -> (command, tokens used).
fn command(tokens: &[Token]) -> Result<(Command, usize), TemplateError> {
    let mut args = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let arg = match &tokens[i] {
            Token::Pipe | Token::RParen(_) => break,
            Token::Field(c) => Arg::Field(c.clone()),
            Token::Var(n, c) => Arg::Var(n.clone(), c.clone()),
            Token::Ident(n) if super::funcs::NAMES.contains(&n.as_str()) => Arg::Func(n.clone()),
            Token::Ident(n) => {
                return Err(TemplateError::parse(format!("function {n:?} not defined")))
            }
            Token::Str(s) => Arg::Str(s.clone()),
            Token::Int(n) => Arg::Int(*n),
            Token::Float(f) => Arg::Float(*f),
            Token::Bool(b) => Arg::Bool(*b),
            Token::Nil => Arg::Nil,
            Token::LParen => {
                let close = matching_paren(&tokens[i..])
                    .ok_or_else(|| TemplateError::parse("unclosed left paren"))?;
                let inner = pipeline(&tokens[i + 1..i + close])?;
                let Token::RParen(chain) = &tokens[i + close] else {
                    unreachable!("matching_paren ends on a right paren")
                };
                i += close;
                Arg::Sub(Box::new(inner), chain.clone())
            }
            t => return Err(TemplateError::parse(format!("unexpected {t:?}"))),
        };
        args.push(arg);
        i += 1;
    }
    if args.is_empty() {
        return Err(TemplateError::parse("missing value for command"));
    }
    Ok((Command { args }, i))
}

fn matching_paren(tokens: &[Token]) -> Option<usize> {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen(_) => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
