//! Integration tests of `synth`, linked into one test binary (one link instead of one per file).

mod persons;
