//! A progress bar on standard error while many keys are generated (RSA keys take a while each).
//! Shown only when standard error is a terminal and there are more than three items.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Fewer items than this finish too quickly for a bar to help.
const MIN_ITEMS: usize = 4;

/// Counts generated items; draws nothing when it would not help.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar for `total` items described as `what` (e.g. "certificates").
    pub fn new(total: usize, what: &str) -> Self {
        if total < MIN_ITEMS || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(format!("Generating {what}"));
        Progress(Some(bar))
    }

    /// One more item done.
    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    /// Leaves the completed bar on the screen.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish();
        }
    }
}
