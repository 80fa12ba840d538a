//! Sinks that belong to the gateway itself rather than to a national service.

pub mod journal;
