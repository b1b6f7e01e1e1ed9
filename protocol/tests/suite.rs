//! Integration tests of `reid-protocol`, linked into one test binary (one link instead of one per file).

mod payload;
mod stream;
