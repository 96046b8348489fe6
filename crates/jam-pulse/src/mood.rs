//! Mood: see the crate documentation.
