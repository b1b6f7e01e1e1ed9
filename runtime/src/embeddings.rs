//! The TAO inference JSON: `[{"img_path": "...", "embedding": [f32, ...]}, ...]`.

use reid_eval::Matrix;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One entry of the TAO inference JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRecord {
    /// Image path, as the producer wrote it.
    pub img_path: String,
    /// Embedding values.
    pub embedding: Vec<f32>,
}

/// A set of embeddings with the image each came from.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EmbeddingSet {
    /// Image paths, one per row of `embeddings`.
    pub paths: Vec<String>,
    /// One embedding per row.
    pub embeddings: Matrix,
}

impl EmbeddingSet {
    /// Number of embeddings.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// True when there are no embeddings.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.embeddings.cols()
    }

    /// Keeps only the rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> EmbeddingSet {
        let dim = self.dim();
        let mut data = Vec::with_capacity(indices.len() * dim);
        for &i in indices {
            data.extend_from_slice(self.embeddings.row(i));
        }
        EmbeddingSet {
            paths: indices.iter().map(|&i| self.paths[i].clone()).collect(),
            embeddings: Matrix::from_vec(indices.len(), dim, data).expect("rows of equal width"),
        }
    }
}

/// A TAO inference JSON that cannot be read or written.
#[derive(Debug, Error)]
pub enum EmbeddingsError {
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a JSON list of `{"img_path", "embedding"}` objects.
    #[error(
        "{path}: not a TAO inference JSON list of {{\"img_path\", \"embedding\"}} objects: {}",
        clip(&cause.to_string())
    )]
    Json {
        /// The file.
        path: PathBuf,
        /// Parser error with line and column. Not a `source`: error chains would print it whole, and it may quote a
        /// huge value of the file; the message above quotes it clipped.
        cause: serde_json::Error,
    },
    /// The list is empty.
    #[error("{path}: the file holds no embeddings")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Entries disagree on the embedding size.
    #[error("{path}: entry {index} ({}) has a {got}-d embedding, but entry 0 is {expected}-d", clip(.img_path))]
    Dimension {
        /// The file.
        path: PathBuf,
        /// Entry index.
        index: usize,
        /// Its image path.
        img_path: String,
        /// Dimension of entry 0.
        expected: usize,
        /// Dimension of this entry.
        got: usize,
    },
    /// An embedding holds a value that is not a finite `f32` (JSON numbers beyond ±3.4e38 read as infinity).
    #[error("{path}: entry {index} ({}) has value {value} at position {position}, not a finite f32", clip(.img_path))]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Entry index.
        index: usize,
        /// Its image path.
        img_path: String,
        /// Position of the value in the embedding.
        position: usize,
        /// The value read.
        value: f32,
    },
    /// An embedding whose squared norm overflows `f32` (it cannot be L2-normalised).
    #[error(
        "{path}: entry {index} ({}) has values too large to normalise (largest magnitude {largest:e}; its squared \
         norm overflows f32)",
        clip(.img_path)
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Entry index.
        index: usize,
        /// Its image path.
        img_path: String,
        /// Its largest magnitude.
        largest: f32,
    },
    /// An embedding that is all zero (or so small its squared norm is zero): it has no direction to compare.
    #[error("{path}: entry {index} ({}) has an all-zero embedding (nothing to compare)", clip(.img_path))]
    ZeroVector {
        /// The file.
        path: PathBuf,
        /// Entry index.
        index: usize,
        /// Its image path.
        img_path: String,
    },
    /// An embedding is empty.
    #[error("{path}: entry 0 ({}) has an empty embedding", clip(.img_path))]
    ZeroDim {
        /// The file.
        path: PathBuf,
        /// Its image path.
        img_path: String,
    },
}

/// The longest image path quoted in an error; longer ones are cut (a file may hold anything).
const QUOTE_MAX: usize = 200;

/// `text`, cut to [`QUOTE_MAX`] bytes (at a character boundary) with the number of bytes left out.
pub fn clip(text: &str) -> String {
    if text.len() <= QUOTE_MAX {
        return text.to_owned();
    }
    let cut = (0..=QUOTE_MAX).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    format!("{}... ({} more bytes)", &text[..cut], text.len() - cut)
}

/// Reads a TAO inference JSON, checking that every embedding has the same size and can be L2-normalised: every
/// value finite (JSON has no NaN or infinity, but numbers beyond ±3.4e38 read as infinity), the squared norm
/// neither overflowing `f32` nor zero.
pub fn read_tao_json(path: &Path) -> Result<EmbeddingSet, EmbeddingsError> {
    let bytes = std::fs::read(path).map_err(|source| EmbeddingsError::Io { path: path.to_owned(), source })?;
    let records: Vec<EmbeddingRecord> =
        serde_json::from_slice(&bytes).map_err(|cause| EmbeddingsError::Json { path: path.to_owned(), cause })?;
    drop(bytes);
    let Some(first) = records.first() else {
        return Err(EmbeddingsError::Empty { path: path.to_owned() });
    };
    let dim = first.embedding.len();
    if dim == 0 {
        return Err(EmbeddingsError::ZeroDim { path: path.to_owned(), img_path: first.img_path.clone() });
    }
    let mut data = Vec::with_capacity(records.len() * dim);
    let mut paths = Vec::with_capacity(records.len());
    for (index, r) in records.into_iter().enumerate() {
        if r.embedding.len() != dim {
            return Err(EmbeddingsError::Dimension {
                path: path.to_owned(),
                index,
                img_path: r.img_path,
                expected: dim,
                got: r.embedding.len(),
            });
        }
        check_row(path, index, &r)?;
        data.extend_from_slice(&r.embedding);
        paths.push(r.img_path);
    }
    let embeddings = Matrix::from_vec(paths.len(), dim, data).expect("rows of equal width");
    Ok(EmbeddingSet { paths, embeddings })
}

