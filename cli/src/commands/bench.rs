//! `reid bench ...` (placeholder while written).
use anyhow::Result;
use clap::Subcommand;
/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {}
/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {}
}
