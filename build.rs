//! Sets the SONAME of the C library (`libcocoon.so.0`, the ABI major version) so that
//! programs linked against it keep working across compatible upgrades.

fn main() {
    // Only affects the cdylib (target/*/libcocoon.so); the rlib and staticlib ignore it.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcocoon.so.0");
    println!("cargo:rerun-if-changed=build.rs");
}
