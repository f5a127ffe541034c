//! Commit (a container's writable layer → a new image: the parent's layers plus this one,
//! optionally a new Cmd / Env) and export (an image → an OCI layout directory or an
//! oci-archive, which `podman load` and `skopeo copy` read).
//!
//! Layers are stored unpacked, so export writes each layer's tar afresh from its directory
//! (`layer_tar.rs`): the exported image has new diff_ids and so a new image id; its
//! contents are the same.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use oci_spec::image::MediaType;

use super::digest::Digest;
use super::import::descriptor_of;
use super::layer_tar::write_layer_tar;
use super::store::{remove_any, ImageStore};
use super::unpack::{unpack, UnpackOptions};
use super::{ImageError, ImageInfo};

/// What a commit changes in the parent's config.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub(crate) cmd: Option<Vec<String>>,
    pub(crate) env: Vec<String>,
}

impl CommitOptions {
    /// Default: the parent's config unchanged.
    pub fn new() -> CommitOptions {
        CommitOptions::default()
    }

    /// The new image's Cmd.
    pub fn cmd(mut self, argv: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.cmd = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `KEY=VALUE` in the new image's Env (replacing the parent's value of KEY).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push(format!("{key}={value}"));
        self
    }
}

/// How an image is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportFormat {
    /// An OCI image layout directory (created; must not exist).
    OciLayout,
    /// An OCI layout in one tar file (created; must not exist).
    OciArchive,
}

/// Writes `data` to a new file in the store's tmp/ while hashing it.
struct HashingFile {
    f: std::fs::File,
    h: sha2::Sha256,
    n: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let n = self.f.write(buf)?;
        self.h.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.f.flush()
    }
}

