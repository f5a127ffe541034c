//! Images: the store handle, import, list, remove, garbage collection, and the builder
//! setter that runs a container from an image. Present when the library is built with
//! the cargo feature `image` (the default; `cocoon_has_feature("image")`).

use std::ffi::{c_char, c_int, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::builder::{builder_mut, cocoon_builder};
use super::{cstr_arg, guard, guard_value, nonnull, put, Fail};
use super::container::cocoon_container;
use super::str_array_arg;
use crate::image::{ArchiveFormat, CommitOptions, ExportFormat, ImageError, ImageStore, ImportOptions};

impl From<ImageError> for Fail {
    fn from(e: ImageError) -> Fail {
        Fail::from(crate::Error::from(e))
    }
}

/// An open image store. Create with `cocoon_image_store_open`, release with
/// `cocoon_image_store_free`. Several processes may use one store directory at once.
pub struct cocoon_image_store {
    inner: ImageStore,
}

/// A snapshot of a store's names (`cocoon_image_store_list`); release with
/// `cocoon_image_list_free`.
pub struct cocoon_image_list {
    /// (name, manifest digest, config digest), one per name.
    items: Vec<(CString, CString, CString)>,
}

// Image formats (`cocoon_image_import`).

/// Told by the contents: a directory is an OCI layout, a tar file an oci- or docker-archive.
pub const COCOON_IMAGE_FORMAT_AUTO: c_int = 0;
/// An OCI image layout directory.
pub const COCOON_IMAGE_FORMAT_OCI_LAYOUT: c_int = 1;
/// An OCI layout in a tar file (`podman save --format oci-archive`).
pub const COCOON_IMAGE_FORMAT_OCI_ARCHIVE: c_int = 2;
/// A docker-archive tar file (`podman save --format docker-archive`).
pub const COCOON_IMAGE_FORMAT_DOCKER_ARCHIVE: c_int = 3;

// Import flags (`cocoon_image_import`).

/// Refuse device nodes in layers (`COCOON_E_IMAGE_UNSAFE`) even when the caller could
/// create them. Without `CAP_MKNOD` they are always refused.
pub const COCOON_IMAGE_IMPORT_NO_DEVICES: u32 = 1 << 0;

/// Opens the image store at `dir` (NULL: /var/lib/cocoon/images), creating it if needed;
/// removes what interrupted imports left. On success `*out` receives the handle.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_store_open(dir: *const c_char, out: *mut *mut cocoon_image_store) -> c_int {
    guard(|| {
        nonnull(out, "out")?;
        let dir = if dir.is_null() {
            PathBuf::from(crate::image::DEFAULT_STORE)
        } else {
            // SAFETY: non-NULL, NUL-terminated per the contract.
            PathBuf::from(OsStr::from_bytes(unsafe { cstr_arg(dir, "dir") }?))
        };
        let s = Box::new(cocoon_image_store { inner: ImageStore::open(dir)? });
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, Box::into_raw(s)) };
        Ok(())
    })
}

/// Releases a store handle (NULL: no-op). Containers spawned from it keep working.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_store_free(store: *mut cocoon_image_store) {
    if !store.is_null() {
        // SAFETY: a handle from cocoon_image_store_open, released once.
        drop(unsafe { Box::from_raw(store) });
    }
}

/// # Safety
/// `s` is NULL or a live store handle.
unsafe fn store_ref<'a>(s: *const cocoon_image_store) -> Result<&'a ImageStore, Fail> {
    // SAFETY: per the caller's contract.
    unsafe { s.as_ref() }.map(|s| &s.inner).ok_or_else(|| Fail::null("store"))
}

/// # Safety
/// `p` is NULL or NUL-terminated.
unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Fail> {
    // SAFETY: forwarded contract.
    let b = unsafe { cstr_arg(p, what) }?;
    std::str::from_utf8(b).map_err(|_| Fail::arg(format!("{what} is not UTF-8")))
}

