//! The uop definition language.
pub mod ast;
