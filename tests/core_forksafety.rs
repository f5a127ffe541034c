//! Fork safety: containers are spawned from several threads while other threads hold
//! the allocator and a mutex in a tight loop. A child that allocated or took a lock
//! between clone and exec would deadlock sooner or later; a watchdog turns a hang into
//! a clear failure.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cocoon::{ContainerBuilder, Namespaces, Process, Stdio};
use common::*;

const SPAWNERS: usize = 4;
const CHURNERS: usize = 4;
const TOTAL: usize = 2000;
const WATCHDOG: Duration = Duration::from_secs(300);

#[test]
fn concurrent_spawns_under_allocator_and_lock_churn_never_hang() {
    let _g = lock();
    let done = Arc::new(AtomicBool::new(false));
    let spawned = Arc::new(AtomicUsize::new(0));
    {
        let (done, spawned) = (done.clone(), spawned.clone());
        std::thread::spawn(move || {
            let t = Instant::now();
            while !done.load(Ordering::Relaxed) {
                if t.elapsed() > WATCHDOG {
                    eprintln!(
                        "FORK-SAFETY WATCHDOG: no completion after {WATCHDOG:?} ({} of {TOTAL} spawns done): \
                         a container child is most likely deadlocked on a lock or the allocator; aborting",
                        spawned.load(Ordering::Relaxed)
                    );
                    std::process::abort();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }
    let before = snapshot();
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(Vec::<String>::new()));
    let churn: Vec<_> = (0..CHURNERS)
        .map(|t| {
            let (stop, shared) = (stop.clone(), shared.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let v: Vec<u64> = (0..(64 + (n % 512))).collect();
                    let s: String = format!("{t}-{n}-{}", v.len()).repeat(1 + (n % 7) as usize);
                    {
                        let mut g = shared.lock().unwrap();
                        g.push(s);
                        if g.len() > 256 {
                            g.clear();
                        }
                    }
                    drop(v);
                    n = n.wrapping_add(1);
                }
                n
            })
        })
        .collect();
    let ns = Namespaces::MOUNT | Namespaces::PID | Namespaces::UTS | Namespaces::IPC;
    let plan = Arc::new(
        ContainerBuilder::new(Process::new("/bin/true").stdout(Stdio::Null).stderr(Stdio::Piped))
            .namespaces(ns)
            .prepare()
            .unwrap(),
    );
    let spawners: Vec<_> = (0..SPAWNERS)
        .map(|t| {
            let (plan, spawned) = (plan.clone(), spawned.clone());
            std::thread::spawn(move || {
                for i in 0..TOTAL / SPAWNERS {
                    // Half through the shared plan, half through a fresh builder (which
                    // allocates in the parent while others clone).
                    let mut c = if i % 2 == 0 {
                        plan.spawn()
                    } else {
                        ContainerBuilder::new(Process::new("/bin/true").stdout(Stdio::Null))
                            .namespaces(ns)
                            .hostname(format!("t{t}-{i}"))
                            .spawn()
                    }
                    .unwrap_or_else(|e| panic!("thread {t} spawn {i}: {e}"));
                    let st = c.wait().unwrap();
                    assert!(st.success(), "thread {t} spawn {i}: {st}");
                    spawned.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for s in spawners {
        s.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let churned: u64 = churn.into_iter().map(|c| c.join().unwrap()).sum();
    done.store(true, Ordering::Relaxed);
    assert_eq!(spawned.load(Ordering::Relaxed), TOTAL);
    assert!(churned > 0);
    drop(plan);
    let after = snapshot();
    assert_unchanged(&before, &after, "2000 concurrent spawns");
    assert_no_children();
}