impl ImageStore {
    /// A tar of the overlay-form directory `dir` in a temp file: (path, diff_id, size).
    fn tar_of(&self, dir: &Path) -> Result<(PathBuf, Digest, u64), ImageError> {
        use sha2::Digest as _;
        let tmp = self.tmp_path();
        let f = std::fs::File::create(&tmp).map_err(|e| ImageError::io("create layer tar", &tmp, e))?;
        let r = write_layer_tar(dir, HashingFile { f, h: sha2::Sha256::new(), n: 0 });
        match r {
            Ok(hf) => {
                let d = Digest::parse(&format!("sha256:{}", super::digest::hex(&hf.h.finalize())))?;
                Ok((tmp, d, hf.n))
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// Commits the writable layer at `writable` (a [`crate::Container::writable_layer`]
    /// directory, or its `upper`) on top of the image `parent` as the image `name`.
    pub fn commit(&self, writable: &Path, parent: &str, name: &str, opts: &CommitOptions) -> Result<ImageInfo, ImageError> {
        // Not following a symlink: a container may have made `upper` in its own upper dir.
        let own_upper = std::fs::symlink_metadata(writable.join("upper")).is_ok_and(|m| m.is_dir())
            && std::fs::symlink_metadata(writable.join("owner")).is_ok_and(|m| m.is_file());
        let upper = if own_upper { writable.join("upper") } else { writable.to_path_buf() };
        let _lock = self.lock(false)?;
        let pd = self.resolve(parent)?;
        let (m, _, cd) = self.manifest(&pd)?;
        let (tar, diff, size) = self.tar_of(&upper)?;
        let placed = self.place_layer_from(&tar, &diff, size);
        let _ = std::fs::remove_file(&tar);
        placed?;
        let mut config: serde_json::Value = serde_json::from_slice(&self.get_blob(&cd, super::store::MAX_CONFIG)?)
            .map_err(|e| ImageError::malformed("config", e.to_string()))?;
        edit_config(&mut config, &[diff.to_string()], opts, true)?;
        let mut layers: Vec<_> = m.layers().to_vec();
        layers.push(descriptor_of(MediaType::ImageLayer, &diff, size)?);
        self.store_image(&config, layers, &[name.to_string()])
    }

    /// Commits the changes of `container` (run from an image of this store, ended or not
    /// yet deleted; its files should not be changing) on top of the image it was run
    /// from, as the image `name`.
    pub fn commit_container(&self, container: &crate::Container, name: &str, opts: &CommitOptions) -> Result<ImageInfo, ImageError> {
        let dir = container
            .writable_layer()
            .ok_or_else(|| ImageError::NotFound("a writable layer: the container was not run from an image".into()))?;
        let parent = super::writable::read_owner(dir)
            .1
            .ok_or_else(|| ImageError::malformed("writable layer", "its owner record names no image"))?;
        self.commit(dir, &parent, name, opts)
    }

    /// Unpacks the tar file `tar` (diff_id `diff`) into the store as a layer, unless there.
    fn place_layer_from(&self, tar: &Path, diff: &Digest, size: u64) -> Result<(), ImageError> {
        let dst = self.layer_dir(diff);
        if dst.is_dir() {
            return Ok(());
        }
        let tmp = self.tmp_path();
        std::fs::create_dir(&tmp).map_err(|e| ImageError::io("create layer directory", &tmp, e))?;
        let r = std::fs::File::open(tar)
            .map_err(|e| ImageError::io("open layer tar", tar, e))
            .and_then(|f| unpack(std::io::BufReader::new(f), &tmp, &UnpackOptions { device_nodes: true, max_entries: u64::MAX }))
            .and_then(|()| {
                let fd = super::fsat::open_dir(&tmp).map_err(|e| ImageError::io("open layer directory", &tmp, e))?;
                let _ = super::fsat::fsetxattr(fd.as_fd(), c"user.cocoon.size", size.to_string().as_bytes());
                std::fs::rename(&tmp, &dst).or_else(|e| if dst.is_dir() { Ok(()) } else { Err(e) })
                    .map_err(|e| ImageError::io("place layer", &dst, e))
            });
        if r.is_err() || tmp.exists() {
            let _ = remove_any(&tmp);
        }
        r
    }

    /// Exports the image `reference` to `dest` (which must not exist).
    pub fn export(&self, reference: &str, dest: &Path, format: ExportFormat) -> Result<(), ImageError> {
        if std::fs::symlink_metadata(dest).is_ok() {
            return Err(ImageError::io("export", dest, std::io::Error::from_raw_os_error(libc::EEXIST)));
        }
        // Shared: no collection removes a layer while it is written out.
        let _lock = self.lock(false)?;
        let md = self.resolve(reference)?;
        let (m, _, cd) = self.manifest(&md)?;
        let staging = match format {
            ExportFormat::OciLayout => dest.to_path_buf(),
            ExportFormat::OciArchive => self.tmp_path(),
        };
        std::fs::create_dir(&staging).map_err(|e| ImageError::io("create export directory", &staging, e))?;
        let r = self.write_layout(&m, &cd, reference, &staging).and_then(|()| match format {
            ExportFormat::OciLayout => Ok(()),
            ExportFormat::OciArchive => tar_layout(&staging, dest),
        });
        if format == ExportFormat::OciArchive || r.is_err() {
            let _ = remove_any(&staging);
        }
        if r.is_err() && format == ExportFormat::OciArchive {
            let _ = std::fs::remove_file(dest);
        }
        r
    }

    fn write_layout(&self, m: &oci_spec::image::ImageManifest, cd: &Digest, name: &str, dir: &Path) -> Result<(), ImageError> {
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| ImageError::io("create export directory", &blobs, e))?;
        let put = |bytes: &[u8]| -> Result<Digest, ImageError> {
            let d = Digest::of(bytes);
            std::fs::write(blobs.join(d.hex()), bytes).map_err(|e| ImageError::io("write blob", blobs.join(d.hex()), e))?;
            Ok(d)
        };
        let mut layers = Vec::new();
        let mut diffs = Vec::new();
        for l in m.layers() {
            let ld = Digest::parse(l.digest().as_ref())?;
            let (tar, diff, size) = self.tar_of(&self.layer_dir(&ld))?;
            let dst = blobs.join(diff.hex());
            let moved = std::fs::rename(&tar, &dst).or_else(|_| std::fs::copy(&tar, &dst).map(drop));
            let _ = std::fs::remove_file(&tar);
            moved.map_err(|e| ImageError::io("write layer blob", &dst, e))?;
            layers.push(descriptor_of(MediaType::ImageLayer, &diff, size)?);
            diffs.push(diff.to_string());
        }
        let mut config: serde_json::Value = serde_json::from_slice(&self.get_blob(cd, super::store::MAX_CONFIG)?)
            .map_err(|e| ImageError::malformed("config", e.to_string()))?;
        edit_config(&mut config, &diffs, &CommitOptions::default(), false)?;
        let cbytes = serde_json::to_vec(&config).map_err(|e| ImageError::malformed("config", e.to_string()))?;
        let cdig = put(&cbytes)?;
        let manifest = super::import::manifest_of(&cdig, cbytes.len() as u64, layers)?;
        let mbytes = manifest.to_string().map_err(|e| ImageError::malformed("manifest", e.to_string()))?;
        let mdig = put(mbytes.as_bytes())?;
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": mdig.to_string(),
                "size": mbytes.len(),
                "annotations": {"org.opencontainers.image.ref.name": name},
            }],
        });
        std::fs::write(dir.join("index.json"), index.to_string()).map_err(|e| ImageError::io("write index.json", dir, e))?;
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .map_err(|e| ImageError::io("write oci-layout", dir, e))
    }
}

