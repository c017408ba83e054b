//! The 5-field cron schedule of a CronJob (`minute hour day-of-month month day-of-week`), as
//! Kubernetes reads it (robfig/cron's standard parser): `*`, `?`, lists, ranges, steps
//! (`*/15`, `1-30/5`, `5/10`), month and weekday names, 7 for Sunday, and the macros
//! `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`. When both
//! day fields are restricted a day matching either runs (Vixie cron's rule). Times are UTC
//! seconds since the epoch; the calendar arithmetic is the proleptic Gregorian one below
//! (no time-zone database: hoist runs CronJobs in UTC).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule {schedule:?}: {message} (five fields: minute hour day-of-month month day-of-week, e.g. \"*/5 * * * *\", or @hourly, @daily, @weekly, @monthly, @yearly)")]
pub struct ScheduleError {
    pub schedule: String,
    pub message: String,
}

/// A parsed schedule: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    days: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday 0.
    weekdays: u8,
    /// Whether the day fields were `*`/`?` (then only the other one restricts days).
    days_any: bool,
    weekdays_any: bool,
    text: String,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The first name's value (months count from 1).
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_from: 1,
    },
    // 7 is Sunday too; folded into 0 after parsing.
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
        names_from: 0,
    },
];

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let err = |message: String| ScheduleError {
            schedule: text.to_string(),
            message,
        };
        let trimmed = text.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *".to_string(),
            "@monthly" => "0 0 1 * *".to_string(),
            "@weekly" => "0 0 * * 0".to_string(),
            "@daily" | "@midnight" => "0 0 * * *".to_string(),
            "@hourly" => "0 * * * *".to_string(),
            s if s.starts_with('@') => return Err(err(format!("unknown macro {trimmed:?}"))),
            _ => trimmed.to_string(),
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(err(format!("{} fields", parts.len())));
        }
        let mut bits = [0u64; 5];
        let mut any = [false; 5];
        for (i, (part, field)) in parts.iter().zip(FIELDS.iter()).enumerate() {
            any[i] = *part == "*" || *part == "?";
            bits[i] = parse_field(part, field).map_err(err)?;
        }
        let mut weekdays = bits[4];
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f;
        }
        Ok(Schedule {
            minutes: bits[0],
            hours: bits[1] as u32,
            days: bits[2] as u32,
            months: bits[3] as u16,
            weekdays: weekdays as u8,
            days_any: any[2],
            weekdays_any: any[4],
            text: trimmed.to_string(),
        })
    }

    /// The first time strictly after `t` (UTC seconds) at which the schedule fires, on a
    /// whole minute; None when it never does within five years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, t: i64) -> Option<i64> {
        let limit = t + 5 * 366 * 86_400;
        let mut t = t.div_euclid(60) * 60 + 60;
        while t <= limit {
            let days = t.div_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            if self.months & (1 << m) == 0 {
                // The first day of the next month.
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                t = days_from_civil(ny, nm, 1) * 86_400;
                continue;
            }
            if !self.day_matches(d, weekday(days)) {
                t = (days + 1) * 86_400;
                continue;
            }
            let secs = t.rem_euclid(86_400);
            let (hour, minute) = ((secs / 3600) as u32, ((secs % 3600) / 60) as u32);
            if self.hours & (1 << hour) == 0 {
                t = days * 86_400 + (i64::from(hour) + 1) * 3600;
                continue;
            }
            if self.minutes & (1 << minute) == 0 {
                t += 60;
                continue;
            }
            return Some(t);
        }
        None
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = self.days & (1 << day) != 0;
        let dow = self.weekdays & (1 << weekday) != 0;
        if self.days_any || self.weekdays_any {
            dom && dow
        } else {
            dom || dow
        }
    }
}

