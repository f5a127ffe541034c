//! Importing an image: an OCI layout directory, an oci-archive or a docker-archive (as
//! `podman save` and `skopeo copy` write them). Every blob's sha256 is checked while it
//! streams; layers (plain, gzip or zstd, told apart by their magic bytes) are unpacked
//! once each into a temporary directory of the store and renamed into place, so an
//! interrupted import leaves no half layer visible. The store keeps a normalized
//! manifest: its layers are the uncompressed tars, named by their diff_ids.

use std::io::{BufReader, Read};
use std::path::Path;

use oci_spec::image::{
    Descriptor, DescriptorBuilder, ImageConfiguration, ImageIndex, ImageManifest, ImageManifestBuilder, MediaType,
};

use super::digest::{read_verified, Digest, HashingReader};
use super::source::Source;
use super::store::{remove_any, ImageStore, MAX_CONFIG, MAX_MANIFEST};
use super::unpack::{unpack, UnpackOptions};
use super::{ImageError, ImageInfo};

/// The kind of thing being imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
    OciLayout,
    /// An OCI image layout in a tar file (`podman save --format oci-archive`).
    OciArchive,
    /// A docker-archive tar file (`manifest.json`; `podman save --format docker-archive`).
    DockerArchive,
}

/// How an image is imported.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub(crate) name: Option<String>,
    pub(crate) os: String,
    pub(crate) arch: String,
    pub(crate) device_nodes: bool,
    pub(crate) max_layer_bytes: u64,
    pub(crate) max_entries: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let mknod = caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_MKNOD).unwrap_or(false);
        ImportOptions {
            name: None,
            os: "linux".into(),
            arch: host_arch().into(),
            device_nodes: root && mknod,
            max_layer_bytes: 64 << 30,
            max_entries: 1 << 20,
        }
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

impl ImportOptions {
    /// Default options: this machine's platform, device nodes if the caller may make them.
    pub fn new() -> ImportOptions {
        ImportOptions::default()
    }

    /// The name (`name:tag`) the image gets; default: the name(s) the archive records.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The platform chosen from an index (default: this machine's, `linux`/`amd64` here).
    pub fn platform(mut self, os: impl Into<String>, arch: impl Into<String>) -> Self {
        self.os = os.into();
        self.arch = arch.into();
        self
    }

    /// Whether device nodes in layers are created (default: when the caller is root with
    /// `CAP_MKNOD`); otherwise such a layer fails with [`ImageError::DeviceNotPermitted`].
    pub fn device_nodes(mut self, yes: bool) -> Self {
        self.device_nodes = yes;
        self
    }

    /// The largest layer accepted, compressed and uncompressed (default 64 GiB).
    pub fn max_layer_bytes(mut self, n: u64) -> Self {
        self.max_layer_bytes = n;
        self
    }

    /// The most entries one layer may hold (default 2^20).
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n;
        self
    }
}

/// What the source says the image is, before its layers are read.
struct Parsed {
    names: Vec<String>,
    config: Vec<u8>,
    /// (blob name in the source, its digest if the source names one).
    layers: Vec<(String, Option<Digest>)>,
}

fn detect(path: &Path) -> Result<(ArchiveFormat, Source), ImageError> {
    if path.is_dir() {
        return Ok((ArchiveFormat::OciLayout, Source::dir(path)));
    }
    let src = Source::archive(path)?;
    if src.has("index.json") && src.has("oci-layout") {
        Ok((ArchiveFormat::OciArchive, src))
    } else if src.has("manifest.json") {
        Ok((ArchiveFormat::DockerArchive, src))
    } else {
        Err(ImageError::malformed("archive", "neither an OCI layout (index.json) nor a docker-archive (manifest.json)"))
    }
}

fn json_err(what: &str) -> impl FnOnce(oci_spec::OciSpecError) -> ImageError + '_ {
    move |e| ImageError::malformed(what, e.to_string())
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn desc_digest(d: &Descriptor) -> Result<Digest, ImageError> {
    Digest::parse(d.digest().as_ref())
}

