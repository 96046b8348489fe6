//! Themes: see the crate documentation.
