//! Child processes for the SIGKILL tests: this test binary re-run on one ignored helper test (which enrols forever,
//! printing `ACK <id>` per acknowledged enrolment), killed with SIGKILL after a given number of acknowledgements.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts this test binary running only the ignored test `name` of the calling module (pass `module_path!()`),
/// with `env` set to `store` (the helper returns at once without it).
pub fn spawn(module: &str, name: &str, env: &str, store: &Path) -> Child {
    // Test names are module paths below the test crate (`gallery::crash_child_enroller` in the suite binary).
    let module = module.split_once("::").map_or("", |(_, m)| m);
    let test = format!("{module}::{name}");
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", &test, "--nocapture", "--test-threads", "1"])
        .env(env, store)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Reads the child's `ACK <id>` lines and kills it (SIGKILL) at the `stop_after`-th; returns the acknowledged ids
/// (fewer than `stop_after` only when the child stopped by itself) once it has exited.
pub fn kill_after_acks(mut child: Child, stop_after: usize) -> Vec<u64> {
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(id) = line.unwrap().strip_prefix("ACK ") {
            acked.push(id.trim().parse::<u64>().unwrap());
            if acked.len() == stop_after {
                child.kill().unwrap(); // SIGKILL, mid-stream
                break;
            }
        }
    }
    child.wait().unwrap();
    acked
}
