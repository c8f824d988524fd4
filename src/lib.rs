#![warn(missing_docs)]
//! Cache Console: look inside caches and fix what is wrong there.
//!
//! The library holds everything (backends, the I/O service, the UI) so that the UI can be
//! tested without a window; `main.rs` is a thin wrapper that parses the command line.
//! The layers, each importing only those before it (see `ARCHITECTURE.md`):
//! [`core`] → [`config`] → [`backend`] → [`service`] → [`state`] → [`ui`]; [`cli`] sits beside
//! the UI on the backend.

pub mod backend;
pub mod cli;
pub mod config;
pub mod core;
pub mod service;
pub mod state;
pub mod ui;
