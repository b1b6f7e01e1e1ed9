//! Integration tests of `cli`, linked into one test binary (one link instead of one per file).

mod deepstream;
mod deploy;
mod doctor;
mod embed;
mod engine;
mod evaluate;
mod gallery;
mod gallery_console;
