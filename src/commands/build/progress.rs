//! Build progress on stderr (stdout keeps only the digest). Plain lines for
//! CI and pipes: `[stage-0 2/5] RUN ...`, `[stage-0 2] CACHED`, and each RUN
//! output line as `[stage-0] | line`. On a terminal (`--progress auto`), a
//! live view: one spinner per running stage showing its step and latest output
//! line, each finished step left as one line with CACHED or its time.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hoist_builder::Event;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quiet,
    Plain,
    Live,
}

/// The step a stage is running, on a terminal.
struct Running {
    bar: ProgressBar,
    title: String,
    started: Instant,
    cached: bool,
}

pub struct Printer {
    mode: Mode,
    multi: MultiProgress,
    running: Mutex<HashMap<String, Running>>,
}

impl Printer {
    pub fn new(mode: &str) -> Printer {
        let mode = match mode {
            "quiet" => Mode::Quiet,
            "plain" => Mode::Plain,
            _ if std::io::stderr().is_terminal() => Mode::Live,
            _ => Mode::Plain,
        };
        Printer {
            mode,
            multi: MultiProgress::new(),
            running: Mutex::new(HashMap::new()),
        }
    }

    fn line(&self, text: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Plain => {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
            Mode::Live => {
                let _ = self.multi.println(text);
            }
        }
    }

    pub fn note(&self, text: &str) {
        self.finish_all();
        self.line(text);
    }

    pub fn event(&self, event: Event) {
        match event {
            // Warnings show in every mode.
            Event::Warning(w) => match self.mode {
                Mode::Live => {
                    let _ = self.multi.println(format!("Warning: {w}"));
                }
                _ => eprintln!("Warning: {w}"),
            },
            Event::Step {
                stage,
                number,
                total,
                text,
            } => {
                let title = format!("[{stage} {number}/{total}] {text}");
                if self.mode != Mode::Live {
                    return self.line(&title);
                }
                self.finish(&stage);
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                        .expect("a valid template"),
                );
                bar.set_message(title.clone());
                bar.enable_steady_tick(Duration::from_millis(100));
                self.running.lock().expect("progress lock").insert(
                    stage,
                    Running {
                        bar,
                        title,
                        started: Instant::now(),
                        cached: false,
                    },
                );
            }
            Event::Cached { stage, number } => {
                if self.mode != Mode::Live {
                    return self.line(&format!("[{stage} {number}] CACHED"));
                }
                if let Some(r) = self.running.lock().expect("progress lock").get_mut(&stage) {
                    r.cached = true;
                }
            }
            Event::Output { stage, line } => {
                if self.mode != Mode::Live {
                    return self.line(&format!("[{stage}] | {line}"));
                }
                if let Some(r) = self.running.lock().expect("progress lock").get(&stage) {
                    let short: String = line.chars().take(60).collect();
                    r.bar.set_message(format!("{}  | {short}", r.title));
                }
            }
            Event::Written { digest } => {
                self.finish_all();
                self.line(&format!("Wrote image {digest}"));
            }
        }
    }

    /// Leaves the stage's running step as one finished line.
    fn finish(&self, stage: &str) {
        let Some(r) = self.running.lock().expect("progress lock").remove(stage) else {
            return;
        };
        let how = if r.cached {
            "CACHED".to_string()
        } else {
            format!("{:.1}s", r.started.elapsed().as_secs_f64())
        };
        r.bar.finish_and_clear();
        let _ = self.multi.println(format!("{}  {how}", r.title));
    }

    fn finish_all(&self) {
        let stages: Vec<String> = self
            .running
            .lock()
            .expect("progress lock")
            .keys()
            .cloned()
            .collect();
        for s in stages {
            self.finish(&s);
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        // A failed build leaves its last step on screen, not a spinning bar.
        self.finish_all();
    }
}
