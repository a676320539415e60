//! Settings for a Bulwark node and its tools, in Elasticsearch's spelling.

mod home;
pub mod secure;

pub use home::Home;
