//! cocoon-run --selinux-policy generate: prints the container's generated SELinux policy
//! (cocoon::selinux::policy) and runs nothing.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{assert_nothing_left, run, unique, TempDir};

#[test]
fn selinux_policy_generate_prints_the_module_and_runs_nothing() {
    let d = TempDir::new("sepol");
    std::fs::create_dir(d.join("ro")).unwrap();
    std::fs::create_dir(d.join("rw")).unwrap();
    let name = unique("sepol");
    let ro = format!("{}:/ro:ro", d.join("ro").display());
    let rw = format!("{}:/rw", d.join("rw").display());
    let ty = format!("{}=var_lib_t", d.join("rw").display());
    let marker = d.join("ran");
    let script = format!("touch {}", marker.display());
    let o = run(&[
        "--selinux-policy",
        "generate",
        "--name",
        &name,
        "--bind",
        &ro,
        "--bind",
        &rw,
        "--selinux-bind-type",
        &ty,
        "--cap-drop",
        "ALL",
        "--cap-add",
        "NET_BIND_SERVICE",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(o.code, 0, "{o:?}");
    let policy = name.replace('-', "_");
    assert!(o.stdout.contains(&format!("(block {policy}\n    (blockinherit container)")), "{}", o.stdout);
    assert!(o.stdout.contains("(allow process self (capability (net_bind_service)))"), "{}", o.stdout);
    // rw bind with the given type: read-write; ro bind, unlabelled: container_file_t, read only
    assert!(
        o.stdout.contains("(allow process var_lib_t (file (getattr open read ioctl lock map write"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("(allow process container_file_t (file (getattr open read ioctl lock map)))"),
        "{}",
        o.stdout
    );
    assert!(!marker.exists(), "the program ran");
    assert_nothing_left(&name);

    // an explicit name; a bad one is a usage error (exit 2) naming the flag, nothing printed
    let o = run(&["--selinux-policy", "generate", "--selinux-policy-name", "web", "--", "true"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.starts_with("; cocoon per-container SELinux policy `web`"), "{}", o.stdout);
    let o = run(&["--selinux-policy", "generate", "--selinux-policy-name", "we-b", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--selinux-policy-name") && o.stderr.contains("policy name"), "{o:?}");
    assert_eq!(o.stdout, "");
    let o = run(&["--selinux-policy", "bogus", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
}
