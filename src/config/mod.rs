//! What the app keeps about where to connect and what it did: connection specs and their
//! URLs, saved profiles, `.env` import, the audit log file and the first-run demo cache.

pub mod audit;
pub mod connection;
pub mod demo;
pub mod envimport;
pub mod profiles;
pub mod uistate;
