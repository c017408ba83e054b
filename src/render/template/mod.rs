//! Go templates as docker's `--format` has them (`{{.ID}}`, `{{json .Config}}`, `{{range}}`,
//! `{{index}}`, `{{if}}`, `table` headers), evaluated over the JSON value hoist prints.
//!
//! Why not the `gtmpl` crate (evaluated for issue 17): it is only passively maintained (no
//! release since 0.7.1), and its values are its own type, so every object would first be
//! copied from serde_json into a `gtmpl_value::Value`; its maps are `HashMap`s, so
//! `{{range $k, $v := .Config.Labels}}` comes out in random order where Go (and docker)
//! sort by key; and docker's own functions (json, join, split, title, pad, truncate, lower,
//! upper) and `table` headers would have to be added on top anyway. Its compile cost
//! (`cargo build --timings`, debug, this loaded 2-core machine): gtmpl 5.6 s, and a second
//! thiserror (1.x) 4 s, gtmpl_value 0.7 s, percent-encoding 0.6 s, ~11 s in all. Evaluating
//! serde_json values directly (BTreeMap-ordered, as Go ranges) is ~1,300 lines here.

mod exec;
mod fields;
mod funcs;
mod lex;
mod parse;

use serde_json::Value;
use std::fmt;

#[derive(Debug)]
pub struct TemplateError {
    parsing: bool,
    message: String,
}

impl TemplateError {
    fn parse(message: impl Into<String>) -> Self {
        TemplateError {
            parsing: true,
            message: message.into(),
        }
    }
    fn exec(message: impl Into<String>) -> Self {
        TemplateError {
            parsing: false,
            message: message.into(),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parsing {
            write!(f, "template parsing error: {}", self.message)
        } else {
            write!(f, "template: executing: {}", self.message)
        }
    }
}

impl std::error::Error for TemplateError {}

pub struct Template {
    nodes: Vec<parse::Node>,
    /// `table ...`: a header line first, columns aligned at tabs.
    pub table: bool,
}

impl Template {
    /// A Go template as written.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            nodes: parse::parse(lex::pieces(src)?)?,
            table: false,
        })
    }

    /// A `--format` value of docker's: `json` (one object per line), `table TEMPLATE`, or a
    /// template; `\t` and `\n` written literally stand for a tab and a newline, as in docker.
    pub fn parse_docker(src: &str) -> Result<Template, TemplateError> {
        if src.trim() == "json" {
            return Template::parse("{{json .}}");
        }
        let (table, body) = match src.strip_prefix("table") {
            Some(rest) => (true, rest),
            None => (false, src),
        };
        let body = body
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        let mut t = Template::parse(&body)?;
        t.table = table;
        Ok(t)
    }

    /// The top-level fields the template may read (None: it reads the whole value), so a
    /// caller can leave the others out of the value it renders.
    pub fn root_fields(&self) -> Option<std::collections::BTreeSet<String>> {
        fields::root_fields(&self.nodes)
    }

    pub fn render(&self, v: &Value) -> Result<String, TemplateError> {
        let mut e = exec::Exec::new(v);
        e.nodes(&self.nodes, v)?;
        Ok(e.out)
    }
}

/// How a list verb prints: its default table, JSON lines, or a template.
pub enum Format {
    Table,
    Json,
    Template(Template),
}

impl Format {
    pub fn parse(src: &str) -> Result<Format, TemplateError> {
        Ok(match src.trim() {
            "" | "table" => Format::Table,
            "json" => Format::Json,
            _ => Format::Template(Template::parse_docker(src)?),
        })
    }
}

/// Prints each value through the template, one per line (inspect's `-f`).
pub fn print_each(t: &Template, values: &[Value]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for v in values {
        writeln!(out, "{}", t.render(v)?)?;
    }
    Ok(())
}

/// Renders rows of a list verb: with `table`, `headers` (field name -> column title) is run
/// through the same template for the first line, and the columns are aligned at the tabs as
/// docker's tabwriter does.
pub fn rows(t: &Template, headers: &Value, rows: &[Value]) -> Result<Vec<String>, TemplateError> {
    let mut lines = Vec::with_capacity(rows.len() + 1);
    if t.table {
        lines.push(t.render(headers)?);
    }
    for r in rows {
        lines.push(t.render(r)?);
    }
    Ok(if t.table {
        crate::render::table::align_tabs(&lines)
    } else {
        lines
    })
}

#[cfg(test)]
mod tests;
