//! `hoist history NAME`: the image's history, newest first, in docker's
//! columns (IMAGE, CREATED, CREATED BY, SIZE, COMMENT).

use anyhow::Context as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::build::HistoryArgs;
use crate::cli::GlobalArgs;

pub fn run(args: HistoryArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let store = super::open_store(global)?;
    let named = store.resolve(&args.name)?;
    let image = store
        .load_image(&named.descriptor)
        .with_context(|| format!("cannot load image {}", args.name))?;
    let history = image.config_json["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut sizes = image.layers().iter().map(|l| l.size());
    let mut rows = Vec::new();
    for entry in &history {
        let empty = entry["empty_layer"].as_bool().unwrap_or(false);
        let size = if empty { 0 } else { sizes.next().unwrap_or(0) };
        rows.push((
            entry["created"].as_str().unwrap_or("").to_string(),
            entry["created_by"].as_str().unwrap_or("").to_string(),
            size,
            entry["comment"].as_str().unwrap_or("").to_string(),
        ));
    }
    rows.reverse();
    let id = image.config_digest.hex()[..12].to_string();
    if args.quiet {
        for (i, _) in rows.iter().enumerate() {
            println!("{}", if i == 0 { id.as_str() } else { "<missing>" });
        }
        return Ok(0);
    }
    println!(
        "{:<14}{:<16}{:<47}{:<10}COMMENT",
        "IMAGE", "CREATED", "CREATED BY", "SIZE"
    );
    for (i, (created, by, size, comment)) in rows.iter().enumerate() {
        let by = by.replace(['\n', '\t'], " ");
        let by = if args.no_trunc || by.chars().count() <= 45 {
            by
        } else {
            format!("{}…", by.chars().take(44).collect::<String>())
        };
        println!(
            "{:<14}{:<16}{:<47}{:<10}{}",
            if i == 0 { id.as_str() } else { "<missing>" },
            ago(created),
            by,
            human_size(*size),
            comment
        );
    }
    Ok(0)
}

/// "3 minutes ago" from an RFC 3339 time; "N/A" when unreadable.
fn ago(created: &str) -> String {
    let Some(then) = parse_rfc3339(created) else {
        return "N/A".into();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let secs = (now - then).max(0);
    let (n, unit) = match secs {
        s if s < 60 => (s, "second"),
        s if s < 3_600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3_600, "hour"),
        s if s < 86_400 * 30 => (s / 86_400, "day"),
        s if s < 86_400 * 365 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // days_from_civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes}B")
    } else {
        format!("{v:.3}{}", UNITS[u]).replace(".000", "")
    }
}
