//! The reference VM.