/// One embedding can be L2-normalised: finite values, a squared norm (as `f32`, as normalisation computes it)
/// finite and non-zero.
fn check_row(path: &Path, index: usize, r: &EmbeddingRecord) -> Result<(), EmbeddingsError> {
    if let Some((position, &value)) = r.embedding.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EmbeddingsError::NonFinite {
            path: path.to_owned(),
            index,
            img_path: r.img_path.clone(),
            position,
            value,
        });
    }
    let norm2 = reid_eval::distance::dot(&r.embedding, &r.embedding);
    if !norm2.is_finite() {
        let largest = r.embedding.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        return Err(EmbeddingsError::TooLarge { path: path.to_owned(), index, img_path: r.img_path.clone(), largest });
    }
    if norm2 == 0.0 {
        return Err(EmbeddingsError::ZeroVector { path: path.to_owned(), index, img_path: r.img_path.clone() });
    }
    Ok(())
}

/// Writes a TAO inference JSON atomically (a temporary file renamed into place once complete and synced).
pub fn write_tao_json(path: &Path, set: &EmbeddingSet) -> Result<(), EmbeddingsError> {
    let io = |source| EmbeddingsError::Io { path: path.to_owned(), source };
    #[derive(Serialize)]
    struct Entry<'a> {
        img_path: &'a str,
        embedding: &'a [f32],
    }
    let entries: Vec<Entry<'_>> =
        set.paths.iter().zip(set.embeddings.iter_rows()).map(|(p, e)| Entry { img_path: p, embedding: e }).collect();
    let tmp = path.with_extension("json.partial");
    {
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut w, &entries).map_err(|e| io(std::io::Error::other(e)))?;
        w.flush().map_err(io)?;
        w.get_ref().sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly_and_names_bad_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.json");
        let set = EmbeddingSet {
            paths: vec!["a/0001_c1s1_000001_00.jpg".into(), "b.jpg".into()],
            embeddings: Matrix::from_rows(&[[0.1f32, -3.5e-8, 1.0 / 3.0], [7.0, 0.0, -0.25]]).unwrap(),
        };
        write_tao_json(&p, &set).unwrap();
        assert_eq!(read_tao_json(&p).unwrap(), set);

        std::fs::write(&p, r#"[{"img_path":"x.jpg","embedding":[1,2]},{"img_path":"y.jpg","embedding":[1]}]"#).unwrap();
        let err = read_tao_json(&p).unwrap_err().to_string();
        assert!(err.contains("entry 1 (y.jpg) has a 1-d embedding, but entry 0 is 2-d"), "{err}");

        std::fs::write(&p, r#"[{"path":"x.jpg","embedding":[1,2]}]"#).unwrap();
        let err = read_tao_json(&p).unwrap_err().to_string();
        assert!(err.contains("missing field `img_path`") && err.contains("e.json"), "{err}");

        let bad = |json: &str| {
            std::fs::write(&p, json).unwrap();
            read_tao_json(&p).unwrap_err().to_string()
        };
        // 1e39 reads as f32 infinity: refused, naming the entry and position.
        let err = bad(r#"[{"img_path":"x.jpg","embedding":[1,2]},{"img_path":"y.jpg","embedding":[3,1e39]}]"#);
        assert!(err.contains("entry 1 (y.jpg) has value inf at position 1, not a finite f32"), "{err}");
        // 1e20 is a finite f32, but its square is not.
        let err = bad(r#"[{"img_path":"x.jpg","embedding":[1,2]},{"img_path":"y.jpg","embedding":[1e20,1]}]"#);
        assert!(err.contains("entry 1 (y.jpg) has values too large to normalise (largest magnitude 1e20"), "{err}");
        let err = bad(r#"[{"img_path":"x.jpg","embedding":[1,2]},{"img_path":"z.jpg","embedding":[0,-0.0]}]"#);
        assert!(err.contains("entry 1 (z.jpg) has an all-zero embedding"), "{err}");
        // 1e-30 squares to zero in f32: it cannot be normalised either.
        let err = bad(r#"[{"img_path":"x.jpg","embedding":[1e-30,0]}]"#);
        assert!(err.contains("entry 0 (x.jpg) has an all-zero embedding"), "{err}");
        // Large values whose squared norm fits are fine.
        std::fs::write(&p, r#"[{"img_path":"x.jpg","embedding":[1e18,-1e18]}]"#).unwrap();
        assert_eq!(read_tao_json(&p).unwrap().embeddings.row(0), &[1e18f32, -1e18]);
        // A huge value is never echoed back whole.
        let huge = "A".repeat(1 << 20);
        let err = bad(&format!(r#"[{{"img_path":"x.jpg","embedding":"{huge}"}}]"#));
        assert!(err.len() < 1000 && err.contains("more bytes"), "{} bytes: {}", err.len(), &err[..300]);
        let err = bad(&format!(r#"[{{"img_path":"{huge}","embedding":[0]}}]"#));
        assert!(err.len() < 1000 && err.contains("all-zero"), "{} bytes", err.len());

        std::fs::write(&p, "[]").unwrap();
        assert!(matches!(read_tao_json(&p), Err(EmbeddingsError::Empty { .. })));
        assert!(matches!(read_tao_json(&dir.path().join("missing.json")), Err(EmbeddingsError::Io { .. })));
    }
}
