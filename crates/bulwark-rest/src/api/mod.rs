//! One module per API family.

pub mod cat;
pub mod cluster;
pub mod root;
pub mod security;
pub mod ssl;
pub mod user;
