//! Image fixtures built at test time with the machine's podman / skopeo / umoci, and
//! hand-made layer tarballs (nothing committed).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A podman with the machine's workarounds (rlimits podman cannot raise without
/// CAP_SYS_RESOURCE, cgroupfs manager, file events), set through CONTAINERS_CONF.
pub struct Podman {
    conf: PathBuf,
    names: Vec<String>,
}

impl Podman {
    pub fn new(dir: &Path) -> Podman {
        let conf = dir.join("containers.conf");
        std::fs::write(
            &conf,
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        Podman { conf, names: Vec::new() }
    }

    /// Runs podman with `args`, returning stdout; panics with stderr on failure.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("podman")
            .env("CONTAINERS_CONF", &self.conf)
            .args(args)
            .output()
            .expect("podman is installed (.ci/deps.sh)");
        assert!(out.status.success(), "podman {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A unique image name, removed (`podman rmi`) when this is dropped.
    pub fn unique_name(&mut self, tag: &str) -> String {
        let n = format!("localhost/cocoon-test-{}-{}-{tag}:latest", std::process::id(), self.names.len());
        self.names.push(n.clone());
        n
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("podman").env("CONTAINERS_CONF", &self.conf).args(["rmi", "-f", n]).output();
        }
    }
}

/// The busybox tree of the image tests: `bin/busybox` and applet links, /etc/passwd with
/// root, nobody (65534:65534) and alice (1234:2345), /work, /tmp.
pub fn busybox_tree(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "work", "data/old"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/busybox", dir.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat", "ls", "echo", "id", "pwd", "env", "test", "stat", "touch", "rm", "mkdir", "find", "sort", "sleep"] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\nalice:x:1234:2345::/work:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\nalice:x:2345:\n").unwrap();
    std::fs::write(dir.join("etc/removed"), "gone in the upper layer\n").unwrap();
    std::fs::write(dir.join("data/old/file"), "old\n").unwrap();
    std::fs::write(dir.join("work/hello"), "hello\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::set_permissions(dir.join("work"), std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// `tar -C dir -cf out .` (GNU tar, numeric owners).
pub fn tar_dir(dir: &Path, out: &Path) {
    let st = Command::new("tar").args(["--numeric-owner", "-C"]).arg(dir).arg("-cf").arg(out).arg(".").status().unwrap();
    assert!(st.success());
}

/// Builds the one-layer busybox image with podman (ENV FOO=bar, WORKDIR /work, USER
/// nobody) and returns its name.
pub fn podman_busybox(p: &mut Podman, work: &Path) -> String {
    let tree = work.join("tree");
    busybox_tree(&tree);
    let tarball = work.join("rootfs.tar");
    tar_dir(&tree, &tarball);
    let name = p.unique_name("busybox");
    p.run(&[
        "import",
        "--change",
        "ENV FOO=bar",
        "--change",
        "WORKDIR /work",
        "--change",
        "USER nobody",
        "--change",
        "CMD [\"/bin/sh\", \"-c\", \"echo default-cmd\"]",
        tarball.to_str().unwrap(),
        &name,
    ]);
    name
}

/// `podman save --format FORMAT -o OUT NAME`.
pub fn podman_save(p: &Podman, name: &str, format: &str, out: &Path) {
    p.run(&["save", "--format", format, "-o", out.to_str().unwrap(), name]);
}

/// `skopeo copy SRC DST`.
pub fn skopeo_copy(src: &str, dst: &str) {
    let out = Command::new("skopeo").args(["copy", "--quiet", src, dst]).output().expect("skopeo is installed");
    assert!(out.status.success(), "skopeo copy {src} {dst}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs a command, asserting success.
pub fn cmd(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog).args(args).output().unwrap_or_else(|e| panic!("{prog}: {e}"));
    assert!(out.status.success(), "{prog} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `sha256:<hex>` of `b`.
pub fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(b);
    format!("sha256:{}", d.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

/// One layer of a hand-made image: its blob (as stored) and its uncompressed tar.
pub struct Layer {
    pub blob: Vec<u8>,
    pub tar: Vec<u8>,
}

impl Layer {
    pub fn plain(tar: Vec<u8>) -> Layer {
        Layer { blob: tar.clone(), tar }
    }
    pub fn gzip(tar: Vec<u8>) -> Layer {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar).unwrap();
        Layer { blob: e.finish().unwrap(), tar }
    }
}

/// Writes an OCI layout at `dir` of `layers` (bottom first) with `config` (the
/// `config` object of the image config: Env, Cmd, ...). Returns the blob paths of the
/// layers, for tests that tamper with them.
pub fn oci_layout(dir: &Path, layers: &[Layer], config: serde_json::Value) -> Vec<PathBuf> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| -> String {
        let d = sha256(b);
        std::fs::write(blobs.join(&d[7..]), b).unwrap();
        d
    };
    let mut descs = Vec::new();
    let mut paths = Vec::new();
    for l in layers {
        let d = put(&l.blob);
        paths.push(blobs.join(&d[7..]));
        let mt = if l.blob == l.tar { "application/vnd.oci.image.layer.v1.tar" } else { "application/vnd.oci.image.layer.v1.tar+gzip" };
        descs.push(serde_json::json!({"mediaType": mt, "digest": d, "size": l.blob.len()}));
    }
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(&l.tar)).collect();
    let cfg = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let cbytes = serde_json::to_vec(&cfg).unwrap();
    let cd = put(&cbytes);
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cbytes.len()},
        "layers": descs,
    });
    let mbytes = serde_json::to_vec(&manifest).unwrap();
    let md = put(&mbytes);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mbytes.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    paths
}

