//! Integration tests of `models`, linked into one test binary (one link instead of one per file).

mod common;
mod errors;
mod export;
mod parity;
mod transreid;
mod vit;
