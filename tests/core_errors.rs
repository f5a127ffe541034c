//! Bad input gets a typed error (exact variant, stage and errno) and leaves nothing
//! behind: no new fd, no new mount here or on the host, no child process.

mod common;

use cocoon::{ContainerBuilder, Error, IdRange, Mount, Process, Rlimit, Rootfs, Stage, User};
use common::*;

/// Spawns `b`, expecting an error; checks that nothing was left behind.
fn spawn_err(b: ContainerBuilder) -> Error {
    let before = snapshot();
    let e = match b.spawn() {
        Ok(mut c) => {
            let o = collect(&mut c);
            panic!("spawn unexpectedly succeeded: {o:?}")
        }
        Err(e) => e,
    };
    let after = snapshot();
    assert_unchanged(&before, &after, &format!("after error {e}"));
    assert_no_children();
    // The message names what went wrong.
    assert!(!e.to_string().is_empty());
    e
}

fn invalid(e: &Error) -> (&'static str, &str) {
    match e {
        Error::InvalidConfig { what, reason } => (what, reason.as_str()),
        other => panic!("expected Error::InvalidConfig, got {other:?}"),
    }
}

fn setup(e: &Error) -> (Stage, &str, Option<i32>) {
    match e {
        Error::Setup { stage, detail, source } => (*stage, detail.as_str(), source.raw_os_error()),
        other => panic!("expected Error::Setup, got {other:?}"),
    }
}

fn quiet(p: Process) -> Process {
    p.stdout(cocoon::Stdio::Null).stderr(cocoon::Stdio::Null)
}

#[test]
fn missing_program() {
    let _g = lock();
    let e = spawn_err(ContainerBuilder::new(quiet(Process::new("/no/such/program"))));
    let (stage, detail, errno) = setup(&e);
    assert_eq!((stage, errno), (Stage::Exec, Some(libc::ENOENT)), "{e}");
    assert!(detail.contains("/no/such/program"), "{e}");
    assert_eq!(e.stage(), Some(Stage::Exec));
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    // A bare name searched in PATH.
    let e = spawn_err(ContainerBuilder::new(quiet(Process::new("no-such-program-cocoon").env("PATH", PATH))));
    let (stage, detail, errno) = setup(&e);
    assert_eq!((stage, errno), (Stage::Exec, Some(libc::ENOENT)), "{e}");
    assert!(detail.contains("no-such-program-cocoon"), "{e}");
}

#[test]
fn non_executable_program() {
    let _g = lock();
    // /etc/passwd exists in the sandbox but is mode 0644.
    let e = spawn_err(ContainerBuilder::new(quiet(Process::new("/etc/passwd"))));
    let (stage, _, errno) = setup(&e);
    assert_eq!((stage, errno), (Stage::Exec, Some(libc::EACCES)), "{e}");
    // A directory is not executable either.
    let e = spawn_err(ContainerBuilder::new(quiet(Process::new("/usr"))));
    assert_eq!(setup(&e).0, Stage::Exec, "{e}");
    assert_eq!(setup(&e).2, Some(libc::EACCES), "{e}");
}

#[test]
fn unknown_user_name() {
    let _g = lock();
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true").user(User::Name("no-such-user".into())))));
    let (what, reason) = invalid(&e);
    assert_eq!(what, "user");
    assert!(reason.contains("no-such-user"), "{e}");
    // Same in a directory rootfs, where the host's /etc/passwd must not be consulted:
    // "daemon" exists on the host but not in the image.
    assert!(std::fs::read_to_string("/etc/passwd").unwrap().contains("\ndaemon:"));
    let root = TempDir::new("noroot-user");
    busybox_root(root.path());
    let e = spawn_err(
        ContainerBuilder::new(quiet(sh("true").user(User::Name("daemon".into())))).rootfs(Rootfs::directory(root.path())),
    );
    assert_eq!(invalid(&e).0, "user", "{e}");
}

