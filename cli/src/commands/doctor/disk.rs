//! Free disk where TensorRT engine caches will be written.

use super::host::Host;
use super::report::{Check, Status};
use std::path::{Path, PathBuf};

/// The engine cache root as the engines pick it, from the host's environment.
pub(super) fn cache_root(host: &dyn Host, explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_owned();
    }
    if let Some(p) = host.var("REID_ENGINE_CACHE") {
        return PathBuf::from(p);
    }
    let base = host
        .var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| host.var("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("reid").join("engines")
}

/// Below this much free space the engine cache check warns (a fp16 ResNet-50 engine is ~50 MB; timing caches
/// and several models and batch profiles add up).
pub(super) const MIN_FREE_BYTES: u64 = 1 << 30;

pub(super) fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

pub(super) fn check_disk(host: &dyn Host, explicit: Option<&Path>) -> Check {
    let root = cache_root(host, explicit);
    let exists = host.path(&root).is_dir();
    let mut probe = root.clone();
    while !host.path(&probe).is_dir() {
        match probe.parent() {
            Some(p) if p != probe => probe = p.to_owned(),
            _ => break,
        }
    }
    let state = if exists { "exists" } else { "created on first TensorRT build" };
    let fix = format!(
        "free space there, or point --engine-cache / REID_ENGINE_CACHE at a larger disk (needs {} for engines)",
        gib(MIN_FREE_BYTES)
    );
    match host.free_bytes(&host.path(&probe)) {
        Some(free) if free >= MIN_FREE_BYTES => {
            Check::new("engine-cache", Status::Ok, format!("{} free at {} ({state})", gib(free), root.display()), None)
        }
        Some(free) => Check::new(
            "engine-cache",
            Status::Warn,
            format!("only {} free at {} ({state})", gib(free), root.display()),
            Some(fix),
        ),
        None => Check::new(
            "engine-cache",
            Status::Warn,
            format!("cannot measure free space at {} (`df -Pk` failed)", root.display()),
            Some(fix),
        ),
    }
}
