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
