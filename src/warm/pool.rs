//! A pool of warm containers: kept at `size` ready by refill threads, one handed out per
//! start, the unused ones torn down when the pool is dropped, and those that sat longer
//! than `max_age` recycled.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::WarmContainer;
use crate::container::Container;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::process::Process;

/// How a [`Pool`] keeps its containers.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Containers kept ready (at least 1).
    pub size: usize,
    /// Threads that prepare containers (at least 1): never more than `size` ready plus
    /// one in flight per thread.
    pub refill_threads: usize,
    /// Ready containers older than this are torn down and made again (`None`: kept).
    pub max_age: Option<Duration>,
}

impl PoolOptions {
    /// `size` ready, one refill thread, no recycling.
    pub fn new(size: usize) -> PoolOptions {
        PoolOptions { size, refill_threads: 1, max_age: None }
    }
}

/// What a pool has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Ready now.
    pub ready: usize,
    /// Being prepared now.
    pub in_flight: usize,
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

/// Keeps warm containers of one plan ready and starts processes in them.
///
/// Dropping the pool stops its threads (after the container each is preparing) and tears
/// every unused container down; containers already started are their callers'.
pub struct Pool {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("stats", &self.stats()).finish()
    }
}

struct Shared {
    plan: Plan,
    opts: PoolOptions,
    state: Mutex<State>,
    /// Refill threads wait here for room, or for the next age check.
    wake: Condvar,
}

#[derive(Default)]
struct State {
    ready: VecDeque<WarmContainer>,
    in_flight: usize,
    /// Taken by a `start` still running: it may come back (a refused process), so it
    /// counts against the size until the start is over.
    taking: usize,
    stop: bool,
    stats: PoolStats,
    last_error: Option<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding it leaves counters, never a broken container.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// After a failed preparation, the refill threads wait this long before the next.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

impl Pool {
    /// A pool of `size` ready containers of `plan`, one refill thread.
    pub fn new(plan: Plan, size: usize) -> Result<Pool> {
        Pool::with_options(plan, PoolOptions::new(size))
    }

    /// A pool kept as `opts` says. The first container is made before this returns, so
    /// that a plan that cannot be warmed fails here, with its error.
    pub fn with_options(plan: Plan, opts: PoolOptions) -> Result<Pool> {
        if opts.size == 0 || opts.refill_threads == 0 {
            return Err(Error::invalid("pool", "size and refill_threads must be at least 1"));
        }
        if opts.max_age == Some(Duration::ZERO) {
            return Err(Error::invalid("pool", "max_age must be above zero"));
        }
        let first = plan.warm()?;
        let mut state = State::default();
        state.ready.push_back(first);
        state.stats.prepared = 1;
        let shared = Arc::new(Shared { plan, opts, state: Mutex::new(state), wake: Condvar::new() });
        let mut threads = Vec::new();
        for i in 0..shared.opts.refill_threads {
            let s = Arc::clone(&shared);
            let t = std::thread::Builder::new()
                .name(format!("cocoon-pool-{i}"))
                .spawn(move || refill(&s))
                .map_err(|e| Error::os("spawn thread", "pool refill", e));
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // What was started stops again with the pool.
                    drop(Pool { shared, threads });
                    return Err(e);
                }
            }
        }
        Ok(Pool { shared, threads })
    }

    /// Starts `process` in a ready container (one made on the spot if none is ready).
    /// A process refused before it reached the container (e.g. an unknown user name, or
    /// a security setting other than the plan's: [`Error::InvalidConfig`]) leaves the
    /// container in the pool.
    pub fn start(&self, process: &Process) -> Result<Container> {
        let s = &self.shared;
        let (taken, aged) = {
            let mut st = s.lock();
            let aged = take_aged(&mut st, s.opts.max_age);
            let w = st.ready.pop_front();
            match w {
                Some(_) => st.taking += 1,
                None => st.stats.missed += 1,
            }
            (w, aged)
        };
        drop(aged);
        let took = taken.is_some();
        let w = match taken {
            Some(w) => w,
            None => {
                let w = s.plan.warm()?;
                s.lock().stats.prepared += 1;
                w
            }
        };
        let r = w.start_or_keep(process);
        let mut discard = None;
        let mut st = s.lock();
        if took {
            st.taking -= 1;
        }
        let r = match r {
            Ok(c) => {
                st.stats.started += 1;
                Ok(c)
            }
            Err((e, Some(w))) if !st.stop && st.ready.len() + st.in_flight + st.taking < s.opts.size => {
                st.ready.push_front(*w);
                Err(e)
            }
            // Spent, or no room (the pool stopped, or a miss's own container): torn down,
            // after the lock is let go.
            Err((e, back)) => {
                discard = back;
                Err(e)
            }
        };
        drop(st);
        drop(discard);
        // Room for a refill, or a container back for a waiter.
        s.wake.notify_all();
        r
    }

    /// Counters and the number ready now.
    pub fn stats(&self) -> PoolStats {
        let st = self.shared.lock();
        PoolStats { ready: st.ready.len(), in_flight: st.in_flight, ..st.stats }
    }

    /// The last preparation error of the refill threads, if any.
    pub fn last_error(&self) -> Option<String> {
        self.shared.lock().last_error.clone()
    }

    /// Waits until `n` containers are ready (at most the pool's size) or `timeout`
    /// passes; returns how many are ready.
    pub fn wait_ready(&self, n: usize, timeout: Duration) -> usize {
        let s = &self.shared;
        let n = n.min(s.opts.size);
        let deadline = std::time::Instant::now() + timeout;
        let mut st = s.lock();
        while st.ready.len() < n {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            st = s.wake.wait_timeout(st, left).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
        }
        st.ready.len()
    }
}

