//! Runs a parsed template over a JSON value the way Go's text/template runs over docker's
//! structs: fields by name, maps ranged in key order, Go's printing of values.

use super::funcs;
use super::parse::{Arg, Command, Node, Pipeline};
use super::TemplateError;
use serde_json::Value;

pub struct Exec<'a> {
    root: &'a Value,
    vars: Vec<(String, Value)>,
    pub out: String,
}

impl<'a> Exec<'a> {
    pub fn new(root: &'a Value) -> Self {
        Exec {
            root,
            // `$` is looked up in `root` directly (`arg`): no copy of the whole value per
            // render (2,000 of them per `ps --format`).
            vars: Vec::new(),
            out: String::new(),
        }
    }

    pub fn nodes(&mut self, nodes: &[Node], dot: &Value) -> Result<(), TemplateError> {
        for n in nodes {
            self.node(n, dot)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &Node, dot: &Value) -> Result<(), TemplateError> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Output(p) => {
                let v = self.pipeline(p, dot)?;
                // An assignment prints nothing.
                if p.vars.is_empty() {
                    self.out.push_str(&print_value(&v));
                }
            }
            Node::If(p, then, otherwise) => {
                let mark = self.vars.len();
                let v = self.pipeline(p, dot)?;
                let branch = if truthy(&v) { then } else { otherwise };
                self.nodes(branch, dot)?;
                self.vars.truncate(mark);
            }
            Node::With(p, body, otherwise) => {
                let mark = self.vars.len();
                let v = self.pipeline(p, dot)?;
                if truthy(&v) {
                    self.nodes(body, &v)?;
                } else {
                    self.nodes(otherwise, dot)?;
                }
                self.vars.truncate(mark);
            }
            Node::Range(p, body, otherwise) => self.range(p, body, otherwise, dot)?,
        }
        Ok(())
    }

    fn range(
        &mut self,
        p: &Pipeline,
        body: &[Node],
        otherwise: &[Node],
        dot: &Value,
    ) -> Result<(), TemplateError> {
        let mark = self.vars.len();
        let v = self.eval_commands(&p.commands, dot)?;
        let items: Vec<(Value, Value)> = match &v {
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::from(i), x.clone()))
                .collect(),
            // serde_json's map is ordered by key: Go ranges over maps in key order too.
            Value::Object(m) => m
                .iter()
                .map(|(k, x)| (Value::String(k.clone()), x.clone()))
                .collect(),
            Value::Null => Vec::new(),
            Value::Number(n) if n.as_u64().is_some() => (0..n.as_u64().unwrap_or(0))
                .map(|i| (Value::from(i), Value::from(i)))
                .collect(),
            other => {
                return Err(TemplateError::exec(format!(
                    "range can't iterate over {}",
                    print_value(other)
                )))
            }
        };
        if items.is_empty() {
            self.nodes(otherwise, dot)?;
            return Ok(());
        }
        for (key, item) in items {
            let inner = self.vars.len();
            match p.vars.as_slice() {
                [] => {}
                [v] => self.vars.push((v.clone(), item.clone())),
                [k, v, ..] => {
                    self.vars.push((k.clone(), key));
                    self.vars.push((v.clone(), item.clone()));
                }
            }
            self.nodes(body, &item)?;
            self.vars.truncate(inner);
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn pipeline(&mut self, p: &Pipeline, dot: &Value) -> Result<Value, TemplateError> {
        let v = self.eval_commands(&p.commands, dot)?;
        for name in &p.vars {
            match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                // `$x = ...` of a variable declared earlier, and re-declarations alike.
                Some(slot) if p.vars.len() == 1 => slot.1 = v.clone(),
                _ => self.vars.push((name.clone(), v.clone())),
            }
        }
        Ok(v)
    }

    fn eval_commands(&mut self, cmds: &[Command], dot: &Value) -> Result<Value, TemplateError> {
        let mut piped: Option<Value> = None;
        for c in cmds {
            piped = Some(self.command(c, dot, piped)?);
        }
        Ok(piped.unwrap_or(Value::Null))
    }

    fn command(
        &mut self,
        c: &Command,
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, TemplateError> {
        if let Arg::Func(name) = &c.args[0] {
            let mut args = Vec::with_capacity(c.args.len());
            for a in &c.args[1..] {
                args.push(self.arg(a, dot)?);
            }
            if let Some(p) = piped {
                args.push(p);
            }
            return funcs::call(name, args);
        }
        if c.args.len() > 1 || piped.is_some() {
            return Err(TemplateError::exec(format!(
                "can't give arguments to a non-function {:?}",
                c.args[0]
            )));
        }
        self.arg(&c.args[0], dot)
    }

    fn arg(&mut self, a: &Arg, dot: &Value) -> Result<Value, TemplateError> {
        Ok(match a {
            Arg::Field(chain) => fields(dot, chain)?,
            Arg::Var(name, chain) => {
                let v = if name == "$" {
                    self.root.clone()
                } else {
                    self.vars
                        .iter()
                        .rev()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| TemplateError::exec(format!("undefined variable: {name}")))?
                };
                fields(&v, chain)?
            }
            Arg::Func(name) => funcs::call(name, Vec::new())?,
            Arg::Str(s) => Value::String(s.clone()),
            Arg::Int(n) => Value::from(*n),
            Arg::Float(f) => Value::from(*f),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Nil => Value::Null,
            Arg::Sub(p, chain) => {
                let v = self.eval_commands(&p.commands, dot)?;
                fields(&v, chain)?
            }
        })
    }
}

/// `.A.B` of `v`. A missing key of an object is Go's `<no value>` for a map, which docker's
/// scripts see for e.g. an absent label; a field of a non-object is an error, as in Go.
fn fields(v: &Value, chain: &[String]) -> Result<Value, TemplateError> {
    let mut cur = v;
    for name in chain {
        match cur {
            Value::Object(m) => match m.get(name) {
                Some(x) => cur = x,
                None => return Ok(Value::Null),
            },
            // Go: a field of a nil pointer is an error; docker's scripts guard with `if`.
            Value::Null => return Ok(Value::Null),
            other => {
                return Err(TemplateError::exec(format!(
                    "can't evaluate field {name} in {}",
                    kind(other)
                )))
            }
        }
    }
    Ok(cur.clone())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// Go's truth: false, 0, "", nil and empty collections are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// Go's `fmt.Print` of the value: strings bare, lists `[a b]`, maps `map[k:v]`, nil `<nil>`.
pub fn print_value(v: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, v);
    s
}

fn write_value(s: &mut String, v: &Value) {
    match v {
        Value::Null => s.push_str("<nil>"),
        Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => s.push_str(&number_text(n)),
        Value::String(t) => s.push_str(t),
        Value::Array(a) => {
            s.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                write_value(s, x);
            }
            s.push(']');
        }
        Value::Object(m) => {
            s.push_str("map[");
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(k);
                s.push(':');
                write_value(s, x);
            }
            s.push(']');
        }
    }
}

/// Integers as integers; floats as Go's %v does (1e+06 for large ones is not needed here).
pub fn number_text(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}