/// Appends `diffs` to the config's diff_ids (or replaces them, `append` false) and
/// applies Cmd / Env.
fn edit_config(c: &mut serde_json::Value, diffs: &[String], opts: &CommitOptions, append: bool) -> Result<(), ImageError> {
    let bad = || ImageError::malformed("config", "not an image config object");
    let obj = c.as_object_mut().ok_or_else(bad)?;
    let rootfs = obj.entry("rootfs").or_insert_with(|| serde_json::json!({"type": "layers", "diff_ids": []}));
    let ids = rootfs.as_object_mut().ok_or_else(bad)?.entry("diff_ids").or_insert_with(|| serde_json::json!([]));
    let arr = ids.as_array_mut().ok_or_else(bad)?;
    if !append {
        arr.clear();
    }
    arr.extend(diffs.iter().map(|d| serde_json::Value::String(d.clone())));
    let cfg = obj.entry("config").or_insert_with(|| serde_json::json!({}));
    let cfg = cfg.as_object_mut().ok_or_else(bad)?;
    if let Some(cmd) = &opts.cmd {
        cfg.insert("Cmd".into(), serde_json::json!(cmd));
    }
    if !opts.env.is_empty() {
        let mut env: Vec<String> = cfg
            .get("Env")
            .and_then(|e| e.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        for kv in &opts.env {
            let key = kv.split('=').next().unwrap_or("");
            env.retain(|e| e.split('=').next() != Some(key));
            env.push(kv.clone());
        }
        cfg.insert("Env".into(), serde_json::json!(env));
    }
    // The history must match the layers for some readers: drop it rather than lie.
    obj.remove("history");
    Ok(())
}

/// Writes the layout directory `dir` as the tar file `dest` (created, must not exist).
fn tar_layout(dir: &Path, dest: &Path) -> Result<(), ImageError> {
    let f = std::fs::OpenOptions::new().write(true).create_new(true).open(dest).map_err(|e| ImageError::io("create archive", dest, e))?;
    let mut b = tar::Builder::new(std::io::BufWriter::new(f));
    b.mode(tar::HeaderMode::Deterministic);
    let add = |b: &mut tar::Builder<_>, rel: &str| -> std::io::Result<()> { b.append_path_with_name(dir.join(rel), rel) };
    let r = (|| -> std::io::Result<()> {
        add(&mut b, "oci-layout")?;
        add(&mut b, "index.json")?;
        for e in std::fs::read_dir(dir.join("blobs/sha256"))? {
            let e = e?;
            let rel = format!("blobs/sha256/{}", e.file_name().to_string_lossy());
            add(&mut b, &rel)?;
        }
        b.into_inner()?.flush()
    })();
    r.map_err(|e| ImageError::io("write archive", dest, e))
}
