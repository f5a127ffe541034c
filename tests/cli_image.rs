//! `cocoon-run image import|ls|rm|gc` and `cocoon-run --image REF [--image-store DIR]`,
//! on an image umoci builds at test time.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{run, TempDir};

fn umoci(args: &[&str]) {
    let o = std::process::Command::new("umoci").args(args).output().expect("umoci is installed");
    assert!(o.status.success(), "umoci {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn import_list_run_remove_gc() {
    let work = TempDir::new("cli-image");
    let tree = work.join("tree");
    for d in ["bin", "etc", "srv"] {
        std::fs::create_dir_all(tree.join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/busybox", tree.join("bin/busybox")).unwrap();
    for a in ["sh", "echo", "pwd", "id"] {
        std::os::unix::fs::symlink("busybox", tree.join("bin").join(a)).unwrap();
    }
    std::fs::write(tree.join("etc/passwd"), "root:x:0:0::/:/bin/sh\nsrv:x:4242:4242::/srv:/bin/sh\n").unwrap();
    let layout = work.join("layout");
    let img = format!("{}:t", layout.display());
    umoci(&["init", "--layout", layout.to_str().unwrap()]);
    umoci(&["new", "--image", &img]);
    umoci(&["insert", "--image", &img, tree.to_str().unwrap(), "/"]);
    umoci(&[
        "config", "--image", &img, "--config.env", "FOO=cli", "--config.workingdir", "/srv", "--config.user", "srv",
        "--config.cmd", "/bin/sh", "--config.cmd", "-c", "--config.cmd", "echo cmd $FOO",
    ]);
    let store = work.s() + "/store";
    let o = run(&["image", "import", "--image-store", &store, "--name", "cli-img:1", layout.to_str().unwrap()]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "cli-img:1\n"), "{o:?}");
    let o = run(&["image", "ls", "--image-store", &store]);
    assert!(o.code == 0 && o.stdout.lines().nth(1).is_some_and(|l| l.starts_with("cli-img:1 ")), "{o:?}");
    // The image's config as defaults; flags override.
    let o = run(&["--image", "cli-img:1", "--image-store", &store, "--", "sh", "-c", "echo $FOO; pwd; id -u"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "cli\n/srv\n4242\n"), "{o:?}");
    let o = run(&["--image", "cli-img:1", "--image-store", &store]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "cmd cli\n"), "{o:?}");
    let o = run(&["--image", "cli-img:1", "--image-store", &store, "-e", "FOO=flag", "--workdir", "/etc", "--user", "7", "--", "sh", "-c", "echo $FOO; pwd; id -u"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "flag\n/etc\n7\n"), "{o:?}");
    assert_eq!(std::fs::read_dir(format!("{store}/containers")).unwrap().count(), 0);
    // Errors: 125 with the reason, once.
    let o = run(&["--image", "nope:1", "--image-store", &store, "--", "true"]);
    assert_eq!(o.code, 125, "{o:?}");
    assert!(o.stderr.contains("image not found: nope:1"), "{o:?}");
    let o = run(&["image", "import", "--image-store", &store, "/proc/self/status"]);
    assert_eq!(o.code, 125, "{o:?}");
    assert_eq!(run(&["image", "rm", "--image-store", &store, "cli-img:1"]).code, 0);
    let o = run(&["image", "gc", "--image-store", &store]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "removed 1 layers, 2 blobs, 0 writable layers\n"), "{o:?}");
    assert_eq!(run(&["image", "rm", "--image-store", &store, "cli-img:1"]).code, 125);
}
