//! Integration tests of `eval`, linked into one test binary (one link instead of one per file).

mod parity;
mod plot;
