//! Integration tests of `models`, linked into one test binary (one link instead of one per file).

mod common;
mod errors;
mod export;
mod export_vit;
mod parity;
mod transreid;
mod vit;