fn is_index(mt: &MediaType) -> bool {
    matches!(mt, MediaType::ImageIndex) || mt.to_string() == "application/vnd.docker.distribution.manifest.list.v2+json"
}

fn parse_oci(src: &Source, opts: &ImportOptions) -> Result<Parsed, ImageError> {
    let (bytes, _) = read_verified("index.json", src.open("index.json")?, MAX_MANIFEST, None)?;
    let mut index = ImageIndex::from_reader(&bytes[..]).map_err(json_err("index.json"))?;
    let mut names = Vec::new();
    // An index may point at a nested index (one level: what skopeo and podman write).
    for depth in 0..2 {
        let fits = |d: &Descriptor| match d.platform() {
            Some(p) => p.os().to_string() == opts.os && p.architecture().to_string() == opts.arch,
            None => true,
        };
        let pick = index.manifests().iter().find(|d| fits(d)).cloned().ok_or_else(|| {
            ImageError::NotFound(format!("a manifest for {}/{} in the index", opts.os, opts.arch))
        })?;
        if let Some(n) = pick.annotations().as_ref().and_then(|a| a.get("org.opencontainers.image.ref.name")) {
            names.push(n.clone());
        }
        let d = desc_digest(&pick)?;
        let (bytes, _) = read_verified("manifest", src.open(&blob_name(&d))?, MAX_MANIFEST, Some(&d))?;
        if is_index(pick.media_type()) {
            if depth == 1 {
                return Err(ImageError::malformed("index", "indexes nested more than one level"));
            }
            index = ImageIndex::from_reader(&bytes[..]).map_err(json_err("nested index"))?;
            continue;
        }
        let m = ImageManifest::from_reader(&bytes[..]).map_err(json_err("manifest"))?;
        let cd = desc_digest(m.config())?;
        let (config, _) = read_verified("config", src.open(&blob_name(&cd))?, MAX_CONFIG, Some(&cd))?;
        let layers = m
            .layers()
            .iter()
            .map(|l| desc_digest(l).map(|d| (blob_name(&d), Some(d))))
            .collect::<Result<_, _>>()?;
        return Ok(Parsed { names, config, layers });
    }
    Err(ImageError::malformed("index", "no manifest"))
}

/// A docker-archive name that carries a digest: `<hex>.json`, `<hex>.tar`,
/// `<hex>/layer.tar` (no: that hex is a v1 id), `blobs/sha256/<hex>`.
fn digest_in_name(name: &str) -> Option<Digest> {
    let hex = name
        .strip_prefix("blobs/sha256/")
        .or_else(|| name.strip_suffix(".json"))
        .or_else(|| name.strip_suffix(".tar"))?;
    Digest::parse(&format!("sha256:{hex}")).ok()
}

fn parse_docker(src: &Source) -> Result<Parsed, ImageError> {
    let (bytes, _) = read_verified("manifest.json", src.open("manifest.json")?, MAX_MANIFEST, None)?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ImageError::malformed("manifest.json", e.to_string()))?;
    let first = v.as_array().and_then(|a| a.first()).ok_or_else(|| ImageError::malformed("manifest.json", "no image"))?;
    let str_of = |k: &str| first.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let list_of = |k: &str| -> Vec<String> {
        first.get(k).and_then(|x| x.as_array()).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let cname = str_of("Config").ok_or_else(|| ImageError::malformed("manifest.json", "no Config"))?;
    let named = digest_in_name(&cname);
    let (config, _) = read_verified("config", src.open(&cname)?, MAX_CONFIG, named.as_ref())?;
    // Layer digests: the config's diff_ids check them (uncompressed), below.
    let layers = list_of("Layers").into_iter().map(|l| (l.clone(), digest_in_name(&l).filter(|_| l.starts_with("blobs/")))).collect();
    Ok(Parsed { names: list_of("RepoTags"), config, layers })
}

