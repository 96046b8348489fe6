//! jam-store
