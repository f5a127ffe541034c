//! C ABI of warm containers and pools: `cocoon_warm` (a container set up up to its
//! process, started with a `cocoon_process` given late) and `cocoon_pool` (keeps some
//! ready). The process handle's settings that may differ per start: program, arguments,
//! environment, working directory, user and groups, rlimits, umask, stdio and passed fds;
//! its security settings must be the builder's.

use std::ffi::c_int;
use std::time::Duration;

use super::builder::{builder_ref, cocoon_builder};
use super::container::{cocoon_container, handle};
use super::process::cocoon_process;
use super::{guard, nonnull, put, Fail, COCOON_E_NOT_CREATED};
use crate::warm::{Pool, PoolOptions, WarmContainer};

/// A warm container: set up completely (namespaces, mounts, root, cgroup, network) but
/// for its process, which `cocoon_warm_start` supplies. Opaque; created by
/// `cocoon_warm_new`, released by `cocoon_warm_free` (also after a start, which uses it
/// up). Not thread-safe: do not use one handle from two threads at once.
pub struct cocoon_warm {
    /// None once a start used it up.
    inner: Option<WarmContainer>,
}

/// A pool of warm containers of one builder, kept ready by refill threads. Opaque;
/// created by `cocoon_pool_new`, released by `cocoon_pool_free`. `cocoon_pool_start`,
/// `cocoon_pool_stats` and `cocoon_pool_wait_ready` may be called from several threads at
/// once on one pool (unlike other handles); `cocoon_pool_free` from one, after the others.
pub struct cocoon_pool {
    inner: Pool,
}

/// What a pool has done so far, filled by `cocoon_pool_stats` (a C type may not share the
/// function's name, hence `_counters`).
///
/// The struct grows at its end in later versions. Before the call set `size` to
/// `sizeof(cocoon_pool_counters)`; cocoon fills at most that many bytes and sets `size` to
/// how many it filled.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct cocoon_pool_counters {
    /// In: `sizeof(cocoon_pool_counters)` as the caller knows it. Out: the bytes cocoon filled.
    pub size: u32,
    /// Reserved (0).
    pub reserved: u32,
    /// Containers ready now.
    pub ready: u64,
    /// Containers being prepared now.
    pub in_flight: u64,
    /// Warm containers made (by the refill threads and for misses).
    pub prepared: u64,
    /// Processes started.
    pub started: u64,
    /// Starts that found the pool empty and made their container on the spot.
    pub missed: u64,
    /// Ready containers torn down for age.
    pub recycled: u64,
    /// Preparations that failed (the refill threads retry after a pause).
    pub failed: u64,
}

/// The smallest `cocoon_pool_counters.size` accepted: the size of the first version.
pub const COCOON_POOL_COUNTERS_SIZE_V1: u32 = 64;

const _: () = assert!(std::mem::size_of::<cocoon_pool_counters>() == COCOON_POOL_COUNTERS_SIZE_V1 as usize);

/// The longest wait of `cocoon_pool_wait_ready` (2^40 ms): keeps the deadline
/// representable.
const MAX_WAIT_MS: u64 = 1 << 40;

fn used_up() -> Fail {
    Fail {
        code: COCOON_E_NOT_CREATED,
        errno: 0,
        stage: 0,
        message: "the warm container was used up by an earlier start".into(),
    }
}

/// Prepares `builder` (which is not consumed) and makes a warm container of it: every
/// step but its process, held until `cocoon_warm_start`. The builder's own program is
/// not run. `COCOON_E_INVALID_CONFIG` for a builder with a Landlock ruleset (its rules
/// are planned for one program). On success `*out` receives the handle; on failure
/// nothing is left behind.
#[no_mangle]
pub unsafe extern "C" fn cocoon_warm_new(builder: *const cocoon_builder, out: *mut *mut cocoon_warm) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(builder) }?;
        nonnull(out, "out")?;
        let w = b.inner.prepare()?.warm()?;
        let h = Box::into_raw(Box::new(cocoon_warm { inner: Some(w) }));
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// Runs `process` (not consumed) in the warm container and gives the running container
/// in `*out` (release it as any `cocoon_container`). User names are looked up and PATH
/// searched in the container's root. The warm handle is used up by the call, whether it
/// succeeds or not (on failure the container is torn down): a second start gives
/// `COCOON_E_NOT_CREATED`; the handle must still be freed. Errors:
/// `COCOON_E_INVALID_CONFIG` for a process this container cannot run (e.g. an unknown
/// user, or security settings other than the builder's), `COCOON_E_SETUP` for a step
/// that failed inside it (e.g. `COCOON_STAGE_EXEC` for a missing program).
#[no_mangle]
pub unsafe extern "C" fn cocoon_warm_start(
    warm: *mut cocoon_warm,
    process: *const cocoon_process,
    out: *mut *mut cocoon_container,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let w = unsafe { warm.as_mut() }.ok_or_else(|| Fail::null("warm"))?;
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { process.as_ref() }.ok_or_else(|| Fail::null("process"))?;
        nonnull(out, "out")?;
        let inner = w.inner.take().ok_or_else(used_up)?;
        let h = handle(inner.start(&p.inner)?);
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// The host pid of the process that becomes the program. `COCOON_E_NOT_CREATED` once a
/// start used the handle up.
#[no_mangle]
pub unsafe extern "C" fn cocoon_warm_pid(warm: *const cocoon_warm, pid: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let w = unsafe { warm.as_ref() }.ok_or_else(|| Fail::null("warm"))?;
        nonnull(pid, "pid")?;
        let inner = w.inner.as_ref().ok_or_else(used_up)?;
        // SAFETY: non-NULL, writable.
        unsafe { put(pid, inner.pid()) };
        Ok(())
    })
}

