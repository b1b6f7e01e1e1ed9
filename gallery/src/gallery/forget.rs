//! Forgetting and retention: deletes in the store and the index under the writer lock; a forget also rewrites the
//! store file ([`crate::store::Store::scrub`]) so that the deleted bytes leave it.

use super::{Gallery, GalleryError};
use crate::payload::{Forget, PayloadError};
use crate::record::{TimeRange, now_ms};

impl Gallery {
    /// Forgets an identity (its labelled records and the streamed sightings identified as it; an error when
    /// there are none), a time range, or everything (`Forget::All`), in the store and the index, then rewrites the
    /// store file so that the deleted bytes leave it ([`Store::scrub`]); returns how many embeddings were removed.
    /// Logs carry counts, never the identity.
    pub fn forget(&self, what: &Forget) -> Result<u64, GalleryError> {
        let _w = self.lock_writer();
        let (ids, kind) = match what {
            Forget::Identity(who) => {
                let ids = self.store.forget_identity(who)?;
                if ids.is_empty() {
                    return Err(GalleryError::UnknownIdentity);
                }
                (ids, "identity")
            }
            Forget::TimeRange { range, .. } if range.is_all() => {
                let message = "a time range needs from_ms and/or to_ms (send `all: true` to forget every time)";
                return Err(PayloadError { field: "all".into(), message: message.into() }.into());
            }
            Forget::TimeRange { range, camera } => {
                (self.store.forget_time_range(*range, camera.as_deref())?, "time range")
            }
            Forget::All { camera } => (self.store.forget_time_range(TimeRange::ALL, camera.as_deref())?, "all"),
        };
        self.remove_indexed(&ids, true);
        let started = std::time::Instant::now();
        let bytes = self.store.scrub()?;
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(removed = ids.len(), kind, file_bytes = bytes, rewrite_ms = ms, "forgotten; store rewritten");
        self.replace_snapshot_after_forget();
        Ok(ids.len() as u64)
    }

    /// The snapshot file must not keep what was just forgotten: with snapshots on it is rewritten (a new file
    /// renamed over the old one), otherwise, or when that fails, any snapshot file is deleted.
    fn replace_snapshot_after_forget(&self) {
        let path = self.snapshot_path();
        if self.config.snapshot {
            match self.save_snapshot_locked() {
                Ok(_) => return,
                Err(e) => tracing::warn!("{e}; deleting the old snapshot instead"),
            }
        }
        *self.snapshot_tag.lock().unwrap_or_else(|p| p.into_inner()) = None;
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!(path = %path.display(), "index snapshot deleted after forgetting"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot delete the index snapshot after forgetting")
            }
        }
    }

    /// Deletes every embedding with a timestamp before `cutoff_ms`; returns how many.
    pub fn expire_before(&self, cutoff_ms: i64) -> Result<u64, GalleryError> {
        let _w = self.lock_writer();
        let ids = self.store.expire(cutoff_ms)?;
        self.remove_indexed(&ids, false);
        if !ids.is_empty() {
            tracing::info!(expired = ids.len(), cutoff_ms, "retention");
        }
        Ok(ids.len() as u64)
    }

    /// Applies the configured TTL against the clock (0 when no TTL is set). Call it periodically.
    pub fn expire_now(&self) -> Result<u64, GalleryError> {
        match self.config.ttl_ms {
            Some(ttl) => self.expire_before(now_ms().saturating_sub(ttl)),
            None => Ok(0),
        }
    }
}