/// Reads, checks and unpacks one layer blob into the store (unless it is there).
fn import_layer(
    store: &ImageStore,
    src: &Source,
    what: &str,
    blob: &str,
    blob_digest: Option<&Digest>,
    diff_id: &Digest,
    opts: &ImportOptions,
) -> Result<u64, ImageError> {
    let dst = store.layer_dir(diff_id);
    let tmp = store.tmp_path();
    std::fs::create_dir(&tmp).map_err(|e| ImageError::io("create layer directory", &tmp, e))?;
    let r = unpack_checked(src, what, blob, blob_digest, diff_id, &tmp, opts);
    let size = match r.and_then(|size| {
        // Recorded for the manifests of later imports of the same layer.
        let fd = super::fsat::open_dir(&tmp).map_err(|e| ImageError::io("open layer directory", &tmp, e))?;
        let _ = super::fsat::fsetxattr(std::os::fd::AsFd::as_fd(&fd), c"user.cocoon.size", size.to_string().as_bytes());
        Ok(size)
    }) {
        Ok(size) => size,
        Err(e) => {
            let _ = remove_any(&tmp);
            return Err(e);
        }
    };
    if dst.is_dir() {
        // Another importer placed it meanwhile: one copy is kept.
        let _ = remove_any(&tmp);
        return Ok(size);
    }
    match std::fs::rename(&tmp, &dst) {
        Ok(()) => Ok(size),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EEXIST | libc::ENOTEMPTY)) => {
            let _ = remove_any(&tmp);
            Ok(size)
        }
        Err(e) => {
            let _ = remove_any(&tmp);
            Err(ImageError::io("place layer", &dst, e))
        }
    }
}

fn unpack_checked(
    src: &Source,
    what: &str,
    blob: &str,
    blob_digest: Option<&Digest>,
    diff_id: &Digest,
    dir: &Path,
    opts: &ImportOptions,
) -> Result<u64, ImageError> {
    let mut packed = HashingReader::new(src.open(blob)?, opts.max_layer_bytes);
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match packed.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(ImageError::malformed(what.to_string(), e.to_string())),
        }
    }
    let head = std::io::Cursor::new(magic[..got].to_vec());
    let uopts = UnpackOptions { device_nodes: opts.device_nodes, max_entries: opts.max_entries };
    let size = {
        let raw = head.chain(&mut packed);
        let plain: Box<dyn Read + '_> = match magic[..got] {
            [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(raw))),
            [0x28, 0xb5, 0x2f, 0xfd] => Box::new(
                ruzstd::decoding::StreamingDecoder::new(BufReader::new(raw))
                    .map_err(|e| ImageError::malformed(what.to_string(), format!("zstd: {e}")))?,
            ),
            _ => Box::new(raw),
        };
        let mut plain = HashingReader::new(plain, opts.max_layer_bytes);
        unpack(&mut plain, dir, &uopts).map_err(|e| match e {
            ImageError::Malformed { reason, .. } if reason.contains("larger than its limit") => {
                ImageError::TooLarge { what: what.to_string(), limit: opts.max_layer_bytes }
            }
            e => e,
        })?;
        let (actual, size) = plain.finish().map_err(|e| ImageError::malformed(what.to_string(), e.to_string()))?;
        if actual != *diff_id {
            return Err(ImageError::DigestMismatch {
                what: format!("{what} (uncompressed)"),
                expected: diff_id.to_string(),
                actual: actual.to_string(),
            });
        }
        size
    };
    let (actual, _) = packed.finish().map_err(|e| ImageError::malformed(what.to_string(), e.to_string()))?;
    if let Some(exp) = blob_digest {
        if actual != *exp {
            return Err(ImageError::DigestMismatch { what: what.to_string(), expected: exp.to_string(), actual: actual.to_string() });
        }
    }
    Ok(size)
}

