//! Container logs in docker's json-file format: one JSON object per line,
//! `{"log":"hi\n","stream":"stdout","time":"2026-...Z"}`.

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::error::{IoContext, Result};
use crate::time;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogRecord {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// docker's json-file `--log-opt max-size=… max-file=…`: without a size the
/// log grows without bound (docker's default); with one, the file is
/// rotated to `FILE.1` (`FILE.1` to `FILE.2`, ...) before a record would
/// take it past `max_size`, keeping `max_file` files in all (1: the file is
/// emptied instead).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file: Option<u32>,
}

impl LogOptions {
    /// `max-size=10m`, `max-file=3` (docker's units: b, k, m, g; 1024 steps).
    pub fn parse(opts: &[String]) -> Result<LogOptions> {
        let bad = |m: String| crate::RuntimeError::Invalid(m);
        let mut o = LogOptions::default();
        for opt in opts {
            let Some((key, value)) = opt.split_once('=') else {
                return Err(bad(format!("--log-opt {opt:?}: expected KEY=VALUE")));
            };
            match key {
                "max-size" => {
                    let n = parse_size(value).filter(|n| *n > 0).ok_or_else(|| {
                        bad(format!(
                            "--log-opt max-size={value:?}: not a size (e.g. 10m, 512k)"
                        ))
                    })?;
                    o.max_size = Some(n);
                }
                "max-file" => {
                    let n = value.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        bad(format!("--log-opt max-file={value:?}: not a positive number"))
                    })?;
                    o.max_file = Some(n);
                }
                _ => {
                    return Err(bad(format!(
                        "--log-opt {key:?} is not known to the json-file driver (use max-size, max-file)"
                    )))
                }
            }
        }
        if o.max_file.is_some_and(|n| n > 1) && o.max_size.is_none() {
            return Err(bad(
                "--log-opt max-file needs max-size too (docker's rule)".into()
            ));
        }
        Ok(o)
    }

    pub fn is_default(&self) -> bool {
        *self == LogOptions::default()
    }

    /// docker's inspect `HostConfig.LogConfig.Config` ("max-size": "1048576").
    pub fn config(&self) -> Vec<(&'static str, String)> {
        let mut c = Vec::new();
        if let Some(n) = self.max_size {
            c.push(("max-size", n.to_string()));
        }
        if let Some(n) = self.max_file {
            c.push(("max-file", n.to_string()));
        }
        c
    }
}

fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let (num, mult) = match v.chars().last()? {
        'k' => (&v[..v.len() - 1], 1u64 << 10),
        'm' => (&v[..v.len() - 1], 1 << 20),
        'g' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    let n: f64 = num.parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as u64)
}

/// `FILE.N`, the N-th rotated file (1 the newest).
fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

struct Sink {
    file: File,
    path: PathBuf,
    size: u64,
    opts: LogOptions,
}

impl Sink {
    fn write(&mut self, line: &[u8]) {
        if let Some(max) = self.opts.max_size {
            if self.size > 0 && self.size + line.len() as u64 > max {
                self.rotate();
            }
        }
        if self.file.write_all(line).is_ok() {
            self.size += line.len() as u64;
        }
    }

    /// Shifts FILE.N-1 .. FILE to FILE.N .. FILE.1 (the oldest falls off),
    /// or empties FILE with max-file=1; then writes to a fresh FILE.
    fn rotate(&mut self) {
        let keep = self.opts.max_file.unwrap_or(1);
        if keep <= 1 {
            if self.file.set_len(0).is_ok() {
                self.size = 0;
            }
            return;
        }
        for n in (1..keep - 1).rev() {
            let _ = std::fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1));
        }
        if std::fs::rename(&self.path, rotated(&self.path, 1)).is_err() {
            return;
        }
        if let Ok(f) = open_append(&self.path) {
            self.file = f;
            self.size = 0;
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Appends records (rotating by its LogOptions); shared by the stdout and
/// stderr pumps.
#[derive(Clone)]
pub struct LogWriter {
    sink: Arc<Mutex<Sink>>,
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<LogWriter> {
        LogWriter::open_with(path, LogOptions::default())
    }

    pub fn open_with(path: &Path, opts: LogOptions) -> Result<LogWriter> {
        let file = open_append(path).ctx(|| format!("opening {}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogWriter {
            sink: Arc::new(Mutex::new(Sink {
                file,
                path: path.to_path_buf(),
                size,
                opts,
            })),
        })
    }

    pub fn write(&self, stream: &str, bytes: &[u8]) {
        let rec = LogRecord {
            log: String::from_utf8_lossy(bytes).into_owned(),
            stream: stream.to_string(),
            time: time::now(),
        };
        let mut line = serde_json::to_vec(&rec).unwrap_or_default();
        line.push(b'\n');
        if let Ok(mut sink) = self.sink.lock() {
            sink.write(&line);
        }
    }
}

/// Every record of a log, the rotated files oldest first, then `path`;
/// also the offset after the last complete line of `path` (for following).
pub fn read_all(path: &Path) -> Result<(Vec<LogRecord>, u64)> {
    let mut out = Vec::new();
    let mut n = 1;
    while rotated(path, n).exists() {
        n += 1;
    }
    for i in (1..n).rev() {
        out.extend(read_from(&rotated(path, i), 0)?.0);
    }
    let (current, offset) = read_from(path, 0)?;
    out.extend(current);
    Ok((out, offset))
}

/// Copies `from` into the log as records, one per line (long lines split at
/// 16 KiB like docker), and also to `tee` when the CLI is attached.
pub fn pump(
    mut from: impl Read,
    stream: &str,
    log: &LogWriter,
    mut tee: Option<Box<dyn Write + Send>>,
) {
    const MAX_LINE: usize = 16 * 1024;
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if let Some(t) = tee.as_mut() {
            if t.write_all(&buf[..n]).and_then(|_| t.flush()).is_err() {
                tee = None;
            }
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            log.write(stream, &line);
        }
        while pending.len() >= MAX_LINE {
            let chunk: Vec<u8> = pending.drain(..MAX_LINE).collect();
            log.write(stream, &chunk);
        }
    }
    if !pending.is_empty() {
        log.write(stream, &pending);
    }
}

