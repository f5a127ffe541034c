//! sha256 digests: parsing `sha256:<hex>` (nothing else is accepted, so a digest is always
//! a safe file name), and a reader that hashes what passes through it and bounds it.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

use super::ImageError;

/// A parsed `sha256:<64 lowercase hex>` digest: its hex part, safe as a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Digest(String);

impl Digest {
    /// Parses `sha256:<hex>`; any other algorithm or form is refused.
    pub(crate) fn parse(s: &str) -> Result<Digest, ImageError> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| ImageError::malformed("digest", format!("{s:?} is not a sha256 digest")))?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ImageError::malformed("digest", format!("{s:?} is not a sha256 digest")));
        }
        Ok(Digest(hex.to_string()))
    }

    /// The digest of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Digest {
        Digest(hex(&Sha256::digest(bytes)))
    }

    /// The hex part (file name below `blobs/sha256/` or `layers/`).
    pub(crate) fn hex(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes everything read through it; fails with `InvalidData` past `limit` bytes.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R, limit: u64) -> HashingReader<R> {
        HashingReader { inner, hasher: Sha256::new(), count: 0, limit }
    }

    /// Reads the rest (a tar stream ends before its blob does: padding, zero blocks), then
    /// returns the digest and the byte count.
    pub(crate) fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Digest(hex(&self.hasher.finalize())), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "blob larger than its limit"));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads a whole JSON document of at most `limit` bytes from `r` and checks its digest
/// against `expected` (when known).
pub(crate) fn read_verified(
    what: &str,
    mut r: impl Read,
    limit: u64,
    expected: Option<&Digest>,
) -> Result<(Vec<u8>, Digest), ImageError> {
    let mut buf = Vec::new();
    (&mut r).take(limit + 1).read_to_end(&mut buf).map_err(|e| ImageError::malformed(what, e.to_string()))?;
    if buf.len() as u64 > limit {
        return Err(ImageError::TooLarge { what: what.to_string(), limit });
    }
    let actual = Digest::of(&buf);
    if let Some(exp) = expected {
        if *exp != actual {
            return Err(ImageError::DigestMismatch {
                what: what.to_string(),
                expected: exp.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    Ok((buf, actual))
}
