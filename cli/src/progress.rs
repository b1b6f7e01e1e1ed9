//! Progress bars for the runtime's [`Progress`] callbacks: one bar per stage on stderr, drawn only on a
//! terminal; each finished stage logs its duration at `info` level (`-v`).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reid_eval::progress::Progress;
use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// A progress bar per stage, hidden when stderr is not a terminal (CI, pipes).
pub struct Bars {
    current: Mutex<(ProgressBar, String, Instant)>,
    visible: bool,
}

impl Bars {
    /// Bars on stderr when it is a terminal.
    pub fn new() -> Self {
        Self {
            current: Mutex::new((ProgressBar::hidden(), String::new(), Instant::now())),
            visible: std::io::stderr().is_terminal(),
        }
    }

    fn bar(&self) -> ProgressBar {
        // A poisoned lock only means another thread panicked while drawing: the bar is still usable.
        self.current.lock().unwrap_or_else(PoisonError::into_inner).0.clone()
    }

    /// A spinner for work with no unit count (loading a file); finished by [`Progress::finish_stage`].
    pub fn spinner(&self, name: &str) {
        self.stage(name, 0);
    }
}

impl Progress for Bars {
    fn stage(&self, name: &str, total: u64) {
        let target = if self.visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = if total == 0 {
            let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bar = ProgressBar::with_draw_target(None, target).with_style(style);
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        } else {
            let style = ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
                .map_or_else(|_| ProgressStyle::default_bar(), |s| s.progress_chars("=> "));
            ProgressBar::with_draw_target(Some(total), target).with_style(style)
        };
        let bar = bar.with_message(name.to_owned());
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = (bar, name.to_owned(), Instant::now());
    }

    fn advance(&self, n: u64) {
        self.bar().inc(n);
    }

    fn finish_stage(&self) {
        let (bar, name, started) = self.current.lock().unwrap_or_else(PoisonError::into_inner).clone();
        bar.finish_and_clear();
        tracing::info!("{name}: {:.2} s", started.elapsed().as_secs_f64());
    }
}
