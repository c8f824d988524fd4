//! The memory analysis window of a connection: the form, the running job's progress, and the
//! report.

use super::{Pending, Session};
use crate::backend::analysis::{AnalysisRequest, MemoryReport, NO_NAMESPACE, OTHER_NAMESPACES};
use crate::core::escape::pattern_to_glob;
use crate::service::{CommandKind, EventKind};

/// Biggest keys kept by an analysis.
pub const TOP_KEYS: usize = 50;
/// The sample size offered at first.
pub const DEFAULT_SAMPLE: u64 = 100_000;

/// The memory analysis of a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisView {
    /// An analysis is running.
    pub running: bool,
    /// Keys to analyse (glob, `\xNN` escapes).
    pub pattern: String,
    /// The whole keyspace, or a sample.
    pub whole: bool,
    /// Sample size as typed.
    pub sample_text: String,
    /// Namespace depth (1‥=3).
    pub depth: usize,
    /// Why the form was refused or the analysis failed.
    pub error: Option<String>,
    /// Keys seen and share of the keyspace visited, while running.
    pub progress: Option<(u64, f64)>,
    /// The result of the last analysis.
    pub report: Option<MemoryReport>,
    /// Fold the window out of the way (once): a namespace was just listed in the browser.
    pub tuck_away: bool,
}

impl Session {
    /// Opens the memory analysis window.
    pub(super) fn open_analysis(&mut self) {
        if self.analysis.is_none() {
            let pattern = if self.browser.pattern.is_empty() {
                "*".to_owned()
            } else {
                self.browser.pattern.clone()
            };
            self.analysis = Some(AnalysisView {
                running: false,
                pattern,
                whole: true,
                sample_text: DEFAULT_SAMPLE.to_string(),
                depth: 1,
                error: None,
                progress: None,
                report: None,
                tuck_away: false,
            });
        }
    }

    /// Starts an analysis with the form's settings (cancelling one that runs).
    pub(super) fn start_analysis(&mut self) {
        let delimiter = self.profile.delimiter.clone();
        let Some(view) = self.analysis.as_mut() else {
            return;
        };
        let sample = if view.whole {
            None
        } else {
            match view
                .sample_text
                .trim()
                .replace(['_', ','], "")
                .parse::<u64>()
            {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    view.error = Some(format!(
                        "the sample size must be a whole number of keys above 0, not `{}`",
                        view.sample_text.trim()
                    ));
                    return;
                }
            }
        };
        let pattern = if view.pattern.trim().is_empty() {
            "*"
        } else {
            view.pattern.trim()
        };
        let request = AnalysisRequest {
            pattern: pattern_to_glob(pattern),
            sample,
            delimiter,
            depth: view.depth.clamp(1, 3),
            top: TOP_KEYS,
            // The server the browser shows (a pool's server, a cluster's node), or all.
            server: self.browser.server_filter.clone(),
            // The browser's scan budget (the Scan choice beside its Search).
            budget_ms: self.browser.scan_budget_ms,
        };
        view.running = true;
        view.error = None;
        view.progress = Some((0, 0.0));
        self.request(Pending::Analysis, CommandKind::AnalyzeMemory { request });
    }

    /// Stops the running analysis; what it found so far is reported.
    pub(super) fn cancel_analysis(&mut self) {
        if self.analysis.as_ref().is_some_and(|v| v.running) {
            self.interrupt(Pending::Analysis, CommandKind::CancelAnalysis);
        }
    }

    /// Lists the keys of an analysed namespace in the browser (its label as the report shows
    /// it, e.g. `user:`); the special rows have no keys to list.
    pub(super) fn browse_namespace(&mut self, label: &str) {
        if label == NO_NAMESPACE || label == OTHER_NAMESPACES {
            return;
        }
        self.browser.pattern = namespace_pattern(label);
        self.search();
        if let Some(view) = &mut self.analysis {
            view.tuck_away = true;
        }
    }

    /// News of the running analysis.
    pub(super) fn analysis_event(&mut self, kind: EventKind) {
        let Some(view) = self.analysis.as_mut().filter(|v| v.running) else {
            return;
        };
        match kind {
            EventKind::AnalysisProgress { keys, progress } => {
                view.progress = Some((keys, progress));
            }
            EventKind::AnalysisDone(report) => {
                view.running = false;
                view.progress = None;
                view.report = Some(report);
            }
            _ => {}
        }
    }

    /// The running analysis failed.
    pub(super) fn analysis_failed(&mut self, text: String) {
        if let Some(view) = self.analysis.as_mut() {
            view.running = false;
            view.progress = None;
            view.error = Some(text);
        }
    }
}

/// The search pattern for every key under a namespace label (escaped form, as shown): glob
/// specials in the name are written as `\xNN` so they match only themselves.
#[must_use]
pub fn namespace_pattern(label: &str) -> String {
    let mut pattern = crate::core::escape::glob_literal(label);
    pattern.push('*');
    pattern
}

#[cfg(test)]
mod tests {
    use super::namespace_pattern;
    use crate::core::escape::pattern_to_glob;
    use crate::core::glob::matches;

    #[test]
    fn a_namespace_pattern_matches_exactly_that_namespace() {
        let p = pattern_to_glob(&namespace_pattern("user:"));
        assert!(matches(&p, b"user:1"));
        assert!(!matches(&p, b"users:1"));
        let odd = pattern_to_glob(&namespace_pattern("a*[b]?\\\\x:"));
        assert!(matches(&odd, b"a*[b]?\\x:1"));
        assert!(!matches(&odd, b"aXXb]Z\\x:1"));
        let raw = pattern_to_glob(&namespace_pattern("\\xff:"));
        assert!(matches(&raw, b"\xff:k"));
    }
}
