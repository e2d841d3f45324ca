//! Identity: handle and DID syntax, the `_atproto` DNS record, the atproto-did file, and
//! DID documents.

pub mod diddoc;
pub mod didfile;
pub mod dns;
pub mod syntax;

pub use syntax::{Did, Handle, HandleError};
