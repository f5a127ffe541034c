//! The committed `include/cocoon.h` must be exactly what cbindgen 0.29.4 generates from
//! `src/ffi/` with `cbindgen.toml`. Run with `COCOON_UPDATE_HEADER=1` to rewrite it after
//! an intended change to the C ABI.

use std::path::Path;

const SOURCES: &[&str] = &[
    "src/ffi/mod.rs",
    "src/ffi/builder.rs",
    "src/ffi/builder/namespaces.rs",
    "src/ffi/builder/mounts.rs",
    "src/ffi/builder/process.rs",
    "src/ffi/builder/cgroup.rs",
    "src/ffi/builder/proc_relabel_mounts.rs",
    "src/ffi/builder/namespace_joins.rs",
    "src/ffi/builder/passed_fds.rs",
    "src/ffi/builder/selinux.rs",
    "src/ffi/container.rs",
    "src/ffi/exec_process.rs",
    "src/ffi/sweep.rs",
    "src/ffi/events.rs",
    "src/ffi/stats.rs",
    "src/ffi/image.rs",
];

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut builder = cbindgen::Builder::new().with_config(config);
    // cbindgen follows the `mod` declarations of src/ffi/mod.rs into the other files.
    builder = builder.with_src(root.join("src/ffi/mod.rs"));
    let bindings = builder.generate().expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn abi_header_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("include/cocoon.h");
    let fresh = generate();
    if std::env::var_os("COCOON_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/cocoon.h");
        eprintln!("rewrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let first = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(fresh.lines().count()));
        panic!(
            "include/cocoon.h differs from what cbindgen generates (first difference at line {}).\n\
             If the ABI change is intended, run: COCOON_UPDATE_HEADER=1 cargo test --test abi_header\n\
             committed: {:?}\ngenerated: {:?}",
            first + 1,
            committed.lines().nth(first),
            fresh.lines().nth(first)
        );
    }
}

#[test]
fn every_exported_function_is_in_the_header() {
    let header = generate();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for s in SOURCES {
        let src = std::fs::read_to_string(root.join(s)).unwrap();
        let mut lines = src.lines();
        while let Some(l) = lines.next() {
            if l.trim() == "#[no_mangle]" {
                let sig = lines.next().unwrap();
                let name = sig.split("fn ").nth(1).unwrap().split('(').next().unwrap();
                assert!(name.starts_with("cocoon_"), "exported {name} lacks the cocoon_ prefix");
                assert!(
                    header.contains(&format!(" {name}(")) || header.contains(&format!("*{name}(")),
                    "{name} missing from the header"
                );
                let decls = header
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//") && l.contains(&format!("{name}(")))
                    .count();
                assert_eq!(decls, 1, "{name} declared {decls} times");
            }
        }
    }
}