#[test]
fn overlapping_or_malformed_id_maps() {
    let _g = lock();
    let ok = [IdRange::new(0, 100_000, 65_536)];
    let cases: Vec<(&str, Vec<IdRange>, Vec<IdRange>)> = vec![
        ("uid map", vec![IdRange::new(0, 100_000, 1000), IdRange::new(500, 300_000, 1000)], ok.to_vec()),
        ("uid map", vec![IdRange::new(0, 100_000, 1000), IdRange::new(5000, 100_500, 1000)], ok.to_vec()),
        ("gid map", ok.to_vec(), vec![IdRange::new(0, 100_000, 0)]),
        ("gid map", ok.to_vec(), vec![IdRange::new(0, u32::MAX - 10, 100)]),
        ("uid map", vec![], ok.to_vec()),
    ];
    for (want, uid, gid) in cases {
        let e = spawn_err(ContainerBuilder::new(quiet(sh("true"))).uid_map(uid.clone()).gid_map(gid.clone()));
        let (what, _) = invalid(&e);
        // An empty map is reported for the user namespace as a whole.
        if uid.is_empty() {
            assert!(what == "user namespace" || what == "uid map", "{e}");
        } else {
            assert_eq!(what, want, "{uid:?} {gid:?}: {e}");
        }
    }
    // The user (uid 0) not being mapped at all.
    let e = spawn_err(
        ContainerBuilder::new(quiet(sh("true")))
            .uid_map([IdRange::new(1, 100_000, 10)])
            .gid_map([IdRange::new(0, 100_000, 10)]),
    );
    assert_eq!(invalid(&e).0, "user", "{e}");
}

#[test]
fn hostname_too_long() {
    let _g = lock();
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true"))).hostname("h".repeat(65)));
    let (what, reason) = invalid(&e);
    assert_eq!(what, "hostname");
    assert!(reason.contains("65 bytes"), "{e}");
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true"))).domainname("d".repeat(200)));
    assert_eq!(invalid(&e).0, "domainname");
    // Exactly 64 is fine.
    let out = run_ok(ContainerBuilder::new(sh("hostname")).hostname("h".repeat(64)));
    assert_eq!(out.trim(), "h".repeat(64));
}

#[test]
fn nul_in_argument_or_environment() {
    let _g = lock();
    let e = spawn_err(ContainerBuilder::new(quiet(Process::new("/bin/echo").arg("a\0b"))));
    assert_eq!(invalid(&e).0, "argument", "{e}");
    let e = spawn_err(ContainerBuilder::new(quiet(Process::new("/bin/ec\0ho"))));
    assert!(matches!(invalid(&e).0, "argument" | "program"), "{e}");
    let e = spawn_err(ContainerBuilder::new(quiet(Process::new("/bin/echo").env("K", "v\0w"))));
    assert_eq!(invalid(&e).0, "environment variable", "{e}");
}

#[test]
fn rootfs_that_does_not_exist() {
    let _g = lock();
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true"))).rootfs(Rootfs::directory("/no/such/rootfs")));
    let (what, reason) = invalid(&e);
    assert_eq!(what, "rootfs");
    assert!(reason.contains("/no/such/rootfs"), "{e}");
    let up = TempDir::new("err-upper");
    let work = TempDir::new("err-work");
    let e = spawn_err(
        ContainerBuilder::new(quiet(sh("true"))).rootfs(Rootfs::layers(["/no/such/layer"], up.path(), work.path())),
    );
    assert_eq!(invalid(&e).0, "rootfs lower layer", "{e}");
    // A file, not a directory.
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true"))).rootfs(Rootfs::directory("/etc/passwd")));
    assert_eq!(invalid(&e).0, "rootfs", "{e}");
}

#[test]
fn bind_source_that_does_not_exist() {
    let _g = lock();
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true"))).mount(Mount::bind("/no/such/source", "/mnt")));
    let (what, reason) = invalid(&e);
    assert_eq!(what, "bind source");
    assert!(reason.contains("/no/such/source"), "{e}");
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true"))).mount(Mount::bind("relative/source", "/mnt")));
    assert_eq!(invalid(&e).0, "bind source", "{e}");
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true"))).mount(Mount::bind("/tmp", "/a/../../etc")));
    assert_eq!(invalid(&e).0, "mount target", "{e}");
}