/// Removes the ready containers older than `max_age` (torn down by the caller, unlocked).
fn take_aged(st: &mut State, max_age: Option<Duration>) -> Vec<WarmContainer> {
    let mut aged = Vec::new();
    if let Some(max) = max_age {
        while st.ready.front().is_some_and(|w| w.age() >= max) {
            if let Some(w) = st.ready.pop_front() {
                aged.push(w);
            }
        }
        st.stats.recycled += aged.len() as u64;
    }
    aged
}

/// A refill thread: keeps `ready + in_flight + taking` at the pool's size, recycles aged ones.
fn refill(s: &Shared) {
    let mut st = s.lock();
    while !st.stop {
        let aged = take_aged(&mut st, s.opts.max_age);
        if !aged.is_empty() {
            drop(st);
            drop(aged);
            st = s.lock();
            continue;
        }
        if st.ready.len() + st.in_flight + st.taking < s.opts.size {
            st.in_flight += 1;
            drop(st);
            let made = s.plan.warm();
            st = s.lock();
            st.in_flight -= 1;
            match made {
                Ok(w) if st.stop => {
                    drop(st);
                    drop(w);
                    st = s.lock();
                }
                Ok(w) => {
                    st.ready.push_back(w);
                    st.stats.prepared += 1;
                    s.wake.notify_all();
                }
                Err(e) => {
                    st.stats.failed += 1;
                    st.last_error = Some(e.to_string());
                    st = s.wake.wait_timeout(st, RETRY_PAUSE).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
                }
            }
            continue;
        }
        // Full: sleep until a start makes room, the pool stops, or the oldest ages out.
        let nap = match (s.opts.max_age, st.ready.front()) {
            (Some(max), Some(w)) => max.saturating_sub(w.age()).max(Duration::from_millis(1)),
            _ => Duration::from_secs(1),
        };
        st = s.wake.wait_timeout(st, nap).map(|(g, _)| g).unwrap_or_else(|e| e.into_inner().0);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let ready: Vec<WarmContainer> = self.shared.lock().ready.drain(..).collect();
        drop(ready);
    }
}
