//! What every layer shares and nothing here imports from above: the data model, bytes and
//! their escaped form, glob patterns, TTL input, the key index, value decoders, metric
//! arithmetic, and the one way to touch files below a directory others can write to.

pub mod census;
pub mod cmdline;
pub mod decode;
pub mod edit;
pub mod escape;
pub mod fleet;
pub mod format;
pub mod glob;
pub mod keyfile;
pub mod keyindex;
pub mod metrics;
pub mod model;
pub mod pace;
pub mod redact;
pub mod safefs;
pub mod ttl;