#[test]
fn cwd_that_does_not_exist() {
    let _g = lock();
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true").cwd("/no/such/dir"))));
    let (stage, detail, errno) = setup(&e);
    assert_eq!((stage, errno), (Stage::Cwd, Some(libc::ENOENT)), "{e}");
    assert_eq!(detail, "/no/such/dir");
    // A cwd that is a file.
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true").cwd("/etc/passwd"))));
    assert_eq!((setup(&e).0, setup(&e).2), (Stage::Cwd, Some(libc::ENOTDIR)), "{e}");
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true").cwd("relative"))));
    assert_eq!(invalid(&e).0, "working directory", "{e}");
}

#[test]
fn rlimit_above_the_hard_limit() {
    let _g = lock();
    let mut hard = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit into a stack struct.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut hard) }, 0);
    // The machine lacks CAP_SYS_RESOURCE (machine.md), so going above it must fail.
    let caps = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = u64::from_str_radix(status_field(&caps, "CapEff"), 16).unwrap();
    assert_eq!(eff & (1 << 24) /* CAP_SYS_RESOURCE */, 0, "this test expects no CAP_SYS_RESOURCE");
    let above = hard.rlim_max + 10_000;
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true").rlimit(Rlimit::Nofile, 1024, above))));
    let (stage, detail, errno) = setup(&e);
    assert_eq!((stage, errno), (Stage::Rlimit, Some(libc::EPERM)), "{e}");
    assert_eq!(detail, "RLIMIT_NOFILE");
    // soft > hard is caught before anything runs.
    let e = spawn_err(ContainerBuilder::new(quiet(sh("true").rlimit(Rlimit::Nofile, 2000, 1000))));
    assert_eq!(invalid(&e).0, "rlimit", "{e}");
    // Lowering works and is seen inside.
    let out = run_ok(ContainerBuilder::new(sh("ulimit -n; ulimit -Hn").rlimit(Rlimit::Nofile, 100, 200)));
    assert_eq!(out, "100\n200\n");
}

#[test]
fn setup_failure_inside_the_child_leaves_nothing() {
    let _g = lock();
    // A mount target under a read-only bind: the child fails at MountTarget (EROFS) after
    // it already mounted several things; everything goes away with its namespace.
    let src = TempDir::new("ro-src");
    let e = spawn_err(
        ContainerBuilder::new(quiet(sh("true")))
            .mount(Mount::bind(src.path(), "/ro").read_only(true))
            .mount(Mount::tmpfs("/ro/sub/dir")),
    );
    let (stage, detail, errno) = setup(&e);
    assert_eq!((stage, errno), (Stage::MountTarget, Some(libc::EROFS)), "{e}");
    assert!(detail.contains("/ro/sub/dir"), "{e}");
    assert!(tree(src.path()).is_empty(), "the child created {:?} in the host dir", tree(src.path()));
}

/// Asking for every capability on a host whose bounding set lacks some (this machine has
/// no CAP_SYS_RESOURCE) fails at capset, naming the missing capabilities.
#[test]
fn capabilities_beyond_the_callers_bounding_set_are_named() {
    let _g = lock();
    let have = caps::read(None, caps::CapSet::Bounding).expect("bounding set");
    if caps::all().iter().all(|c| have.contains(c)) {
        return; // nothing to ask for beyond what we have
    }
    let all = cocoon::Capabilities::uniform(cocoon::CapSet::all());
    let err = cocoon::ContainerBuilder::new(cocoon::Process::new("/bin/true").capabilities(all))
        .spawn()
        .expect_err("capset must fail");
    assert_eq!(err.stage(), Some(cocoon::Stage::Capabilities), "{err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    let missing = caps::all().into_iter().find(|c| !have.contains(c)).expect("a missing cap");
    assert!(err.to_string().contains(&missing.to_string()), "{err}");
}