/// Imports the image at `path` (an OCI layout directory, an oci-archive or a
/// docker-archive; `format` a `COCOON_IMAGE_FORMAT_*`) into the store, checking every
/// blob's sha256 and unpacking each new layer once. `name` (NULL: the names the archive
/// records) is the `name:tag` it gets; `flags` are `COCOON_IMAGE_IMPORT_*`. Digest
/// mismatches fail with `COCOON_E_IMAGE_DIGEST`, hostile layers with
/// `COCOON_E_IMAGE_UNSAFE`, malformed or oversized ones with `COCOON_E_IMAGE_FORMAT`;
/// nothing of a failed import stays in the store.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_import(
    store: *mut cocoon_image_store,
    path: *const c_char,
    format: c_int,
    name: *const c_char,
    flags: u32,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { store_ref(store) }?;
        // SAFETY: forwarded contract.
        let path = PathBuf::from(OsStr::from_bytes(unsafe { cstr_arg(path, "path") }?));
        let format = match format {
            COCOON_IMAGE_FORMAT_AUTO => None,
            COCOON_IMAGE_FORMAT_OCI_LAYOUT => Some(ArchiveFormat::OciLayout),
            COCOON_IMAGE_FORMAT_OCI_ARCHIVE => Some(ArchiveFormat::OciArchive),
            COCOON_IMAGE_FORMAT_DOCKER_ARCHIVE => Some(ArchiveFormat::DockerArchive),
            f => return Err(Fail::arg(format!("unknown image format {f}"))),
        };
        if flags & !COCOON_IMAGE_IMPORT_NO_DEVICES != 0 {
            return Err(Fail::arg(format!("unknown import flags {flags:#x}")));
        }
        let mut opts = ImportOptions::new();
        if !name.is_null() {
            // SAFETY: non-NULL, NUL-terminated per the contract.
            opts = opts.name(unsafe { text(name, "name") }?);
        }
        if flags & COCOON_IMAGE_IMPORT_NO_DEVICES != 0 {
            opts = opts.device_nodes(false);
        }
        s.import(&path, format, &opts)?;
        Ok(())
    })
}

/// Lists the store's names: `*out` receives a snapshot to read with
/// `cocoon_image_list_len` / `_name` / `_digest` / `_image_id`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_store_list(store: *const cocoon_image_store, out: *mut *mut cocoon_image_list) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { store_ref(store) }?;
        nonnull(out, "out")?;
        let mut items = Vec::new();
        let c = |s: &str| CString::new(s).map_err(|_| Fail::arg("NUL in a stored name"));
        for info in s.list()? {
            for n in &info.names {
                items.push((c(n)?, c(&info.manifest_digest)?, c(&info.config_digest)?));
            }
        }
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, Box::into_raw(Box::new(cocoon_image_list { items }))) };
        Ok(())
    })
}

/// The number of names in `list` (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_list_len(list: *const cocoon_image_list) -> usize {
    // SAFETY: NULL or a live list per the contract.
    unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
}

fn item(list: *const cocoon_image_list, i: usize, pick: fn(&(CString, CString, CString)) -> &CString) -> *const c_char {
    guard_value(std::ptr::null(), || {
        // SAFETY: NULL or a live list per the contract.
        let l = unsafe { list.as_ref() }.ok_or_else(|| Fail::null("list"))?;
        let it = l.items.get(i).ok_or_else(|| Fail::arg(format!("index {i} is out of range")))?;
        Ok(pick(it).as_ptr())
    })
}

/// The `i`-th name (`name:tag`), borrowed until `cocoon_image_list_free`; NULL if out of
/// range.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_list_name(list: *const cocoon_image_list, i: usize) -> *const c_char {
    item(list, i, |t| &t.0)
}

/// The manifest digest (`sha256:...`) of the `i`-th name, borrowed as `_name`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_list_digest(list: *const cocoon_image_list, i: usize) -> *const c_char {
    item(list, i, |t| &t.1)
}

