//! Committed stencil tables, one module per target.
