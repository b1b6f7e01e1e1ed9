//! The index as bytes, for the snapshot file ([`crate::snapshot`]): every column in row order, then the interned
//! camera and identity names. Reading checks every length against the row count the caller expects, every
//! interned code against its table, names for duplicates and ids for repeats, so a damaged body is an error,
//! never a panic or an oversized allocation.

use super::intern::Interner;
use super::{Index, NONE, Precision, Vectors};
use crate::snapshot::io::{get, get_bytes, get_vec, put, put_bytes, put_slice};
use half::f16;
use std::collections::HashMap;
use std::io::{self, Read, Write};

/// Longest camera or identity name read back (names come from validated requests, far shorter).
const MAX_NAME: usize = 1 << 20;

fn bad(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

fn precision_code(p: Precision) -> u8 {
    match p {
        Precision::F32 => 0,
        Precision::F16 => 1,
        Precision::Int8 => 2,
    }
}

impl Index {
    /// Writes every row and name (module docs).
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        if self.tombstones() > 0 {
            let why = "index: tombstones wait for repair; call compact() before writing a snapshot";
            return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
        }
        put(w, self.len() as u64)?;
        put(w, self.dim as u32)?;
        put(w, precision_code(self.precision()))?;
        put(w, self.rescore as u32)?;
        match &self.vectors {
            Vectors::F32(v) => put_slice(w, v)?,
            Vectors::F16(v) => put_slice(w, v)?,
            Vectors::I8 { codes, scales } => {
                put_slice(w, codes)?;
                put_slice(w, scales)?;
            }
        }
        put_slice(w, &self.ids)?;
        put_slice(w, &self.timestamps)?;
        put_slice(w, &self.cameras)?;
        put_slice(w, &self.identities)?;
        let has: Vec<u8> = self.tracks.iter().map(|t| u8::from(t.is_some())).collect();
        let tracks: Vec<u64> = self.tracks.iter().map(|t| t.unwrap_or(0)).collect();
        put_slice(w, &has)?;
        put_slice(w, &tracks)?;
        for names in [&self.camera_names, &self.identity_names] {
            put(w, names.names.len() as u32)?;
            for n in &names.names {
                put_bytes(w, n.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Reads an index written by [`Index::write_to`] that must hold `rows` rows of `dim` values at `precision`.
    pub fn read_from(r: &mut impl Read, rows: usize, dim: usize, precision: Precision) -> io::Result<Index> {
        let got_rows = get::<u64>(r)?;
        let got_dim = get::<u32>(r)? as usize;
        let got_precision = get::<u8>(r)?;
        if got_rows != rows as u64 || got_dim != dim || got_precision != precision_code(precision) {
            return Err(bad(format!(
                "the body holds {got_rows} rows of {got_dim} values (precision code {got_precision}), the header \
                 {rows} of {dim} ({precision})"
            )));
        }
        let rescore = get::<u32>(r)? as usize;
        if rescore == 0 || rescore > 1 << 16 {
            return Err(bad(format!("re-scoring factor {rescore}")));
        }
        let n = rows.checked_mul(dim).ok_or_else(|| bad("rows x dim overflows".into()))?;
        let vectors = match precision {
            Precision::F32 => Vectors::F32(get_vec(r, n)?),
            Precision::F16 => Vectors::F16(get_vec::<f16>(r, n)?),
            Precision::Int8 => {
                let codes: Vec<i8> = get_vec(r, n)?;
                if let Some(at) = codes.iter().position(|&c| c == i8::MIN) {
                    // The AVX2 code kernel needs codes in -127..=127 (quantize_i8 never makes -128).
                    return Err(bad(format!("int8 code -128 at value {at}")));
                }
                let scales: Vec<f32> = get_vec(r, rows)?;
                if let Some(at) = scales.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
                    return Err(bad(format!("int8 scale of row {at} is {}", scales[at])));
                }
                Vectors::I8 { codes, scales }
            }
        };
        let ids: Vec<u64> = get_vec(r, rows)?;
        let timestamps = get_vec(r, rows)?;
        let cameras: Vec<u32> = get_vec(r, rows)?;
        let identities: Vec<u32> = get_vec(r, rows)?;
        let has: Vec<u8> = get_vec(r, rows)?;
        let values: Vec<u64> = get_vec(r, rows)?;
        let tracks = has.iter().zip(&values).map(|(&h, &v)| (h != 0).then_some(v)).collect();
        let camera_names = read_names(r, &cameras, "camera")?;
        let identity_names = read_names(r, &identities, "identity")?;
        let mut row_of = HashMap::with_capacity(rows);
        for (row, &id) in ids.iter().enumerate() {
            if row_of.insert(id, row as u32).is_some() {
                return Err(bad(format!("id {id} appears twice")));
            }
        }
        Ok(Index {
            dim,
            vectors,
            ids,
            timestamps,
            cameras,
            identities,
            tracks,
            row_of,
            camera_names,
            identity_names,
            rescore,
            source: None,
            graph: None,
            dead: Vec::new(),
            dead_count: 0,
        })
    }
}

/// Reads a name table and checks the rows' codes against it (live counts rebuilt from the codes).
fn read_names(r: &mut impl Read, codes: &[u32], what: &str) -> io::Result<Interner> {
    let count = get::<u32>(r)? as usize;
    // Every name was interned by some row at some time; more names than rows ever held is not ours, but removed
    // rows leave names behind, so the bound is loose: 16 per row plus slack.
    if count > codes.len().saturating_mul(16) + 1024 {
        return Err(bad(format!("{count} {what} names for {} rows", codes.len())));
    }
    let mut interner = Interner::default();
    for code in 0..count {
        let bytes = get_bytes(r, MAX_NAME)?;
        let name = String::from_utf8(bytes).map_err(|_| bad(format!("{what} name {code} is not UTF-8")))?;
        if interner.codes.insert(name.clone(), code as u32).is_some() {
            return Err(bad(format!("{what} name {code} appears twice")));
        }
        interner.names.push(name);
    }
    interner.reset_live(count);
    for &c in codes {
        if c != NONE {
            if c as usize >= count {
                return Err(bad(format!("{what} code {c} with {count} names")));
            }
            interner.count(c);
        }
    }
    Ok(interner)
}
