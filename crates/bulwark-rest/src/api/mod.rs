//! One module per API family.

pub mod alias;
pub mod api_key;
pub mod bulk;
pub mod cat;
pub mod cluster;
pub mod document;
pub mod enroll;
pub mod index;
pub mod license;
pub mod nodes;
pub mod role;
pub mod root;
pub mod search;
pub mod security;
pub mod service;
pub mod ssl;
pub mod user;
pub mod write;
