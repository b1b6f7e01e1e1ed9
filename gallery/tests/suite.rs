//! Integration tests of `gallery`, linked into one test binary (one link instead of one per file).

mod budget;
mod child;
mod console;
mod device;
mod forget;
mod gallery;
mod gpu;
mod hnsw;
mod net;
mod snapshot;
mod tls;
