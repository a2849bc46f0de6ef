//! The progress bar of a long pass (a first ingest of a big history): bytes, files, rate
//! and time left, on stderr. Only on a terminal, never with `--quiet`, and only for a pass
//! that has much to read or takes a while: the usual pass of a few new lines shows
//! nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ingest::{Ingestor, Progress};

/// A pass with this much to read shows its bar from the start...
const BIG_PASS_BYTES: u64 = 200_000_000;
/// ...any other once it has run this long.
const SLOW_PASS: Duration = Duration::from_secs(2);

/// `ingestor`, with a progress bar where one belongs (see the module doc).
pub fn attach(ingestor: Ingestor<'_>, quiet: bool) -> Ingestor<'_> {
    let terminal =
        std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
    if quiet || !terminal {
        return ingestor;
    }
    ingestor.with_progress(Box::new(Bar::default()))
}

#[derive(Default)]
struct Bar {
    bar: Option<ProgressBar>,
    started: Option<Instant>,
    files: u64,
    bytes: u64,
}

impl Bar {
    fn show(&mut self) -> &ProgressBar {
        let (files, bytes) = (self.files, self.bytes);
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30} {binary_bytes}/{binary_total_bytes} · {msg} · {binary_bytes_per_sec} · {eta} left",
            )
            .expect("a valid template")
            .progress_chars("█▉▊▋▌▍▎▏ ");
            bar.set_style(style);
            bar.set_message(format!("0/{files} files"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        })
    }
}

impl Progress for Bar {
    fn start(&mut self, files: u64, bytes: u64) {
        self.started = Some(Instant::now());
        (self.files, self.bytes) = (files, bytes);
        if bytes >= BIG_PASS_BYTES {
            self.show();
        }
    }

    fn read(&mut self, files_done: u64, bytes_done: u64) {
        let slow = self.started.is_some_and(|t| t.elapsed() >= SLOW_PASS);
        if self.bar.is_none() && !slow {
            return;
        }
        let files = self.files;
        let bar = self.show();
        // A file read again from 0 reads more than its growth, which `start` counted.
        if bar.length().is_some_and(|total| bytes_done > total) {
            bar.set_length(bytes_done);
        }
        bar.set_position(bytes_done);
        bar.set_message(format!("{files_done}/{files} files"));
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.started = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_pass_shows_at_once_a_small_one_only_once_slow() {
        let mut big = Bar::default();
        big.start(3, BIG_PASS_BYTES);
        assert!(big.bar.is_some());
        big.finish();
        assert!(big.bar.is_none(), "cleared at the end of the pass");

        let mut small = Bar::default();
        small.start(3, 10 << 20);
        small.read(1, 5 << 20);
        assert!(small.bar.is_none(), "a quick small pass shows nothing");
        small.started = Instant::now().checked_sub(SLOW_PASS);
        small.read(2, 9 << 20);
        let bar = small.bar.as_ref().expect("shown once the pass is slow");
        assert_eq!(bar.position(), 9 << 20);
        small.read(3, 12 << 20);
        let bar = small.bar.as_ref().unwrap();
        assert_eq!(
            bar.length(),
            Some(12 << 20),
            "a reset file read more than counted"
        );
    }
}
