//! SELinux labels. The first call of any of these gives the container SELinux settings
//! (`cocoon_builder_enable_selinux` gives the defaults: the policy's lxc_contexts types,
//! or container_t / container_file_t, at a fresh unique MCS level). Each setter applies
//! its value to a copy of the settings and checks the copy's syntax
//! (`SelinuxConfig::validate`); on failure the builder is unchanged and the code is
//! `COCOON_E_SELINUX` (the message names the value). Checks against the loaded policy
//! happen at spawn. On a host without SELinux (`cocoon_has_feature("selinux")` is 0) a
//! labelled container runs unlabelled, unless `cocoon_builder_set_selinux_require` asks
//! for an error; `cocoon_container_selinux_label` tells which happened.

use std::ffi::{c_char, c_int};

use super::{absolute, builder_ref, cocoon_builder, with_builder};
use crate::ffi::{cstr_arg, guard, utf8_arg, Fail};
use crate::selinux::{Level, McsRange, SelinuxConfig, SelinuxError};

/// Applies `f` to a copy of the builder's SELinux settings (the defaults if there are none
/// yet), checks the copy's syntax, and stores it only if that succeeds.
///
/// # Safety
/// As [`super::builder_mut`].
unsafe fn with_selinux(b: *mut cocoon_builder, f: impl FnOnce(SelinuxConfig) -> Result<SelinuxConfig, Fail>) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(b, |b| {
            let cfg = f(b.get_selinux().cloned().unwrap_or_default())?;
            cfg.validate().map_err(crate::Error::from)?;
            b.set_selinux(cfg);
            Ok(())
        })
    }
}

/// A UTF-8 SELinux name or context argument.
///
/// # Safety
/// As [`cstr_arg`].
unsafe fn selinux_text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Fail> {
    // SAFETY: forwarded contract.
    utf8_arg(unsafe { cstr_arg(p, what) }?, what)
}

fn selinux_level(text: &str) -> Result<Level, Fail> {
    text.parse::<Level>().map_err(|e| crate::Error::from(e).into())
}

/// Gives the container SELinux settings with the defaults (see above). Calling it again
/// keeps the settings already made.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_enable_selinux(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, Ok) }
}

/// Removes every SELinux setting: the container runs with the caller's label rules
/// (no exec label, no `context=` mounts). Relabelled bind mounts then fail at spawn.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_selinux(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.clear_selinux();
        })
    }
}

/// The SELinux user of the process and its files (UTF-8 name such as "system_u";
/// default from the policy).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_user(builder: *mut cocoon_builder, user: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.user(selinux_text(user, "user")?))) }
}

/// The role of the process (UTF-8 name; default "system_r"; files keep "object_r").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_role(builder: *mut cocoon_builder, role: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.role(selinux_text(role, "role")?))) }
}

/// The process type (UTF-8 name; default from lxc_contexts, or "container_t").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_process_type(
    builder: *mut cocoon_builder,
    ty: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.process_type(selinux_text(ty, "type")?))) }
}

/// The file type of the container's mounts and relabelled content (UTF-8 name; default
/// from lxc_contexts, or "container_file_t").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_file_type(
    builder: *mut cocoon_builder,
    ty: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.file_type(selinux_text(ty, "type")?))) }
}

/// Runs at exactly this level, e.g. "s0:c1,c2", reserved for this container alone (spawn
/// fails with `COCOON_E_SELINUX` while a live container holds it). A malformed level, or
/// one set after `cocoon_builder_set_selinux_shared_level` (they exclude each other) ->
/// `COCOON_E_SELINUX`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_level(builder: *mut cocoon_builder, level: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.level(selinux_level(selinux_text(level, "level")?)?))) }
}

/// Runs at this level, shared with the other containers that ask for it (a pod); it
/// stays reserved until the last of them goes. Excludes `cocoon_builder_set_selinux_level`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_shared_level(
    builder: *mut cocoon_builder,
    level: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.shared_level(selinux_level(selinux_text(level, "level")?)?))) }
}

/// The full label of the container's tmpfs/devpts/overlay mounts, e.g.
/// "system_u:object_r:container_file_t:s0:c1,c2" (default: the file label at the
/// container's level). A malformed context -> `COCOON_E_SELINUX`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_mount_label(
    builder: *mut cocoon_builder,
    label: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.mount_label(selinux_text(label, "label")?))) }
}

/// Whether SELinux must be enabled (non-zero = yes; default no). With yes, spawning on a
/// host without SELinux fails with `COCOON_E_SELINUX` instead of running unlabelled.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_require(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.require(yes != 0))) }
}

/// The categories fresh MCS pairs are drawn from: `c<first>`..=`c<last>` (first < last
/// <= 1023, else `COCOON_E_SELINUX`; default 0..=1023).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_mcs_range(
    builder: *mut cocoon_builder,
    first: u32,
    last: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_selinux(builder, |c| {
            let bad = || {
                Fail::from(crate::Error::from(SelinuxError::InvalidLevel {
                    level: format!("c{first}.c{last}"),
                    reason: "an MCS range needs two categories cFIRST < cLAST <= c1023".into(),
                }))
            };
            let (f, l) = (u16::try_from(first).map_err(|_| bad())?, u16::try_from(last).map_err(|_| bad())?);
            Ok(c.mcs_range(McsRange::new(f, l).map_err(crate::Error::from)?))
        })
    }
}

/// Where MCS reservations are recorded (absolute path; default "/run/cocoon/mcs"). Every
/// process that must not hand out the same level has to use the same directory.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_state_dir(
    builder: *mut cocoon_builder,
    dir: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.state_dir(absolute("SELinux state directory", cstr_arg(dir, "dir")?)?))) }
}

/// The policy root holding contexts/lxc_contexts (absolute path; default from
/// /etc/selinux/config: `/etc/selinux/<SELINUXTYPE>`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_policy_root(
    builder: *mut cocoon_builder,
    dir: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.policy_root(absolute("SELinux policy root", cstr_arg(dir, "dir")?)?))) }
}

/// Generates the per-container SELinux policy (a CIL module, see
/// `cocoon::selinux::policy`) of the container `builder` describes, named `name` (UTF-8:
/// a letter, then letters, digits and '_'; its domain is "NAME.process", which
/// `cocoon_builder_set_selinux_process_type` runs the container in once the module is
/// installed). `*needed` (if not NULL) receives the size of the whole text with its NUL;
/// the text is written to `buf` (if not NULL) NUL-terminated and cut to `len` bytes. Reads
/// the bind sources' labels, writes nothing, runs nothing. A bad name or type ->
/// `COCOON_E_SELINUX`, nothing written.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_selinux_policy(
    builder: *const cocoon_builder,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let b = unsafe { builder_ref(builder) }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let name = unsafe { selinux_text(name, "policy name") }?;
        let policy = crate::selinux::ContainerPolicy::generate(name, &b.inner).map_err(crate::Error::from)?;
        let text = policy.cil();
        // SAFETY: `needed` is NULL or writable per the contract; `buf` holds `len`.
        unsafe { crate::ffi::copy_text_out(text, buf, len, needed) };
        Ok(())
    })
}
