#![warn(missing_docs)]
//! Cache Console: look inside caches and fix what is wrong there.
//!
//! The library holds everything (backends, the I/O service, the UI) so that the UI can be
//! tested without a window; `main.rs` is a thin wrapper that parses the command line.

pub mod analysis;
pub mod audit;
pub mod backend;
pub mod cli;
pub mod connection;
pub mod decode;
pub mod demo;
pub mod edit;
pub mod envimport;
pub mod escape;
pub mod glob;
pub mod keyindex;
pub mod metrics;
pub mod model;
pub mod profiles;
pub mod safefs;
pub mod service;
pub mod state;
pub mod ttl;
pub mod ui;
