//! Integration tests of `trainer`, linked into one test binary (one link instead of one per file).

mod losses;
mod sampler;
mod schedule;
mod spec;
mod train_loop;
mod train_vit;
