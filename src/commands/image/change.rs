//! `--change` instructions for `hoist import` (the Dockerfile subset docker
//! import accepts), applied to the config's `config` object.

use anyhow::{bail, Context};
use serde_json::{json, Map, Value};

/// Applies one `--change` line such as `CMD ["sh"]` or `ENV A=1 B=2`.
pub fn apply(config: &mut Map<String, Value>, line: &str) -> anyhow::Result<()> {
    let line = line.trim();
    let (instr, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let instr = instr.to_ascii_uppercase();
    if rest.is_empty() {
        bail!("--change {line:?}: {instr} needs an argument");
    }
    match instr.as_str() {
        "CMD" => {
            config.insert("Cmd".into(), json!(command_form(rest)?));
        }
        "ENTRYPOINT" => {
            config.insert("Entrypoint".into(), json!(command_form(rest)?));
        }
        "WORKDIR" => {
            config.insert("WorkingDir".into(), json!(rest));
        }
        "USER" => {
            config.insert("User".into(), json!(rest));
        }
        "ENV" => {
            let env = config.entry("Env").or_insert_with(|| json!([]));
            for (k, v) in key_values(rest, "ENV")? {
                let list = env.as_array_mut().expect("Env is a list");
                list.retain(|e| {
                    e.as_str().and_then(|s| s.split_once('=')).map(|p| p.0) != Some(&k)
                });
                list.push(json!(format!("{k}={v}")));
            }
        }
        "LABEL" => {
            let labels = config.entry("Labels").or_insert_with(|| json!({}));
            for (k, v) in key_values(rest, "LABEL")? {
                labels[k] = json!(v);
            }
        }
        "EXPOSE" => {
            let ports = config.entry("ExposedPorts").or_insert_with(|| json!({}));
            for p in rest.split_whitespace() {
                let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                num.parse::<u16>()
                    .with_context(|| format!("--change {line:?}: {num:?} is not a port number"))?;
                if proto != "tcp" && proto != "udp" && proto != "sctp" {
                    bail!("--change {line:?}: protocol must be tcp, udp or sctp");
                }
                ports[format!("{num}/{proto}")] = json!({});
            }
        }
        other => bail!(
            "--change {line:?}: {other} is not supported here \
             (use CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE or LABEL)"
        ),
    }
    Ok(())
}

/// JSON form (`["a","b"]`) as is; shell form wrapped in `/bin/sh -c`.
fn command_form(rest: &str) -> anyhow::Result<Vec<String>> {
    if rest.starts_with('[') {
        serde_json::from_str(rest)
            .with_context(|| format!("{rest:?} is not a JSON array of strings"))
    } else {
        Ok(vec!["/bin/sh".into(), "-c".into(), rest.into()])
    }
}

/// `K=V K2="v 2"` pairs, or the legacy single `K V` form.
fn key_values(rest: &str, instr: &str) -> anyhow::Result<Vec<(String, String)>> {
    if !rest.split_whitespace().next().unwrap_or("").contains('=') {
        let (k, v) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    let mut out = Vec::new();
    for word in split_words(rest) {
        let (k, v) = word
            .split_once('=')
            .with_context(|| format!("{instr} {rest:?}: {word:?} is not KEY=VALUE"))?;
        if k.is_empty() {
            bail!("{instr} {rest:?}: empty key");
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Splits on whitespace, keeping double-quoted runs together (quotes removed).
fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_changes_like_docker_import() {
        let mut c = Map::new();
        apply(&mut c, r#"CMD ["sh", "-c", "echo hi"]"#).unwrap();
        apply(&mut c, "ENTRYPOINT /bin/app --x").unwrap();
        apply(&mut c, "ENV A=1 B=\"two words\"").unwrap();
        apply(&mut c, "ENV A 3").unwrap();
        apply(&mut c, "WORKDIR /srv").unwrap();
        apply(&mut c, "USER 1000:1000").unwrap();
        apply(&mut c, "EXPOSE 80 53/udp").unwrap();
        apply(&mut c, "LABEL a=b").unwrap();
        assert_eq!(c["Cmd"], json!(["sh", "-c", "echo hi"]));
        assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c", "/bin/app --x"]));
        assert_eq!(c["Env"], json!(["B=two words", "A=3"]));
        assert_eq!(c["WorkingDir"], "/srv");
        assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(c["Labels"], json!({"a": "b"}));
    }

    #[test]
    fn rejects_what_import_cannot_do() {
        let mut c = Map::new();
        assert!(apply(&mut c, "RUN true").is_err());
        assert!(apply(&mut c, "CMD").is_err());
        assert!(apply(&mut c, "CMD [\"sh\"").is_err());
        assert!(apply(&mut c, "EXPOSE http").is_err());
    }
}
