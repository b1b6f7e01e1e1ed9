//! Little-endian primitives over a stream that checksums every byte it passes (CRC-32, `crc32fast`), for the
//! snapshot file. Reads never allocate from a length the file claims without a bound the caller gives.

use std::io::{self, Read, Write};

/// A writer that checksums what it writes.
pub(crate) struct SumWriter<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> SumWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        SumWriter { inner, crc: crc32fast::Hasher::new() }
    }

    /// The checksum of everything written so far, and the inner writer.
    pub(crate) fn finish(self) -> (u32, W) {
        (self.crc.finalize(), self.inner)
    }
}

impl<W: Write> Write for SumWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that checksums what it reads.
pub(crate) struct SumReader<R: Read> {
    inner: R,
    crc: crc32fast::Hasher,
}

impl<R: Read> SumReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        SumReader { inner, crc: crc32fast::Hasher::new() }
    }

    /// The checksum of everything read so far, and the inner reader.
    pub(crate) fn finish(self) -> (u32, R) {
        (self.crc.finalize(), self.inner)
    }
}

impl<R: Read> Read for SumReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// Plain-old-data values written and read as their little-endian bytes.
pub(crate) trait Pod: bytemuck::Pod {
    /// To/from little-endian in place (a no-op on little-endian machines).
    fn fix_endian(v: &mut [Self]);
}

macro_rules! pod {
    ($($t:ty),*) => {$(
        impl Pod for $t {
            fn fix_endian(v: &mut [Self]) {
                if cfg!(target_endian = "big") {
                    v.iter_mut().for_each(|x| *x = <$t>::from_le_bytes(x.to_ne_bytes()));
                }
            }
        }
    )*};
}
pod!(u8, i8, u16, u32, u64, i64, f32, half::f16);

/// Writes `v` as little-endian values.
pub(crate) fn put_slice<T: Pod>(w: &mut impl Write, v: &[T]) -> io::Result<()> {
    if cfg!(target_endian = "big") {
        let mut copy = v.to_vec();
        T::fix_endian(&mut copy);
        return w.write_all(bytemuck::cast_slice(&copy));
    }
    w.write_all(bytemuck::cast_slice(v))
}

/// Writes one little-endian value.
pub(crate) fn put<T: Pod>(w: &mut impl Write, v: T) -> io::Result<()> {
    put_slice(w, &[v])
}

/// Writes a length-prefixed (u32) byte string.
pub(crate) fn put_bytes(w: &mut impl Write, b: &[u8]) -> io::Result<()> {
    let len = u32::try_from(b.len()).map_err(|_| io::Error::other("a string over 4 GiB"))?;
    put(w, len)?;
    w.write_all(b)
}

/// Reads `n` little-endian values (`n` must already be bounded by the caller).
pub(crate) fn get_vec<T: Pod>(r: &mut impl Read, n: usize) -> io::Result<Vec<T>> {
    let mut v = vec![T::zeroed(); n];
    r.read_exact(bytemuck::cast_slice_mut(&mut v))?;
    T::fix_endian(&mut v);
    Ok(v)
}

/// Reads one little-endian value.
pub(crate) fn get<T: Pod>(r: &mut impl Read) -> io::Result<T> {
    Ok(get_vec::<T>(r, 1)?[0])
}

/// Reads a length-prefixed byte string of at most `max` bytes (longer is an error; memory grows only as bytes
/// arrive, so a truncated file cannot make it allocate the claimed length).
pub(crate) fn get_bytes(r: &mut impl Read, max: usize) -> io::Result<Vec<u8>> {
    let len = get::<u32>(r)? as usize;
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a string of {len} bytes (at most {max})")));
    }
    let mut out = Vec::new();
    r.take(len as u64).read_to_end(&mut out)?;
    if out.len() != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file ends inside a string"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_the_checksums_agree() {
        let mut w = SumWriter::new(Vec::new());
        put(&mut w, 7u32).unwrap();
        put_slice(&mut w, &[1.5f32, -2.0]).unwrap();
        put_bytes(&mut w, b"cam").unwrap();
        let (sum, bytes) = w.finish();
        let mut r = SumReader::new(bytes.as_slice());
        assert_eq!(get::<u32>(&mut r).unwrap(), 7);
        assert_eq!(get_vec::<f32>(&mut r, 2).unwrap(), [1.5, -2.0]);
        assert_eq!(get_bytes(&mut r, 16).unwrap(), b"cam");
        assert_eq!(r.finish().0, sum);
        assert_eq!(sum, crc32fast::hash(&bytes));
    }

    #[test]
    fn a_claimed_length_past_the_bound_or_the_end_is_an_error() {
        let mut bytes = Vec::new();
        put(&mut bytes, u32::MAX).unwrap();
        assert!(get_bytes(&mut bytes.as_slice(), 1 << 20).is_err());
        let mut bytes = Vec::new();
        put(&mut bytes, 100u32).unwrap();
        bytes.extend_from_slice(b"short");
        let e = get_bytes(&mut bytes.as_slice(), 1 << 20).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
