//! Build progress as plain lines on stderr (stdout keeps only the digest):
//! `[stage-0 2/5] RUN ...`, `[stage-0 2] CACHED`, and each RUN output line.

use std::io::Write;

use hoist_builder::Event;

pub struct Printer {
    quiet: bool,
}

impl Printer {
    pub fn new(mode: &str) -> Printer {
        Printer {
            quiet: mode == "quiet",
        }
    }

    fn line(&self, text: &str) {
        if !self.quiet {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{text}");
        }
    }

    pub fn note(&self, text: &str) {
        self.line(text);
    }

    pub fn event(&self, event: Event) {
        match event {
            Event::Warning(w) => {
                // Warnings show even in quiet mode.
                eprintln!("Warning: {w}");
            }
            Event::Step {
                stage,
                number,
                total,
                text,
            } => self.line(&format!("[{stage} {number}/{total}] {text}")),
            Event::Cached { stage, number } => self.line(&format!("[{stage} {number}] CACHED")),
            Event::Output { stage, line } => self.line(&format!("[{stage}] | {line}")),
            Event::Written { digest } => self.line(&format!("Wrote image {digest}")),
        }
    }
}