/// A tar stream built entry by entry with raw headers (so hostile names survive: the
/// tar crate's path setters refuse `..` and absolute paths).
#[derive(Default)]
pub struct RawTar(pub Vec<u8>);

impl RawTar {
    fn header(name: &[u8], kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        {
            let raw = h.as_old_mut();
            let n = name.len().min(raw.name.len());
            raw.name[..n].copy_from_slice(&name[..n]);
        }
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h
    }

    fn push(&mut self, mut h: tar::Header, data: &[u8]) {
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
    }

    pub fn dir(mut self, name: &str) -> Self {
        self.push(Self::header(name.as_bytes(), tar::EntryType::Directory, 0, 0o755), &[]);
        self
    }

    pub fn file(mut self, name: &str, data: &[u8]) -> Self {
        self.push(Self::header(name.as_bytes(), tar::EntryType::Regular, data.len() as u64, 0o644), data);
        self
    }

    pub fn file_mode(mut self, name: &str, data: &[u8], mode: u32, uid: u64, gid: u64) -> Self {
        let mut h = Self::header(name.as_bytes(), tar::EntryType::Regular, data.len() as u64, mode);
        h.set_uid(uid);
        h.set_gid(gid);
        self.push(h, data);
        self
    }

    fn link_entry(mut self, name: &str, target: &str, kind: tar::EntryType) -> Self {
        let mut h = Self::header(name.as_bytes(), kind, 0, 0o777);
        {
            let raw = h.as_old_mut();
            let t = target.as_bytes();
            raw.linkname[..t.len()].copy_from_slice(t);
        }
        self.push(h, &[]);
        self
    }

    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.link_entry(name, target, tar::EntryType::Symlink)
    }

    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.link_entry(name, target, tar::EntryType::Link)
    }

    pub fn device(mut self, name: &str, major: u32, minor: u32) -> Self {
        let mut h = Self::header(name.as_bytes(), tar::EntryType::Char, 0, 0o666);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.push(h, &[]);
        self
    }

    /// A GNU long-name entry of `len` bytes for the next entry.
    pub fn long_name(mut self, name: &[u8]) -> Self {
        let h = Self::header(b"././@LongLink", tar::EntryType::GNULongName, name.len() as u64, 0o644);
        self.push(h, name);
        self
    }

    /// A pax header with `records` (key, value) for the next entry.
    pub fn pax(mut self, records: &[(&str, &[u8])]) -> Self {
        let mut data = Vec::new();
        for (k, v) in records {
            // "LEN key=value\n", LEN counting itself.
            let body = k.len() + v.len() + 3;
            let mut len = body + body.to_string().len();
            if len.to_string().len() != body.to_string().len() {
                len += 1;
            }
            data.extend_from_slice(format!("{len} {k}=").as_bytes());
            data.extend_from_slice(v);
            data.push(b'\n');
        }
        let h = Self::header(b"./PaxHeaders/x", tar::EntryType::XHeader, data.len() as u64, 0o644);
        self.push(h, &data);
        self
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.0.extend(std::iter::repeat_n(0u8, 1024));
        self.0
    }
}