/// The config digest (the image id) of the `i`-th name, borrowed as `_name`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_list_image_id(list: *const cocoon_image_list, i: usize) -> *const c_char {
    item(list, i, |t| &t.2)
}

/// Releases a list (NULL: no-op).
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_list_free(list: *mut cocoon_image_list) {
    if !list.is_null() {
        // SAFETY: a list from cocoon_image_store_list, released once.
        drop(unsafe { Box::from_raw(list) });
    }
}

/// Removes the name `reference` (a digest: every name of that image). Layers stay until
/// `cocoon_image_store_gc`. `COCOON_E_IMAGE_NOT_FOUND` if there is no such image.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_remove(store: *mut cocoon_image_store, reference: *const c_char) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { store_ref(store) }?;
        // SAFETY: forwarded contract.
        s.remove(unsafe { text(reference, "reference") }?)?;
        Ok(())
    })
}

/// Removes the layers and blobs no name and no live container uses, and writable layers
/// whose process is gone. `*removed` (may be NULL) receives how many layers went.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_store_gc(store: *mut cocoon_image_store, removed: *mut usize) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { store_ref(store) }?;
        let r = s.gc()?;
        if !removed.is_null() {
            // SAFETY: checked non-NULL.
            unsafe { put(removed, r.layers) };
        }
        Ok(())
    })
}

// Flags of `cocoon_builder_set_image`.

/// Keep each container's writable layer after the container is gone (the caller removes
/// it; garbage collection never does).
pub const COCOON_IMAGE_KEEP_UPPER: u32 = 1 << 0;
/// Keep the builder's user even if it is uid 0 (the image's User is not applied).
pub const COCOON_IMAGE_KEEP_USER: u32 = 1 << 1;
/// Keep the builder's working directory even if it is "/" (WorkingDir is not applied).
pub const COCOON_IMAGE_KEEP_CWD: u32 = 1 << 2;

/// Runs the container from the image `reference` of `store`: its layers become the root
/// (shared read-only, with a fresh writable layer per container in the store, removed
/// with the container unless `COCOON_IMAGE_KEEP_UPPER`), and its config the defaults of
/// the process — Entrypoint + Cmd when the builder's program is "" (a program given
/// replaces both), Env under the variables already set, WorkingDir over cwd "/" (unless
/// `COCOON_IMAGE_KEEP_CWD`), User over uid 0 (unless `COCOON_IMAGE_KEEP_USER`). Setters
/// called afterwards override the image's values. `flags` are `COCOON_IMAGE_KEEP_*`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_image(
    builder: *mut cocoon_builder,
    store: *const cocoon_image_store,
    reference: *const c_char,
    flags: u32,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let b = unsafe { builder_mut(builder) }?;
        // SAFETY: forwarded contract.
        let s = unsafe { store_ref(store) }?;
        // SAFETY: forwarded contract.
        let r = unsafe { text(reference, "reference") }?;
        let known = COCOON_IMAGE_KEEP_UPPER | COCOON_IMAGE_KEEP_USER | COCOON_IMAGE_KEEP_CWD;
        if flags & !known != 0 {
            return Err(Fail::arg(format!("unknown image flags {flags:#x}")));
        }
        let user = b.inner.get_process().user.clone();
        let cwd = b.inner.get_process().cwd.clone();
        b.inner.set_image(s, r)?;
        if flags & COCOON_IMAGE_KEEP_USER != 0 {
            b.inner.process_mut().set_user(user);
        }
        if flags & COCOON_IMAGE_KEEP_CWD != 0 {
            b.inner.process_mut().set_cwd(cwd);
        }
        if flags & COCOON_IMAGE_KEEP_UPPER != 0 {
            if let crate::rootfs::Rootfs::Image(img) = &b.inner.rootfs {
                let kept = img.clone().keep_upper(true);
                b.inner.set_rootfs(crate::rootfs::Rootfs::Image(kept));
            }
        }
        Ok(())
    })
}

