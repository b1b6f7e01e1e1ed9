//! The store's byte layouts: metadata as a small versioned little-endian record, vectors as little-endian f32.

use crate::record::Metadata;

const HAS_IDENTITY: u8 = 1;
const HAS_CAMERA: u8 = 2;
const HAS_TRACK: u8 = 4;
const HAS_SOURCE: u8 = 8;
const META_VERSION: u8 = 1;

/// `version u8 | flags u8 | timestamp i64 | [track u64] | [len u32, utf8] for identity, camera, source`, all LE.
pub(super) fn encode_meta(m: &Metadata) -> Vec<u8> {
    let mut flags = 0u8;
    let mut out = vec![META_VERSION, 0];
    out.extend_from_slice(&m.timestamp_ms.to_le_bytes());
    if let Some(t) = m.track_id {
        flags |= HAS_TRACK;
        out.extend_from_slice(&t.to_le_bytes());
    }
    for (flag, s) in [(HAS_IDENTITY, &m.identity), (HAS_CAMERA, &m.camera), (HAS_SOURCE, &m.source)] {
        if let Some(s) = s {
            flags |= flag;
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    out[1] = flags;
    out
}

pub(super) fn decode_meta(b: &[u8]) -> Result<Metadata, String> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if b.len() < n {
            return Err(format!("metadata truncated ({} bytes left, {n} needed)", b.len()));
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Ok(head)
    }
    let mut b = b;
    let head = take(&mut b, 10)?;
    if head[0] != META_VERSION {
        return Err(format!("metadata version {} is not {META_VERSION}", head[0]));
    }
    let flags = head[1];
    let timestamp_ms = i64::from_le_bytes(head[2..10].try_into().expect("8 bytes"));
    let track_id = if flags & HAS_TRACK != 0 {
        Some(u64::from_le_bytes(take(&mut b, 8)?.try_into().expect("8 bytes")))
    } else {
        None
    };
    let mut strings = [None, None, None];
    for (slot, flag) in strings.iter_mut().zip([HAS_IDENTITY, HAS_CAMERA, HAS_SOURCE]) {
        if flags & flag != 0 {
            let len = u32::from_le_bytes(take(&mut b, 4)?.try_into().expect("4 bytes")) as usize;
            let s = std::str::from_utf8(take(&mut b, len)?).map_err(|e| format!("metadata string: {e}"))?;
            *slot = Some(s.to_string());
        }
    }
    if !b.is_empty() {
        return Err(format!("{} trailing metadata bytes", b.len()));
    }
    let [identity, camera, source] = strings;
    Ok(Metadata { identity, camera, timestamp_ms, track_id, source })
}

pub(super) fn decode_vector(b: &[u8], dim: usize) -> Result<Vec<f32>, String> {
    let mut out = vec![0.0; dim];
    decode_vector_into(b, &mut out)?;
    Ok(out)
}

/// [`decode_vector`] into `out` (its length is the dimension).
pub(super) fn decode_vector_into(b: &[u8], out: &mut [f32]) -> Result<(), String> {
    if b.len() != out.len() * 4 {
        return Err(format!("vector has {} bytes, {}-d needs {}", b.len(), out.len(), out.len() * 4));
    }
    for (o, c) in out.iter_mut().zip(b.chunks_exact(4)) {
        *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_every_combination() {
        for flags in 0..16u8 {
            let m = Metadata {
                identity: (flags & 1 != 0).then(|| "alice".to_string()),
                camera: (flags & 2 != 0).then(|| "c3".to_string()),
                timestamp_ms: -42 + flags as i64,
                track_id: (flags & 4 != 0).then_some(u64::MAX - 1),
                source: (flags & 8 != 0).then(|| "rtsp://ünïcode".to_string()),
            };
            assert_eq!(decode_meta(&encode_meta(&m)).unwrap(), m);
        }
        assert!(decode_meta(&[1, 1, 0]).unwrap_err().contains("truncated"));
        assert!(decode_meta(&[9; 10]).unwrap_err().contains("version 9"));
    }
}
