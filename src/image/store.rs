//! The image store: a directory of content-addressed layers and OCI JSON blobs, with a
//! refs index (see the module docs for the layout), safe for several processes at once.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::image::{ImageConfiguration, ImageManifest};

use super::digest::{read_verified, Digest};
use super::lock::StoreLock;
use super::writable::{read_owner, Owner, CONTAINERS_DIR};
use super::ImageError;
use crate::rootfs::ImageRootfs;

/// The largest manifest or index accepted (bytes).
pub(crate) const MAX_MANIFEST: u64 = 4 << 20;
/// The largest image config accepted (bytes).
pub(crate) const MAX_CONFIG: u64 = 16 << 20;

/// An open image store.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

/// One image in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The names (`name:tag`) that refer to it, sorted.
    pub names: Vec<String>,
    /// The digest of its (stored) manifest: `sha256:<hex>`.
    pub manifest_digest: String,
    /// The digest of its config (the image id).
    pub config_digest: String,
    /// Its layers' uncompressed digests (diff_ids), bottom-most first.
    pub layers: Vec<String>,
}

/// What a garbage collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Layers no image or live container uses.
    pub layers: usize,
    /// Manifest and config blobs no name refers to.
    pub blobs: usize,
    /// Writable layers whose process is gone.
    pub containers: usize,
}

fn io<'a>(op: &'static str, p: &'a Path) -> impl FnOnce(std::io::Error) -> ImageError + 'a {
    move |e| ImageError::io(op, p, e)
}

impl ImageStore {
    /// Opens (creating it if needed, mode 0700) the store at `dir`, and removes what
    /// interrupted imports left in its `tmp/` (those whose process is gone).
    pub fn open(dir: impl Into<PathBuf>) -> Result<ImageStore, ImageError> {
        let root = dir.into();
        // 0700: layers hold the images' setuid binaries and the containers' files; host
        // users must not reach them through the store (an existing directory is kept as is).
        use std::os::unix::fs::DirBuilderExt;
        let mut mk = std::fs::DirBuilder::new();
        mk.mode(0o700).recursive(true);
        for sub in ["", "blobs", "blobs/sha256", "layers", "tmp", CONTAINERS_DIR] {
            let p = root.join(sub);
            mk.create(&p).map_err(io("create store", &p))?;
        }
        let store = ImageStore { root };
        store.clean_tmp()?;
        Ok(store)
    }

    /// Opens the store at [`super::DEFAULT_STORE`].
    pub fn open_default() -> Result<ImageStore, ImageError> {
        ImageStore::open(super::DEFAULT_STORE)
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    pub(crate) fn lock(&self, exclusive: bool) -> Result<StoreLock, ImageError> {
        StoreLock::take(&self.root, exclusive)
    }

    /// A new temporary name below `tmp/`, owned by this process (`<pid>.<start>.<nonce>`).
    pub(crate) fn tmp_path(&self) -> PathBuf {
        let pid = std::process::id() as i32;
        let start = crate::owner::process_start_time(pid).unwrap_or(0);
        self.root.join("tmp").join(format!("{pid}.{start}.{:016x}", crate::owner::random_u64()))
    }

    fn clean_tmp(&self) -> Result<(), ImageError> {
        let tmp = self.root.join("tmp");
        for e in std::fs::read_dir(&tmp).map_err(io("read store tmp", &tmp))?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let mut it = name.split('.');
            let alive = match (it.next().and_then(|p| p.parse().ok()), it.next().and_then(|s| s.parse::<u64>().ok())) {
                (Some(pid), Some(start)) => crate::owner::process_start_time(pid) == Some(start),
                _ => false,
            };
            if !alive {
                let _ = remove_any(&e.path());
            }
        }
        Ok(())
    }

