//! Integration tests of `runtime`, linked into one test binary (one link instead of one per file).

mod camera;
mod common;
mod dataset;
mod engine;
mod ort_engine;
mod preprocess;
