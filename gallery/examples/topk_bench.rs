//! Top-k throughput against FAISS: `cargo run --release -p reid-gallery --example topk_bench -- [n] [dim] [threads]
//! [python] [repeats]`. Without a Python interpreter (or with `-`) only our rows are printed.

use reid_gallery::bench::{self, BenchConfig, FaissSetup};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let cfg = BenchConfig {
        n: num(0, 1_000_000),
        dim: num(1, 256),
        threads: num(2, 2),
        repeats: num(4, 3),
        ..BenchConfig::default()
    };
    let faiss = args.get(3).filter(|p| p.as_str() != "-").map(|python| FaissSetup {
        python: python.into(),
        script: bench::default_faiss_script(),
        work_dir: None,
    });
    match bench::run(&cfg, faiss.as_ref()) {
        Ok(report) => {
            print!("{}", report.table());
            println!("{}", serde_json::to_string(&report).expect("report serialises"));
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
