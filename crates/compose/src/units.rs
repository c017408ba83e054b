//! Compose's small value languages: durations (`1m30s`, Go's syntax), sizes (`512m`, binary
//! units as docker's go-units reads them) and a command string split the way a shell would.

use std::time::Duration;

/// `1h2m3.5s`, `500ms`, `10us`, `0`: Go's `time.ParseDuration` (no sign).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("an empty duration".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a duration (like 1m30s, 10s, 500ms)"))?;
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            "" => {
                return Err(format!(
                    "{s:?} has no unit; write it like 10s, 1m30s or 500ms"
                ))
            }
            _ => {
                return Err(format!(
                    "{s:?}: unknown unit {unit:?} (use h, m, s, ms, us, ns)"
                ))
            }
        };
        total += value * scale;
        rest = next;
    }
    Ok(Duration::from_nanos((total * 1e9).round() as u64))
}

/// A duration as Go prints it (`1m30s`, `500ms`, `1h0m0s`), which is what compose prints.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}us", trim(nanos as f64 / 1e3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim(nanos as f64 / 1e6));
    }
    let secs = d.as_secs();
    let frac = d.subsec_nanos();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let s = if frac == 0 {
        s.to_string()
    } else {
        trim(s as f64 + frac as f64 / 1e9)
    };
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `512m`, `1g`, `1.5GB`, `1024`, `100kib`: bytes, with binary multiples (docker's `RAMInBytes`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(num_end);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (like 512m, 1g, 1048576)"))?;
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(unit);
    let scale: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return Err(format!("{s:?}: unknown size unit (use b, k, m, g, t, p)")),
    };
    Ok((value * scale as f64) as u64)
}

/// Splits a command string into words as a POSIX shell would (quotes and backslashes; no
/// expansion), which is how compose turns `command: echo "a b"` into `[echo, "a b"]`.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed single quote in {s:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unclosed double quote in {s:?}")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed double quote in {s:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => word.push('\\'),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_like_go() {
        let cases = [
            ("1m30s", 90_000, "1m30s"),
            ("10s", 10_000, "10s"),
            ("500ms", 500, "500ms"),
            ("1h", 3_600_000, "1h0m0s"),
            ("1.5s", 1_500, "1.5s"),
            ("2h45m", 9_900_000, "2h45m0s"),
            ("0", 0, "0s"),
        ];
        for (text, ms, printed) in cases {
            let d = parse_duration(text).unwrap();
            assert_eq!(d.as_millis(), ms, "{text}");
            assert_eq!(format_duration(d), printed, "{text}");
        }
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(parse_duration("5d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("abc").is_err());
    }

    #[test]
    fn sizes_are_binary() {
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("1gb").unwrap(), 1 << 30);
        assert_eq!(parse_size("100KiB").unwrap(), 100 << 10);
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("12q").is_err());
        assert!(parse_size("m").is_err());
    }

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(
            split_command(r#"sh -c "echo \"hi\" $X" 'a b'  c\ d"#).unwrap(),
            ["sh", "-c", "echo \"hi\" $X", "a b", "c d"]
        );
        assert_eq!(split_command("''").unwrap(), [""]);
        assert!(split_command("echo 'open").is_err());
    }
}