/// The writable layer's directory of a container run from an image (its `upper` holds
/// every change the container made), borrowed for the life of the handle; NULL for other
/// containers. It is removed with the container unless `COCOON_IMAGE_KEEP_UPPER`; then the
/// caller removes it.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_writable_layer(container: *const cocoon_container) -> *const c_char {
    guard_value(std::ptr::null(), || {
        // SAFETY: NULL or a live container per the contract.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        Ok(c.writable.as_ref().map_or(std::ptr::null(), |w| w.as_ptr()))
    })
}

// Export formats (`cocoon_image_export`).

/// An OCI image layout directory.
pub const COCOON_IMAGE_EXPORT_OCI_LAYOUT: c_int = 1;
/// An OCI layout in one tar file (what `podman load -i` reads).
pub const COCOON_IMAGE_EXPORT_OCI_ARCHIVE: c_int = 2;

/// Commits the changes of `container` (run from an image of `store` with
/// `cocoon_builder_set_image`, ended but not yet deleted) as a new image `name`: the
/// image it ran from plus one layer of its writable layer (deletions as whiteouts).
/// `cmd` (`ncmd` strings; NULL/0: the parent's Cmd) and `env` (`nenv` "KEY=VALUE"
/// strings set over the parent's Env) change the new image's config.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_commit(
    store: *mut cocoon_image_store,
    container: *const cocoon_container,
    name: *const c_char,
    cmd: *const *const c_char,
    ncmd: usize,
    env: *const *const c_char,
    nenv: usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { store_ref(store) }?;
        // SAFETY: NULL or a live container per the contract.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        // SAFETY: forwarded contract.
        let name = unsafe { text(name, "name") }?;
        let utf8 = |v: Vec<&[u8]>, what: &str| -> Result<Vec<String>, Fail> {
            v.into_iter()
                .map(|b| std::str::from_utf8(b).map(str::to_string).map_err(|_| Fail::arg(format!("{what} is not UTF-8"))))
                .collect()
        };
        // SAFETY: forwarded contract.
        let cmd = utf8(unsafe { str_array_arg(cmd, ncmd, "cmd") }?, "cmd")?;
        // SAFETY: forwarded contract.
        let env = utf8(unsafe { str_array_arg(env, nenv, "env") }?, "env")?;
        let mut opts = CommitOptions::new();
        if !cmd.is_empty() {
            opts = opts.cmd(cmd);
        }
        for kv in &env {
            let (k, v) = kv.split_once('=').ok_or_else(|| Fail::arg(format!("env entry {kv:?} has no '='")))?;
            opts = opts.env(k, v);
        }
        s.commit_container(&c.inner, name, &opts)?;
        Ok(())
    })
}

/// Exports the image `reference` to `dest` (must not exist) as `format`
/// (`COCOON_IMAGE_EXPORT_*`). Each layer's tar is written afresh from the store, so the
/// exported image has its own digests; `podman load -i` and `skopeo copy` read it.
#[no_mangle]
pub unsafe extern "C" fn cocoon_image_export(
    store: *mut cocoon_image_store,
    reference: *const c_char,
    dest: *const c_char,
    format: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let s = unsafe { store_ref(store) }?;
        // SAFETY: forwarded contract.
        let r = unsafe { text(reference, "reference") }?;
        // SAFETY: forwarded contract.
        let dest = PathBuf::from(OsStr::from_bytes(unsafe { cstr_arg(dest, "dest") }?));
        let format = match format {
            COCOON_IMAGE_EXPORT_OCI_LAYOUT => ExportFormat::OciLayout,
            COCOON_IMAGE_EXPORT_OCI_ARCHIVE => ExportFormat::OciArchive,
            f => return Err(Fail::arg(format!("unknown export format {f}"))),
        };
        s.export(r, &dest, format)?;
        Ok(())
    })
}
