//! Field checks shared by the routes: collect every invalid field of a request, so a form can show
//! them all at once (422 with `errors`).

use jam_domain::FieldError;
use jam_domain::text::{Bounds, Lines, check_text};

use crate::error::{ApiError, ApiResult};

#[derive(Default)]
pub struct Check(pub Vec<FieldError>);

impl Check {
    /// Free text within `min..=max` characters (see `jam_domain::text::check_text`).
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize, lines: Lines) {
        if let Err(e) = check_text(field, value, Bounds::new(min, max), lines) {
            self.0.push(e);
        }
    }

    pub fn fail(&mut self, field: &str, message: &str) {
        self.0.push(FieldError::new(field, message));
    }

    /// Keeps the parsed value, or records why it failed.
    pub fn parsed<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    pub fn done(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.0))
        }
    }
}