/// Reads records from `path` starting at byte `offset`; returns them and the
/// offset after the last complete line. A file shorter than `offset` was
/// rotated meanwhile: it is read from its start.
pub fn read_from(path: &Path, offset: u64) -> Result<(Vec<LogRecord>, u64)> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), offset)),
        Err(e) => {
            return Err(crate::RuntimeError::io(
                format!("reading {}", path.display()),
                e,
            ))
        }
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let offset = if len < offset { 0 } else { offset };
    f.seek(SeekFrom::Start(offset))
        .ctx(|| format!("reading {}", path.display()))?;
    let mut reader = BufReader::new(f);
    let mut out = Vec::new();
    let mut pos = offset;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .ctx(|| format!("reading {}", path.display()))?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        pos += n as u64;
        if let Ok(rec) = serde_json::from_str::<LogRecord>(&line) {
            out.push(rec);
        }
    }
    Ok((out, pos))
}

/// Keeps the records at or after `since` and then the last `tail` of them.
pub fn filter(
    records: Vec<LogRecord>,
    since: Option<SystemTime>,
    tail: Option<usize>,
) -> Vec<LogRecord> {
    let mut v: Vec<LogRecord> = records
        .into_iter()
        .filter(|r| match since {
            None => true,
            Some(s) => time::parse_rfc3339(&r.time).is_some_and(|t| t >= s),
        })
        .collect();
    if let Some(n) = tail {
        let skip = v.len().saturating_sub(n);
        v.drain(..skip);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_options_parse_like_docker() {
        let o = LogOptions::parse(&["max-size=1m".into(), "max-file=3".into()]).unwrap();
        assert_eq!(o.max_size, Some(1 << 20));
        assert_eq!(o.max_file, Some(3));
        assert!(LogOptions::parse(&["max-size=lots".into()]).is_err());
        assert!(LogOptions::parse(&["mode=non-blocking".into()]).is_err());
        assert!(LogOptions::parse(&["max-file=2".into()]).is_err());
    }

    #[test]
    fn rotation_bounds_the_files_and_read_all_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let opts = LogOptions {
            max_size: Some(1000),
            max_file: Some(3),
        };
        let w = LogWriter::open_with(&path, opts).unwrap();
        for i in 0..500 {
            w.write("stdout", format!("line {i}\n").as_bytes());
        }
        assert!(!rotated(&path, 3).exists());
        for p in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
            assert!(std::fs::metadata(&p).unwrap().len() <= 1000, "{p:?}");
        }
        let (all, _) = read_all(&path).unwrap();
        assert_eq!(all.last().unwrap().log, "line 499\n");
        let nums: Vec<usize> = all
            .iter()
            .map(|r| r.log.trim()[5..].parse().unwrap())
            .collect();
        assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "in order");
    }

    #[test]
    fn pump_splits_lines_and_keeps_the_partial_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let w = LogWriter::open(&path).unwrap();
        pump(&b"one\ntwo\nthree"[..], "stdout", &w, None);
        let (recs, _) = read_from(&path, 0).unwrap();
        let logs: Vec<&str> = recs.iter().map(|r| r.log.as_str()).collect();
        assert_eq!(logs, vec!["one\n", "two\n", "three"]);
        assert_eq!(filter(recs, None, Some(1)).len(), 1);
    }
}
