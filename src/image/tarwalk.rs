//! Walking a tar stream with every extension bounded: the tar crate reads GNU long names
//! and pax headers whole into memory, so it runs in raw mode here and this walker joins
//! them to the entry they describe, refusing any larger than [`MAX_EXTENSION`], any path
//! longer than [`MAX_PATH`] and more than the caller's entry limit.

use std::io::Read;

use tar::EntryType;

use super::ImageError;

/// The largest GNU long name / long link / pax header accepted (bytes).
pub(crate) const MAX_EXTENSION: u64 = 64 << 10;
/// The longest entry path or link target (bytes; Linux's PATH_MAX).
pub(crate) const MAX_PATH: usize = 4096;
/// The most extended attributes one entry may carry.
const MAX_XATTRS: usize = 128;

/// An entry's metadata, extensions applied.
#[derive(Debug)]
pub(crate) struct Meta {
    pub path: Vec<u8>,
    pub link: Option<Vec<u8>>,
    pub kind: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub size: u64,
    /// Where the entry's data starts in the stream.
    pub data_pos: u64,
    pub dev: Option<(u32, u32)>,
    /// `SCHILY.xattr.*` records: (name, value).
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn bad(path: &[u8], reason: impl Into<String>) -> ImageError {
    ImageError::unsafe_entry(String::from_utf8_lossy(path), reason)
}

fn read_ext(what: &str, e: &mut impl Read, size: u64) -> Result<Vec<u8>, ImageError> {
    if size > MAX_EXTENSION {
        return Err(ImageError::TooLarge { what: what.to_string(), limit: MAX_EXTENSION });
    }
    let mut v = Vec::with_capacity(size as usize);
    e.read_to_end(&mut v).map_err(|err| ImageError::malformed(what, err.to_string()))?;
    // GNU long names carry a trailing NUL.
    while v.last() == Some(&0) {
        v.pop();
    }
    Ok(v)
}

fn num(path: &[u8], field: &str, v: std::io::Result<u64>) -> Result<u64, ImageError> {
    v.map_err(|e| bad(path, format!("bad {field} field: {e}")))
}

/// Calls `f` with each entry (other than extension headers) of the tar stream `r`,
/// at most `max_entries` of them.
pub(crate) fn walk<R: Read>(
    r: R,
    what: &str,
    max_entries: u64,
    mut f: impl FnMut(&Meta, &mut dyn Read) -> Result<(), ImageError>,
) -> Result<(), ImageError> {
    // Some writers (umoci 0.4) end the stream right after the last entry's data, without
    // its padding and the two zero blocks: an EOF there, once that entry was read whole,
    // ends the archive (the digests still cover every byte).
    let eof = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut ar = tar::Archive::new(EofTracked { inner: r, eof: eof.clone() });
    let entries = ar.entries().map_err(|e| ImageError::malformed(what, e.to_string()))?.raw(true);
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut pax: Option<Vec<u8>> = None;
    let mut count = 0u64;
    let mut complete = true;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(_) if complete && eof.get() => break,
            Err(e) => return Err(ImageError::malformed(what, format!("tar header: {e}"))),
        };
        complete = false;
        let h = entry.header().clone();
        let size = h.entry_size().map_err(|e| ImageError::malformed(what, format!("tar size: {e}")))?;
        match h.entry_type() {
            EntryType::GNULongName => {
                long_name = Some(read_ext("GNU long name", &mut entry, size)?);
                continue;
            }
            EntryType::GNULongLink => {
                long_link = Some(read_ext("GNU long link", &mut entry, size)?);
                continue;
            }
            EntryType::XHeader => {
                pax = Some(read_ext("pax header", &mut entry, size)?);
                continue;
            }
            EntryType::XGlobalHeader => {
                read_ext("pax global header", &mut entry, size)?;
                continue;
            }
            _ => {}
        }
        count += 1;
        if count > max_entries {
            return Err(ImageError::TooLarge { what: format!("{what} entry count"), limit: max_entries });
        }
        let mut m = Meta {
            path: long_name.take().unwrap_or_else(|| h.path_bytes().into_owned()),
            link: long_link.take().or_else(|| h.link_name_bytes().map(|c| c.into_owned())),
            kind: h.entry_type(),
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            size,
            data_pos: entry.raw_file_position(),
            dev: None,
            xattrs: Vec::new(),
        };
        m.mode = num(&m.path, "mode", h.mode().map(u64::from))? as u32;
        m.uid = num(&m.path, "uid", h.uid())?;
        m.gid = num(&m.path, "gid", h.gid())?;
        m.mtime = num(&m.path, "mtime", h.mtime())?;
        if matches!(m.kind, EntryType::Char | EntryType::Block) {
            let major = h.device_major().ok().flatten().unwrap_or(0);
            let minor = h.device_minor().ok().flatten().unwrap_or(0);
            m.dev = Some((major, minor));
        }
        if let Some(p) = pax.take() {
            apply_pax(&mut m, &p)?;
        }
        if m.path.len() > MAX_PATH || m.link.as_ref().is_some_and(|l| l.len() > MAX_PATH) {
            return Err(ImageError::TooLarge { what: "entry path".into(), limit: MAX_PATH as u64 });
        }
        f(&m, &mut entry)?;
        // Regular data was read to its end by `f` (or refused); other kinds carry none.
        complete = true;
    }
    Ok(())
}

struct EofTracked<R> {
    inner: R,
    eof: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for EofTracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof.set(true);
        }
        Ok(n)
    }
}

fn apply_pax(m: &mut Meta, data: &[u8]) -> Result<(), ImageError> {
    for ext in tar::PaxExtensions::new(data) {
        let ext = ext.map_err(|e| ImageError::malformed("pax header", e.to_string()))?;
        let (k, v) = (ext.key_bytes(), ext.value_bytes());
        let int = |v: &[u8]| -> Option<u64> {
            // mtime may be fractional: the whole seconds are enough.
            let s = std::str::from_utf8(v).ok()?;
            s.split('.').next()?.parse().ok()
        };
        match k {
            b"path" => m.path = v.to_vec(),
            b"linkpath" => m.link = Some(v.to_vec()),
            b"uid" => m.uid = int(v).ok_or_else(|| bad(&m.path, "bad pax uid"))?,
            b"gid" => m.gid = int(v).ok_or_else(|| bad(&m.path, "bad pax gid"))?,
            b"mtime" => m.mtime = int(v).unwrap_or(0),
            _ => {
                if let Some(name) = k.strip_prefix(b"SCHILY.xattr.") {
                    if m.xattrs.len() >= MAX_XATTRS {
                        return Err(ImageError::TooLarge { what: "xattrs of one entry".into(), limit: MAX_XATTRS as u64 });
                    }
                    m.xattrs.push((name.to_vec(), v.to_vec()));
                }
            }
        }
    }
    Ok(())
}
