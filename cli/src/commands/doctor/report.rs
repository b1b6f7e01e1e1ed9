//! The report: one [`Check`] per line with its [`Status`], finding and fix.

use serde::Serialize;
use std::fmt;

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Present and usable.
    Ok,
    /// Present but limited, or not measurable.
    Warn,
    /// Absent (or unusable).
    Missing,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Missing => "MISSING",
        })
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked (`gstreamer`, `onnxruntime`, ...).
    pub check: &'static str,
    /// The verdict.
    pub status: Status,
    /// What was found.
    pub finding: String,
    /// How to fix it (`None` when nothing needs fixing).
    pub fix: Option<String>,
}

impl Check {
    pub(super) fn new(check: &'static str, status: Status, finding: impl Into<String>, fix: Option<String>) -> Self {
        Check { check, status, finding: one_line(&finding.into()), fix: fix.map(|f| one_line(&f)) }
    }
}

/// Collapses whitespace runs (newlines included) so each check prints on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The engine asked about.
    pub engine: String,
    /// What `auto` (or the engine asked for) would run as here.
    pub resolved_engine: String,
    /// Whether that engine can run on this host.
    pub engine_runs: bool,
    /// Every check, in print order (the last one is `engine`).
    pub checks: Vec<Check>,
}

impl Report {
    /// The check named `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.check == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            write!(f, "{:<7}  {:<13} {}", c.status, c.check, c.finding)?;
            if let Some(fix) = &c.fix {
                write!(f, "  -> fix: {fix}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