impl ImageStore {
    /// Imports the image at `path`: an OCI layout directory, an oci-archive or a
    /// docker-archive (`format` `None`: told by its contents). Returns the stored image.
    pub fn import(&self, path: impl AsRef<Path>, format: Option<ArchiveFormat>, opts: &ImportOptions) -> Result<ImageInfo, ImageError> {
        let path = path.as_ref();
        let (found, src) = detect(path)?;
        if let Some(f) = format {
            if f != found {
                return Err(ImageError::malformed("archive", format!("{} is a {found:?}, not a {f:?}", path.display())));
            }
        }
        let parsed = match found {
            ArchiveFormat::DockerArchive => parse_docker(&src)?,
            _ => parse_oci(&src, opts)?,
        };
        let config = ImageConfiguration::from_reader(&parsed.config[..]).map_err(json_err("config"))?;
        let diff_ids: Vec<Digest> = config.rootfs().diff_ids().iter().map(|d| Digest::parse(d)).collect::<Result<_, _>>()?;
        if diff_ids.len() != parsed.layers.len() {
            return Err(ImageError::malformed("config", format!("{} diff_ids for {} layers", diff_ids.len(), parsed.layers.len())));
        }
        // Shared: a collection cannot remove a layer placed here before the name is.
        let _lock = self.lock(false)?;
        let mut descs = Vec::new();
        for (i, ((blob, bd), diff)) in parsed.layers.iter().zip(&diff_ids).enumerate() {
            let what = format!("layer {i}");
            let size = if self.layer_dir(diff).is_dir() {
                self.layer_size(diff)
            } else {
                import_layer(self, &src, &what, blob, bd.as_ref(), diff, opts)?
            };
            descs.push(descriptor_of(MediaType::ImageLayer, diff, size)?);
        }
        let names: Vec<String> = match &opts.name {
            Some(n) => vec![n.clone()],
            None => parsed.names.clone(),
        };
        self.store_config_bytes(&parsed.config, descs, &names)
    }

    /// Stores an image: its config (as JSON), a manifest of `layers`, and `names` for it.
    pub(crate) fn store_image(&self, config: &serde_json::Value, layers: Vec<Descriptor>, names: &[String]) -> Result<ImageInfo, ImageError> {
        let bytes = serde_json::to_vec(config).map_err(|e| ImageError::malformed("config", e.to_string()))?;
        self.store_config_bytes(&bytes, layers, names)
    }

    fn store_config_bytes(&self, config: &[u8], layers: Vec<Descriptor>, names: &[String]) -> Result<ImageInfo, ImageError> {
        let cd = self.put_blob(config)?;
        let diff_ids = layers.iter().map(|l| l.digest().to_string()).collect();
        let manifest = manifest_of(&cd, config.len() as u64, layers)?;
        let mbytes = manifest.to_string().map_err(json_err("manifest"))?;
        let md = self.put_blob(mbytes.as_bytes())?;
        let names: Vec<String> = names.iter().map(|n| normalize_name(n)).collect();
        self.update_refs(|refs| {
            for n in &names {
                refs.insert(n.clone(), md.to_string());
            }
        })?;
        Ok(ImageInfo { names, manifest_digest: md.to_string(), config_digest: cd.to_string(), layers: diff_ids })
    }
}

/// The stored form of a manifest: the config and the uncompressed layers.
pub(crate) fn manifest_of(config: &Digest, size: u64, layers: Vec<Descriptor>) -> Result<ImageManifest, ImageError> {
    ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor_of(MediaType::ImageConfig, config, size)?)
        .layers(layers)
        .build()
        .map_err(json_err("manifest"))
}

fn normalize_name(n: &str) -> String {
    if n.rsplit('/').next().is_some_and(|last| last.contains(':')) || n.contains('@') {
        n.to_string()
    } else {
        format!("{n}:latest")
    }
}

pub(crate) fn descriptor_of(mt: MediaType, d: &Digest, size: u64) -> Result<Descriptor, ImageError> {
    let digest: oci_spec::image::Digest = d.to_string().parse().map_err(json_err("digest"))?;
    DescriptorBuilder::default().media_type(mt).digest(digest).size(size).build().map_err(json_err("descriptor"))
}