/// Releases a warm handle. NULL is a no-op. An unstarted container is killed and
/// everything it had (cgroup, network, writable layer) removed; a container started from
/// it is its own handle's.
#[no_mangle]
pub unsafe extern "C" fn cocoon_warm_free(warm: *mut cocoon_warm) {
    guard(|| {
        if !warm.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_warm_new` and is freed once.
            drop(unsafe { Box::from_raw(warm) });
        }
        Ok(())
    });
}

/// Makes a pool that keeps `size` (at least 1) warm containers of `builder` (prepared
/// now, not consumed) ready, with `refill_threads` (at least 1) threads preparing them;
/// ready containers older than `max_age_ms` milliseconds are torn down and made again
/// (0: never recycled). The first container is made before this returns, so that a
/// builder that cannot be warmed fails here. `COCOON_E_INVALID_CONFIG` for a size or
/// thread count of 0. On success `*out` receives the handle.
#[no_mangle]
pub unsafe extern "C" fn cocoon_pool_new(
    builder: *const cocoon_builder,
    size: usize,
    refill_threads: usize,
    max_age_ms: u64,
    out: *mut *mut cocoon_pool,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(builder) }?;
        nonnull(out, "out")?;
        let max_age = (max_age_ms != 0).then(|| Duration::from_millis(max_age_ms));
        let pool = Pool::with_options(b.inner.prepare()?, PoolOptions { size, refill_threads, max_age })?;
        let h = Box::into_raw(Box::new(cocoon_pool { inner: pool }));
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// Runs `process` (not consumed) in a ready container of the pool (one made on the spot
/// if none is ready) and gives the running container in `*out`. Errors as
/// `cocoon_warm_start`; a process refused before it reached the container
/// (`COCOON_E_INVALID_CONFIG`) leaves that container in the pool.
#[no_mangle]
pub unsafe extern "C" fn cocoon_pool_start(
    pool: *mut cocoon_pool,
    process: *const cocoon_process,
    out: *mut *mut cocoon_container,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle; the pool is used only through
        // shared references (it synchronises itself).
        let pl = unsafe { pool.as_ref() }.ok_or_else(|| Fail::null("pool"))?;
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { process.as_ref() }.ok_or_else(|| Fail::null("process"))?;
        nonnull(out, "out")?;
        let h = handle(pl.inner.start(&p.inner)?);
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// Reads the pool's counters into `*out` (see `cocoon_pool_counters`: set
/// `out->size = sizeof(cocoon_pool_counters)` first; a size below
/// `COCOON_POOL_COUNTERS_SIZE_V1` -> `COCOON_E_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_pool_stats(pool: *const cocoon_pool, out: *mut cocoon_pool_counters) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let pl = unsafe { pool.as_ref() }.ok_or_else(|| Fail::null("pool"))?;
        nonnull(out, "out")?;
        // SAFETY: `out` is non-NULL and points to a struct of at least the `size` field
        // (every version starts with it).
        let caller_size = unsafe { std::ptr::addr_of!((*out).size).read_unaligned() };
        if caller_size < COCOON_POOL_COUNTERS_SIZE_V1 {
            return Err(Fail::arg(format!(
                "out->size is {caller_size}; set it to sizeof(cocoon_pool_counters) (at least {COCOON_POOL_COUNTERS_SIZE_V1})"
            )));
        }
        let st = pl.inner.stats();
        let n = (caller_size as usize).min(std::mem::size_of::<cocoon_pool_counters>());
        let s = cocoon_pool_counters {
            size: n as u32,
            reserved: 0,
            ready: st.ready as u64,
            in_flight: st.in_flight as u64,
            prepared: st.prepared,
            started: st.started,
            missed: st.missed,
            recycled: st.recycled,
            failed: st.failed,
        };
        // SAFETY: the caller's struct holds at least `caller_size` >= `n` writable bytes;
        // `s` is a local of `size_of::<cocoon_pool_counters>()` >= `n` bytes; no overlap.
        unsafe { std::ptr::copy_nonoverlapping((&s as *const cocoon_pool_counters).cast::<u8>(), out.cast::<u8>(), n) };
        Ok(())
    })
}

/// Waits until `n` containers are ready (at most the pool's size) or `timeout_ms`
/// milliseconds pass (at most about 34 years: a larger value waits that long);
/// `*ready` receives how many are ready.
#[no_mangle]
pub unsafe extern "C" fn cocoon_pool_wait_ready(
    pool: *mut cocoon_pool,
    n: usize,
    timeout_ms: u64,
    ready: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle; used through a shared reference.
        let pl = unsafe { pool.as_ref() }.ok_or_else(|| Fail::null("pool"))?;
        nonnull(ready, "ready")?;
        let r = pl.inner.wait_ready(n, Duration::from_millis(timeout_ms.min(MAX_WAIT_MS)));
        // SAFETY: non-NULL, writable.
        unsafe { put(ready, r) };
        Ok(())
    })
}

/// Releases a pool. NULL is a no-op. Its threads stop (after the container each is
/// preparing) and every unused container is torn down; containers started from it are
/// their own handles'.
#[no_mangle]
pub unsafe extern "C" fn cocoon_pool_free(pool: *mut cocoon_pool) {
    guard(|| {
        if !pool.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_pool_new` and is freed once.
            drop(unsafe { Box::from_raw(pool) });
        }
        Ok(())
    });
}
