//! placeholder, replaced by the crate's own issue
