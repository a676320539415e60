//! One module per API family.

pub mod api_key;
pub mod cat;
pub mod cluster;
pub mod role;
pub mod root;
pub mod security;
pub mod service;
pub mod ssl;
pub mod user;
