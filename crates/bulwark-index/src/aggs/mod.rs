//! Aggregations: `terms`, `filters`, `filter`, `range`/`date_range`, `histogram`,
//! `date_histogram`, `min`/`max`/`avg`/`sum`/`stats`/`value_count`, `cardinality` and
//! `missing`, with sub-aggregations at any depth.
//!
//! They run on tantivy's fast fields through this crate's own collector rather than
//! `tantivy::aggregation`, which has no calendar intervals and approximates `cardinality`:
//! here every count is exact, and partial results merge across segments and indices.

mod collect;
mod request;
mod result;
mod state;

pub(crate) use collect::{AggCollector, bind};
pub use request::AggNode;
pub(crate) use request::parse;
pub use result::MAX_BUCKETS;
pub(crate) use result::render;
pub(crate) use state::AggState;
