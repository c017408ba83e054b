//! The functions docker's templates have: Go's builtins (and, or, not, len, index, slice,
//! eq, ne, lt, le, gt, ge, print, printf, println) and docker's own (json, join, split,
//! title, lower, upper, pad, truncate).

use super::exec::{number_text, print_value, truthy};
use super::TemplateError;
use serde_json::Value;

/// Every function name `call` knows: a template naming another fails when parsed, as in Go.
pub const NAMES: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le", "gt", "ge", "print",
    "println", "printf", "json", "join", "split", "title", "lower", "upper", "pad", "truncate",
];

pub fn call(name: &str, args: Vec<Value>) -> Result<Value, TemplateError> {
    let n = args.len();
    let want = |k: usize| {
        if n == k {
            Ok(())
        } else {
            Err(TemplateError::exec(format!(
                "wrong number of args for {name}: want {k} got {n}"
            )))
        }
    };
    Ok(match name {
        "and" => args
            .iter()
            .find(|v| !truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|v| truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "not" => {
            want(1)?;
            Value::Bool(!truthy(&args[0]))
        }
        "len" => {
            want(1)?;
            Value::from(match &args[0] {
                Value::String(s) => s.len(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                Value::Null => 0,
                v => return Err(TemplateError::exec(format!("len of {}", print_value(v)))),
            })
        }
        "index" => {
            let mut it = args.into_iter();
            let mut cur = it.next().unwrap_or(Value::Null);
            for key in it {
                cur = index(&cur, &key)?;
            }
            cur
        }
        "slice" => slice(args)?,
        "eq" => {
            if n < 2 {
                want(2)?;
            }
            Value::Bool(args[1..].iter().any(|b| equal(&args[0], b)))
        }
        "ne" => {
            want(2)?;
            Value::Bool(!equal(&args[0], &args[1]))
        }
        "lt" | "le" | "gt" | "ge" => {
            want(2)?;
            let ord = compare(&args[0], &args[1])?;
            Value::Bool(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        "print" => Value::String(go_print(&args, false)),
        "println" => Value::String(go_print(&args, true) + "\n"),
        "printf" => {
            let Some(Value::String(f)) = args.first() else {
                return Err(TemplateError::exec("printf needs a format string first"));
            };
            Value::String(printf(f, &args[1..]))
        }
        "json" => {
            want(1)?;
            Value::String(serde_json::to_string(&args[0]).unwrap_or_default())
        }
        "join" => {
            want(2)?;
            let sep = text(&args[1]);
            let parts: Vec<String> = match &args[0] {
                Value::Array(a) => a.iter().map(print_value).collect(),
                v => vec![print_value(v)],
            };
            Value::String(parts.join(&sep))
        }
        "split" => {
            want(2)?;
            Value::Array(
                text(&args[0])
                    .split(text(&args[1]).as_str())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            )
        }
        "title" => {
            want(1)?;
            Value::String(title(&text(&args[0])))
        }
        "lower" => {
            want(1)?;
            Value::String(text(&args[0]).to_lowercase())
        }
        "upper" => {
            want(1)?;
            Value::String(text(&args[0]).to_uppercase())
        }
        "pad" => {
            want(3)?;
            let pad = |v: &Value| " ".repeat(v.as_u64().unwrap_or(0) as usize);
            Value::String(format!(
                "{}{}{}",
                pad(&args[1]),
                text(&args[0]),
                pad(&args[2])
            ))
        }
        "truncate" => {
            want(2)?;
            let s = text(&args[0]);
            let k = args[1].as_u64().unwrap_or(0) as usize;
            Value::String(s.chars().take(k).collect())
        }
        other => {
            return Err(TemplateError::parse(format!(
                "function {other:?} not defined"
            )))
        }
    })
}

/// A value as text for the string functions (Go would refuse non-strings; docker's
/// templates are used with `join .Args " "` and the like, where printing is what people mean).
fn text(v: &Value) -> String {
    print_value(v)
}

fn index(cur: &Value, key: &Value) -> Result<Value, TemplateError> {
    Ok(match (cur, key) {
        (Value::Array(a), k) => {
            let i = k
                .as_u64()
                .ok_or_else(|| TemplateError::exec("index of a list needs a number"))?;
            a.get(i as usize).cloned().ok_or_else(|| {
                TemplateError::exec(format!("error calling index: index out of range: {i}"))
            })?
        }
        // A missing key gives the zero value: docker's maps are of strings (labels, options).
        (Value::Object(m), Value::String(k)) => {
            m.get(k).cloned().unwrap_or(Value::String(String::new()))
        }
        (Value::Null, _) => Value::Null,
        (c, k) => {
            return Err(TemplateError::exec(format!(
                "can't index {} with {}",
                print_value(c),
                print_value(k)
            )))
        }
    })
}

fn slice(args: Vec<Value>) -> Result<Value, TemplateError> {
    let mut it = args.into_iter();
    let item = it.next().unwrap_or(Value::Null);
    let bounds: Vec<usize> = it.map(|v| v.as_u64().unwrap_or(0) as usize).collect();
    let cut = |len: usize| -> Result<(usize, usize), TemplateError> {
        let from = bounds.first().copied().unwrap_or(0);
        let to = bounds.get(1).copied().unwrap_or(len);
        if from > to || to > len {
            return Err(TemplateError::exec(format!(
                "slice index out of range: {from}:{to}"
            )));
        }
        Ok((from, to))
    };
    Ok(match item {
        Value::String(s) => {
            let (a, b) = cut(s.len())?;
            Value::String(s.get(a..b).unwrap_or_default().to_string())
        }
        Value::Array(v) => {
            let (a, b) = cut(v.len())?;
            Value::Array(v[a..b].to_vec())
        }
        v => {
            return Err(TemplateError::exec(format!(
                "can't slice {}",
                print_value(&v)
            )))
        }
    })
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, TemplateError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .ok_or_else(|| TemplateError::exec("incomparable numbers")),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(TemplateError::exec(format!(
            "incompatible types for comparison: {} and {}",
            print_value(a),
            print_value(b)
        ))),
    }
}

/// Go's Sprint (spaces only between operands when neither is a string) and Sprintln
/// (always spaces).
fn go_print(args: &[Value], line: bool) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && (line || !(a.is_string() || args[i - 1].is_string())) {
            s.push(' ');
        }
        s.push_str(&print_value(a));
    }
    s
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// Go's `Sprintf` for the verbs templates use: %s %v %d %q %f %t %x %%, with `-`, width and
/// precision.
fn printf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut left = false;
        let mut zero = false;
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' | ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = next.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let mut s = match verb {
            'q' => serde_json::to_string(&Value::String(print_value(arg))).unwrap_or_default(),
            'd' => match arg {
                Value::Number(n) => n
                    .as_f64()
                    .map(|f| format!("{}", f as i64))
                    .unwrap_or_default(),
                v => format!("%!d({})", print_value(v)),
            },
            'f' => {
                let f = arg.as_f64().unwrap_or(0.0);
                format!("{:.*}", precision.unwrap_or(6), f)
            }
            'x' => match arg {
                Value::Number(n) => format!("{:x}", n.as_u64().unwrap_or(0)),
                v => print_value(v).bytes().map(|b| format!("{b:02x}")).collect(),
            },
            'v' | 't' => match arg {
                Value::Number(n) => number_text(n),
                v => print_value(v),
            },
            _ => {
                let t = print_value(arg);
                match precision {
                    Some(p) => t.chars().take(p).collect(),
                    None => t,
                }
            }
        };
        let w: usize = width.parse().unwrap_or(0);
        let len = s.chars().count();
        if len < w {
            let fill = w - len;
            if left {
                s.push_str(&" ".repeat(fill));
            } else if zero && verb != 's' {
                s = "0".repeat(fill) + &s;
            } else {
                s = " ".repeat(fill) + &s;
            }
        }
        out.push_str(&s);
    }
    out
}
