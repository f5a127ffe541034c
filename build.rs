//! Sets the SONAME of the C library (`libcocoon.so.0`, the ABI major version) so that
//! programs linked against it keep working across compatible upgrades, and builds the
//! exec helper (`src/helper/helper.c`), a static no-libc program the library embeds and
//! runs from a sealed memfd as the first exec of every container process.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    // Only affects the cdylib (target/*/libcocoon.so); the rlib and staticlib ignore it.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcocoon.so.0");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/helper/helper.c");
    println!("cargo:rerun-if-env-changed=CC");
    build_helper();
}

fn build_helper() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "x86_64" || os != "linux" {
        panic!("cocoon's exec helper (src/helper/helper.c) is written for x86_64 Linux; target is {arch}-{os}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("cocoon-helper");
    let cc = std::env::var("CC").unwrap_or_else(|_| String::from("cc"));
    // No libc: glibc's static start-up alone costs about a millisecond per exec.
    let status = Command::new(&cc)
        .args([
            "-nostdlib",
            "-static",
            "-ffreestanding",
            "-fno-stack-protector",
            "-fno-pie",
            "-no-pie",
            "-Os",
            "-fno-asynchronous-unwind-tables",
            "-fcf-protection=none",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wl,--build-id=none",
            "-Wl,-z,noexecstack",
            "-s",
            "-o",
        ])
        .arg(&out)
        .arg("src/helper/helper.c")
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?} to build the exec helper: {e}"));
    if !status.success() {
        panic!("building the exec helper (src/helper/helper.c) with {cc:?} failed: {status}");
    }
}