    pub(crate) fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(diff_id.hex())
    }

    /// The uncompressed size recorded on a stored layer (`user.cocoon.size`), or 0.
    pub(crate) fn layer_size(&self, diff_id: &Digest) -> u64 {
        let Ok(fd) = super::fsat::open_dir(&self.layer_dir(diff_id)) else { return 0 };
        match super::fsat::fgetxattr(std::os::fd::AsFd::as_fd(&fd), c"user.cocoon.size") {
            Ok(Some(v)) => String::from_utf8_lossy(&v).parse().unwrap_or(0),
            _ => 0,
        }
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    /// Stores a JSON blob (fsynced, renamed into place); an existing one is kept.
    pub(crate) fn put_blob(&self, bytes: &[u8]) -> Result<Digest, ImageError> {
        let d = Digest::of(bytes);
        let dst = self.blob_path(&d);
        if dst.exists() {
            return Ok(d);
        }
        let tmp = self.tmp_path();
        let mut f = std::fs::File::create(&tmp).map_err(io("write blob", &tmp))?;
        let r = f.write_all(bytes).and_then(|_| f.sync_all()).and_then(|_| std::fs::rename(&tmp, &dst));
        if let Err(e) = r {
            let _ = std::fs::remove_file(&tmp);
            return Err(ImageError::io("write blob", &dst, e));
        }
        Ok(d)
    }

    pub(crate) fn get_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, ImageError> {
        let p = self.blob_path(d);
        let f = std::fs::File::open(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ImageError::NotFound(d.to_string()),
            _ => ImageError::io("read blob", &p, e),
        })?;
        Ok(read_verified("stored blob", f, limit, Some(d))?.0)
    }

    fn refs(&self) -> Result<BTreeMap<String, String>, ImageError> {
        let p = self.root.join("refs.json");
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| ImageError::malformed("refs.json", e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(ImageError::io("read refs", &p, e)),
        }
    }

    /// Read-modify-write of the refs index under its own lock (atomic rename).
    pub(crate) fn update_refs(&self, f: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<(), ImageError> {
        let lock_path = self.root.join("refs.lock");
        let lf = std::fs::File::create(&lock_path).map_err(io("open refs lock", &lock_path))?;
        // SAFETY: flock on an fd we own (released when it closes).
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lf), libc::LOCK_EX) } != 0 {
            return Err(ImageError::io("flock refs", &lock_path, std::io::Error::last_os_error()));
        }
        let mut refs = self.refs()?;
        f(&mut refs);
        let bytes = serde_json::to_vec_pretty(&refs).map_err(|e| ImageError::malformed("refs.json", e.to_string()))?;
        let tmp = self.tmp_path();
        let dst = self.root.join("refs.json");
        let r = std::fs::File::create(&tmp)
            .and_then(|mut t| t.write_all(&bytes).and_then(|_| t.sync_all()))
            .and_then(|_| std::fs::rename(&tmp, &dst));
        if let Err(e) = r {
            let _ = std::fs::remove_file(&tmp);
            return Err(ImageError::io("write refs", &dst, e));
        }
        Ok(())
    }

    /// The manifest digest `reference` names: `name:tag`, `name` (`:latest`), a name
    /// without its registry prefix (`foo:1` for `localhost/foo:1`, if only one matches),
    /// or a manifest or config digest.
    pub fn resolve(&self, reference: &str) -> Result<String, ImageError> {
        let refs = self.refs()?;
        if let Some(d) = refs.get(reference) {
            return Ok(d.clone());
        }
        let tagged = if reference.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            reference.to_string()
        } else {
            format!("{reference}:latest")
        };
        if let Some(d) = refs.get(&tagged) {
            return Ok(d.clone());
        }
        let suffix = format!("/{tagged}");
        let mut by_suffix: Vec<&String> = refs.iter().filter(|(k, _)| k.ends_with(&suffix)).map(|(_, v)| v).collect();
        by_suffix.dedup();
        if by_suffix.len() == 1 {
            return Ok(by_suffix[0].clone());
        }
        if Digest::parse(reference).is_ok() {
            for info in self.list()? {
                if info.manifest_digest == reference || info.config_digest == reference {
                    return Ok(info.manifest_digest);
                }
            }
        }
        Err(ImageError::NotFound(reference.to_string()))
    }

    pub(crate) fn manifest(&self, digest: &str) -> Result<(ImageManifest, ImageConfiguration, Digest), ImageError> {
        let md = Digest::parse(digest)?;
        let m = ImageManifest::from_reader(&self.get_blob(&md, MAX_MANIFEST)?[..])
            .map_err(|e| ImageError::malformed("stored manifest", e.to_string()))?;
        let cd = Digest::parse(m.config().digest().as_ref())?;
        let c = ImageConfiguration::from_reader(&self.get_blob(&cd, MAX_CONFIG)?[..])
            .map_err(|e| ImageError::malformed("stored config", e.to_string()))?;
        Ok((m, c, cd))
    }

    /// Every image (one per manifest any name refers to).
    pub fn list(&self) -> Result<Vec<ImageInfo>, ImageError> {
        let mut by_manifest: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, d) in self.refs()? {
            by_manifest.entry(d).or_default().push(name);
        }
        let mut out = Vec::new();
        for (digest, names) in by_manifest {
            let (m, _, cd) = self.manifest(&digest)?;
            out.push(ImageInfo {
                names,
                manifest_digest: digest,
                config_digest: cd.to_string(),
                layers: m.layers().iter().map(|l| l.digest().to_string()).collect(),
            });
        }
        Ok(out)
    }

    /// Removes the name `reference` (or, given a digest, every name of that image). Its
    /// layers stay until [`ImageStore::gc`] finds that nothing else uses them.
    pub fn remove(&self, reference: &str) -> Result<(), ImageError> {
        let _lock = self.lock(true)?;
        let digest = self.resolve(reference)?;
        let exact = self.refs()?.contains_key(reference);
        self.update_refs(|refs| {
            if exact {
                refs.remove(reference);
            } else {
                refs.retain(|_, d| *d != digest);
            }
        })
    }

    /// Removes every layer and blob that no name and no live (or kept) container's
    /// writable layer refers to, and writable layers whose process is gone.
    pub fn gc(&self) -> Result<GcReport, ImageError> {
        let _lock = self.lock(true)?;
        let mut report = GcReport::default();
        let mut manifests: HashSet<String> = self.refs()?.into_values().collect();
        let cdir = self.root.join(CONTAINERS_DIR);
        for e in std::fs::read_dir(&cdir).map_err(io("read containers", &cdir))?.flatten() {
            match read_owner(&e.path()) {
                (Owner::Stale, _) => {
                    if remove_any(&e.path()).is_ok() {
                        report.containers += 1;
                    }
                }
                (_, image) => manifests.extend(image),
            }
        }
        let (mut layers, mut blobs) = (HashSet::new(), HashSet::new());
        for d in &manifests {
            let Ok(md) = Digest::parse(d) else { continue };
            // A manifest that cannot be read keeps nothing: its blobs are gone or corrupt.
            if let Ok((m, _, cd)) = self.manifest(d) {
                blobs.insert(md.hex().to_string());
                blobs.insert(cd.hex().to_string());
                for l in m.layers() {
                    if let Ok(ld) = Digest::parse(l.digest().as_ref()) {
                        layers.insert(ld.hex().to_string());
                    }
                }
            }
        }
        for (sub, keep, count) in [("layers", &layers, &mut report.layers), ("blobs/sha256", &blobs, &mut report.blobs)] {
            let dir = self.root.join(sub);
            for e in std::fs::read_dir(&dir).map_err(io("read store", &dir))?.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !keep.contains(&name) {
                    // Renamed out of sight first: a half-removed layer is never visible.
                    let trash = self.tmp_path();
                    if std::fs::rename(e.path(), &trash).is_ok() {
                        let _ = remove_any(&trash);
                        *count += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// The image `reference` as a root filesystem: its layers (top-most first) as
    /// read-only overlay lowers, shared with every other container of the image, and a
    /// fresh writable layer in this store per container.
    pub fn rootfs(&self, reference: &str) -> Result<ImageRootfs, ImageError> {
        let digest = self.resolve(reference)?;
        let (m, _, _) = self.manifest(&digest)?;
        let mut lower = Vec::new();
        for l in m.layers().iter().rev() {
            let d = Digest::parse(l.digest().as_ref())?;
            let dir = self.layer_dir(&d);
            if !dir.is_dir() {
                return Err(ImageError::NotFound(format!("layer {d} of {reference}")));
            }
            lower.push(dir);
        }
        if lower.is_empty() {
            return Err(ImageError::malformed("image", format!("{reference} has no layers")));
        }
        Ok(ImageRootfs::new(self.root.clone(), lower, digest))
    }

    /// The image `reference`'s config (Entrypoint, Cmd, Env, WorkingDir, User).
    pub fn defaults(&self, reference: &str) -> Result<super::ImageDefaults, ImageError> {
        let digest = self.resolve(reference)?;
        let (_, c, _) = self.manifest(&digest)?;
        Ok(super::ImageDefaults::from_config(&c))
    }
}

/// Removes a file or a whole directory tree (std's removal does not follow symlinks).
pub(crate) fn remove_any(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(md) if md.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
