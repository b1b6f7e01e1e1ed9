//! The one mutex helper every element uses.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data of a poisoned one (a panic elsewhere must not stop the stream).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