fn parse_field(part: &str, f: &Field) -> Result<u64, String> {
    let mut bits = 0u64;
    for item in part.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 =
                    s.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("{}: step {s:?} is not a positive number", f.name)
                    })?;
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (f.min, f.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, f)?, value(b, f)?)
        } else {
            let v = value(range, f)?;
            // `5/10`: from 5 to the end in steps of 10.
            (v, if step.is_some() { f.max } else { v })
        };
        if lo > hi {
            return Err(format!("{}: range {range:?} runs backwards", f.name));
        }
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn value(s: &str, f: &Field) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = f.names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + f.names_from);
    }
    match s.parse::<u32>() {
        Ok(v) if (f.min..=f.max).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{}: {v} is outside {}-{}", f.name, f.min, f.max)),
        Err(_) => Err(format!(
            "{}: {s:?} is not a number{}",
            f.name,
            names_hint(f)
        )),
    }
}

fn names_hint(f: &Field) -> String {
    if f.names.is_empty() {
        String::new()
    } else {
        format!(" or a name ({})", f.names.join(", "))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1-12, day 1-31) of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// 0 = Sunday (1970-01-01 was a Thursday).
fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

/// `2026-12-07 10:05` (UTC) of epoch seconds, for `kube ps`.
pub fn format_utc(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        s / 3600,
        (s % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60
    }

    fn next(s: &str, from: i64) -> String {
        format_utc(Schedule::parse(s).unwrap().next_after(from).unwrap())
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-800_000i64, -1, 0, 59, 10_956, 11_016, 20_429, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(weekday(days_from_civil(2026, 12, 7)), 1, "a Monday");
    }

    #[test]
    fn next_runs() {
        let t = at(2026, 12, 7, 10, 5) + 30; // Monday 10:05:30
        assert_eq!(next("*/1 * * * *", t), "2026-12-07 10:06");
        assert_eq!(
            next("* * * * *", at(2026, 12, 7, 10, 5)),
            "2026-12-07 10:06"
        );
        assert_eq!(next("*/15 * * * *", t), "2026-12-07 10:15");
        assert_eq!(next("0 * * * *", t), "2026-12-07 11:00");
        assert_eq!(next("@hourly", t), "2026-12-07 11:00");
        assert_eq!(next("30 2 * * *", t), "2026-12-08 02:30");
        assert_eq!(next("@daily", t), "2026-12-08 00:00");
        assert_eq!(next("0 9 * * MON-FRI", t), "2026-12-08 09:00");
        assert_eq!(next("0 9 * * sat,sun", t), "2026-12-12 09:00");
        assert_eq!(next("0 0 * * 7", t), "2026-12-13 00:00");
        assert_eq!(next("@weekly", t), "2026-12-13 00:00");
        assert_eq!(next("0 0 1 * *", t), "2027-01-01 00:00");
        assert_eq!(next("0 0 29 feb *", t), "2028-02-29 00:00");
        assert_eq!(next("5/20 10 * * *", t), "2026-12-07 10:25");
        assert_eq!(next("1-30/10 * * * ?", t), "2026-12-07 10:11");
        assert_eq!(next("0 12 1,15 jan-mar *", t), "2027-01-01 12:00");
        // Both day fields restricted: either matches (the 13th, or a Friday).
        assert_eq!(next("0 0 13 * 5", t), "2026-12-11 00:00");
        // Year end.
        assert_eq!(
            next("59 23 31 12 *", at(2026, 12, 31, 23, 59)),
            "2027-12-31 23:59"
        );
        assert!(Schedule::parse("0 0 30 2 *")
            .unwrap()
            .next_after(t)
            .is_none());
    }

    #[test]
    fn bad_schedules_are_refused_clearly() {
        for (s, want) in [
            ("* * * *", "4 fields"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("* 24 * * *", "hour: 24"),
            ("* * 0 * *", "day of month: 0"),
            ("* * * 13 *", "month: 13"),
            (
                "* * * foo *",
                "month: \"foo\" is not a number or a name (jan",
            ),
            ("*/0 * * * *", "step \"0\""),
            ("30-10 * * * *", "runs backwards"),
            ("@reboot", "unknown macro"),
        ] {
            let e = Schedule::parse(s).unwrap_err().to_string();
            assert!(e.contains(want), "{s}: {e}");
            assert!(e.contains("five fields"), "{e}");
        }
    }
}
