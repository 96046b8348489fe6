//! The file clock: every node of a test cluster reads "now" from one file the test writes, so a
//! multi-day schedule runs in seconds without sleeping. Chosen by `clock.kind = "file"`.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use jam_domain::{Clock, SystemClock};

use crate::settings::{ClockKind, ClockSettings};

pub struct FileClock {
    path: PathBuf,
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        // A missing or half-written file falls back to the system time rather than failing requests;
        // tests write the file atomically (write + rename).
        std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
    }
}

/// The one place that picks the clock.
pub fn from_settings(settings: &ClockSettings) -> Arc<dyn Clock> {
    match settings.kind {
        ClockKind::System => Arc::new(SystemClock),
        ClockKind::File => {
            tracing::warn!(file = %settings.file, "using the file clock: for tests only");
            Arc::new(FileClock {
                path: PathBuf::from(&settings.file),
            })
        }
    }
}
