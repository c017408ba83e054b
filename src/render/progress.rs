//! Drawing transfer progress from the client's events: per-blob bars with
//! bytes and rate plus an overall bar on a terminal (indicatif), one plain
//! line per step otherwise, nothing when quiet. Everything goes to stderr so
//! stdout carries only the result (the digest).

use crate::cli::transfer::ProgressMode;
use hoist_client::progress::{BlobKind, Event, Sink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Instant;

enum Style {
    Bars(MultiProgress),
    Lines,
    Quiet,
}

struct State {
    bars: HashMap<String, ProgressBar>,
    positions: HashMap<String, u64>,
    started: HashMap<String, Instant>,
    overall: Option<ProgressBar>,
}

pub struct Progress {
    style: Style,
    state: Mutex<State>,
}

impl Progress {
    /// A renderer for `mode` (`quiet` wins over everything).
    pub fn new(mode: ProgressMode, quiet: bool) -> Arc<Progress> {
        let style = match mode {
            _ if quiet => Style::Quiet,
            ProgressMode::Quiet => Style::Quiet,
            ProgressMode::Plain => Style::Lines,
            ProgressMode::Auto if std::io::stderr().is_terminal() => {
                Style::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
            }
            ProgressMode::Auto => Style::Lines,
        };
        Arc::new(Progress {
            style,
            state: Mutex::new(State {
                bars: HashMap::new(),
                positions: HashMap::new(),
                started: HashMap::new(),
                overall: None,
            }),
        })
    }

    /// The callback to hand to the client.
    pub fn sink(self: &Arc<Self>) -> Sink {
        let me = self.clone();
        Arc::new(move |ev| me.handle(ev))
    }

    /// Clears the bars (call before printing the result).
    pub fn finish(&self) {
        let st = self.state.lock().unwrap();
        if let Style::Bars(multi) = &self.style {
            if let Some(o) = &st.overall {
                o.finish();
            }
            let _ = multi.clear();
        }
    }

    fn handle(&self, ev: Event) {
        match &self.style {
            Style::Quiet => {}
            Style::Lines => self.line(ev),
            Style::Bars(multi) => self.bar(multi, ev),
        }
    }

    fn line(&self, ev: Event) {
        let mut st = self.state.lock().unwrap();
        match ev {
            Event::Plan { blobs, bytes } => {
                eprintln!("{blobs} blobs, {} in total", human(bytes));
            }
            Event::BlobStart { digest, size, kind } => {
                st.started.insert(digest.clone(), Instant::now());
                eprintln!(
                    "Copying {} {} ({})",
                    kind_name(kind),
                    short(&digest),
                    human(size)
                );
            }
            Event::BlobSkipped { digest, how, .. } => {
                eprintln!("Blob {} {how}", short(&digest));
            }
            Event::BlobResume { digest, offset } => {
                eprintln!(
                    "Blob {}: connection dropped, resuming at {}",
                    short(&digest),
                    human(offset)
                );
            }
            Event::BlobDone { digest, size } => {
                let secs = st
                    .started
                    .remove(&digest)
                    .map(|t| t.elapsed().as_secs_f64())
                    .unwrap_or(0.0)
                    .max(0.001);
                eprintln!(
                    "Blob {} done: {} in {secs:.2}s ({}/s)",
                    short(&digest),
                    human(size),
                    human((size as f64 / secs) as u64)
                );
            }
            Event::BlobBytes { .. } | Event::Finished { .. } => {}
        }
    }

    fn bar(&self, multi: &MultiProgress, ev: Event) {
        let mut st = self.state.lock().unwrap();
        match ev {
            Event::Plan { bytes, .. } => {
                let overall = st.overall.get_or_insert_with(|| {
                    let b = multi.add(ProgressBar::new(0));
                    b.set_style(style(
                        "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {elapsed}",
                    ));
                    b.set_message("total");
                    b
                });
                overall.inc_length(bytes);
            }
            Event::BlobStart { digest, size, kind } => {
                let b = multi.insert_from_back(1, ProgressBar::new(size));
                b.set_style(style(
                    "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                ));
                b.set_message(format!("{} {}", kind_name(kind), short(&digest)));
                st.bars.insert(digest, b);
            }
            Event::BlobBytes { digest, bytes } => {
                if let Some(b) = st.bars.get(&digest) {
                    b.inc(bytes);
                }
                *st.positions.entry(digest).or_default() += bytes;
                if let Some(o) = &st.overall {
                    o.inc(bytes);
                }
            }
            Event::BlobResume { digest, offset } => {
                let was = st.positions.insert(digest.clone(), offset).unwrap_or(0);
                if let Some(b) = st.bars.get(&digest) {
                    b.set_position(offset);
                }
                if let Some(o) = &st.overall {
                    o.set_position((o.position() + offset).saturating_sub(was));
                }
            }
            Event::BlobSkipped { size, .. } => {
                if let Some(o) = &st.overall {
                    o.inc(size);
                }
            }
            Event::BlobDone { digest, .. } => {
                if let Some(b) = st.bars.remove(&digest) {
                    b.finish_and_clear();
                    multi.remove(&b);
                }
            }
            Event::Finished { .. } => {}
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("progress template is valid")
        .progress_chars("=> ")
}

fn kind_name(kind: BlobKind) -> &'static str {
    match kind {
        BlobKind::Layer => "layer",
        BlobKind::Config => "config",
        BlobKind::Manifest => "manifest",
    }
}

/// `sha256:0123456789ab`: enough of a digest to tell blobs apart.
fn short(digest: &str) -> &str {
    let end = digest.find(':').map_or(12, |i| i + 13).min(digest.len());
    &digest[..end]
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
