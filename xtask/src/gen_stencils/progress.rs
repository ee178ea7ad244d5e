//! How `gen-stencils` shows a generation as it goes: a progress bar over
//! every (uop, target) translation unit on a terminal, else one plain line
//! per unit compiled (cached units print nothing).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stencil_gen::pipeline::{Event, GenReport, Progress};

/// Shows a generation's events on stderr.
pub struct Display {
    /// `None` when printing plain lines.
    bar: Option<ProgressBar>,
    /// Print each tool's command line.
    verbose: bool,
}

impl Display {
    /// A bar when stderr is a terminal and not in CI, else plain lines.
    pub fn new(verbose: bool) -> Display {
        let bar = (std::io::stderr().is_terminal() && !in_ci()).then(|| {
            // Hidden until the generation knows how many units it compiles.
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            let style = ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} translation units {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        Display { bar, verbose }
    }

    /// Remove the bar, before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => errln!("{text}"),
        }
    }
}

impl Progress for Display {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Planned { total, cached } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(*total as u64);
                    bar.set_position(*cached as u64);
                    // Nothing to compile: no bar to flash.
                    if cached < total {
                        bar.set_draw_target(ProgressDrawTarget::stderr());
                        bar.enable_steady_tick(Duration::from_millis(100));
                    }
                }
            }
            Event::Command { tool, line } => {
                if self.verbose {
                    self.line(&format!("{tool}: {line}"));
                }
            }
            Event::Compiled { unit, done, total } => match &self.bar {
                Some(bar) => {
                    bar.set_message(format!("{} for {}", unit.uop, unit.target));
                    bar.inc(1);
                }
                None => errln!("compiled {} for {} ({done}/{total})", unit.uop, unit.target),
            },
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        // A failed generation leaves no half-drawn bar behind its error.
        self.finish();
    }
}

/// Whether the environment says this is a CI run (`CI` set to anything
/// but empty, `0` or `false`).
fn in_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")))
}

/// `recompiled 2 of 102 translation units (100 cached) in 0.41 s`.
pub fn summary(report: &GenReport) -> String {
    format!(
        "recompiled {} of {} translation units ({} cached) in {:.2} s",
        report.recompiled.len(),
        report.units,
        report.cached,
        report.total_time.as_secs_f64()
    )
}
