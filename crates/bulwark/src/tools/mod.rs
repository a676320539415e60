//! One module per tool.

pub mod doctor;
pub mod keystore;
pub mod start;
