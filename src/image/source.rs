//! Where an import reads blobs from: an OCI layout directory, or a tar archive (an
//! oci-archive is a layout in a tar; a docker-archive has its own names) indexed once by
//! member name so each blob is read with one seek, in any order.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::tarwalk;
use super::ImageError;

/// The most members an image archive may hold.
const MAX_MEMBERS: u64 = 100_000;

/// A set of named files: a directory or an indexed tar archive.
pub(crate) enum Source {
    Dir(PathBuf),
    Archive { path: PathBuf, members: HashMap<String, (u64, u64)> },
}

fn clean(name: &str) -> String {
    name.split('/').filter(|c| !c.is_empty() && *c != ".").collect::<Vec<_>>().join("/")
}

impl Source {
    pub(crate) fn dir(path: &Path) -> Source {
        Source::Dir(path.to_path_buf())
    }

    /// Indexes the regular members of the tar archive at `path` (offset and size).
    pub(crate) fn archive(path: &Path) -> Result<Source, ImageError> {
        let f = File::open(path).map_err(|e| ImageError::io("open archive", path, e))?;
        let mut members = HashMap::new();
        tarwalk::walk(std::io::BufReader::with_capacity(64 << 10, f), "archive", MAX_MEMBERS, |m, _| {
            if matches!(m.kind, EntryType::Regular | EntryType::Continuous) {
                members.insert(clean(&String::from_utf8_lossy(&m.path)), (m.data_pos, m.size));
            }
            Ok(())
        })?;
        Ok(Source::Archive { path: path.to_path_buf(), members })
    }

    /// Whether `name` exists.
    pub(crate) fn has(&self, name: &str) -> bool {
        match self {
            Source::Dir(d) => d.join(name).is_file(),
            Source::Archive { members, .. } => members.contains_key(&clean(name)),
        }
    }

    /// Opens `name` (a path built from a validated digest, or a docker-archive's own
    /// names, looked up in the index: never a filesystem path for an archive).
    pub(crate) fn open(&self, name: &str) -> Result<Box<dyn Read>, ImageError> {
        match self {
            Source::Dir(d) => {
                let p = d.join(clean(name));
                if clean(name).split('/').any(|c| c == "..") {
                    return Err(ImageError::malformed("layout", format!("{name:?} leaves the layout")));
                }
                let f = File::open(&p).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => ImageError::malformed("layout", format!("missing blob {name}")),
                    _ => ImageError::io("open blob", &p, e),
                })?;
                Ok(Box::new(std::io::BufReader::with_capacity(64 << 10, f)))
            }
            Source::Archive { path, members } => {
                let &(off, size) = members
                    .get(&clean(name))
                    .ok_or_else(|| ImageError::malformed("archive", format!("missing member {name}")))?;
                let mut f = File::open(path).map_err(|e| ImageError::io("open archive", path, e))?;
                f.seek(SeekFrom::Start(off)).map_err(|e| ImageError::io("seek archive", path, e))?;
                Ok(Box::new(std::io::BufReader::with_capacity(64 << 10, f.take(size))))
            }
        }
    }
}
