//! In-process spawn benchmarks (criterion): how long cocoon takes to create a container
//! running `/bin/true` and reap it, for growing configurations, plus exec into a running
//! container and teardown. Run with `cargo bench --bench spawn`.
//!
//! (a) mount+pid+uts+ipc  (b) + net  (c) + user namespace  (e) + overlay rootfs.
//! Every configuration pivots into the root, mounts /proc, /dev, /sys and applies the
//! masked/read-only paths, with a read-only root.

use std::path::{Path, PathBuf};

use cocoon::{ContainerBuilder, IdRange, Namespaces, Process, Rootfs, Stdio};
use criterion::{criterion_group, criterion_main, Criterion};

fn base_ns() -> Namespaces {
    Namespaces::MOUNT | Namespaces::PID | Namespaces::UTS | Namespaces::IPC
}

fn true_process() -> Process {
    Process::new("/bin/true").stdin(Stdio::Null)
}

fn run(plan: &cocoon::Plan) {
    let mut c = plan.spawn().expect("spawn");
    assert!(c.wait().expect("wait").success());
}

/// A minimal image layer: /bin/true and the libraries it loads, copied from the host.
fn true_layer(dir: &Path) {
    let files = ["/usr/bin/true", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"];
    for f in files {
        let src = std::fs::canonicalize(f).expect("host file");
        let dst = dir.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&src, &dst).expect("copy");
    }
    std::os::unix::fs::symlink("usr/bin", dir.join("bin")).expect("symlink");
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cocoon-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn bench_spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_true");
    let a = ContainerBuilder::new(true_process()).namespaces(base_ns()).read_only_root(true).prepare().expect("plan a");
    g.bench_function("a_mnt_pid_uts_ipc", |b| b.iter(|| run(&a)));
    let bnet = ContainerBuilder::new(true_process())
        .namespaces(base_ns() | Namespaces::NET)
        .read_only_root(true)
        .prepare()
        .expect("plan b");
    g.bench_function("b_plus_net", |b| b.iter(|| run(&bnet)));
    // (b) doing only the C floor's work: namespaces, pivot_root, /proc, read-only root
    // (no /dev, /sys, masked or read-only paths).
    let none: Vec<String> = Vec::new();
    let bmin = ContainerBuilder::new(true_process())
        .namespaces(base_ns() | Namespaces::NET)
        .read_only_root(true)
        .standard_mounts(false)
        .masked_paths(none.clone())
        .readonly_paths(none)
        .mount(cocoon::Mount::proc("/proc"))
        .prepare()
        .expect("plan b minimal");
    g.bench_function("b_plus_net_floor_work", |b| b.iter(|| run(&bmin)));
    // The same without the default seccomp policy: the difference is its price.
    let none: Vec<String> = Vec::new();
    let bmin_noseccomp = ContainerBuilder::new(true_process().default_seccomp(false))
        .namespaces(base_ns() | Namespaces::NET)
        .read_only_root(true)
        .standard_mounts(false)
        .masked_paths(none.clone())
        .readonly_paths(none)
        .mount(cocoon::Mount::proc("/proc"))
        .prepare()
        .expect("plan b minimal without seccomp");
    g.bench_function("b_plus_net_floor_work_no_default_seccomp", |b| b.iter(|| run(&bmin_noseccomp)));
    let cuser = ContainerBuilder::new(true_process())
        .namespaces(base_ns() | Namespaces::NET)
        .uid_map([IdRange::new(0, 100_000, 65_536)])
        .gid_map([IdRange::new(0, 100_000, 65_536)])
        .read_only_root(true)
        .prepare()
        .expect("plan c");
    g.bench_function("c_plus_userns", |b| b.iter(|| run(&cuser)));
    let dir = scratch("overlay");
    let (lower, upper, work) = (dir.join("lower"), dir.join("upper"), dir.join("work"));
    for d in [&lower, &upper, &work] {
        std::fs::create_dir_all(d).expect("layer dir");
    }
    true_layer(&lower);
    let e = ContainerBuilder::new(true_process())
        .namespaces(base_ns() | Namespaces::NET)
        .rootfs(Rootfs::layers([&lower], &upper, &work))
        .prepare()
        .expect("plan e");
    g.bench_function("e_plus_overlay", |b| b.iter(|| run(&e)));
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn bench_exec_and_teardown(c: &mut Criterion) {
    let mut g = c.benchmark_group("lifecycle");
    let sleeper = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000").stdin(Stdio::Null))
        .namespaces(base_ns() | Namespaces::NET)
        .prepare()
        .expect("plan sleeper");
    let running = sleeper.spawn().expect("spawn sleeper");
    let t = true_process();
    g.bench_function("exec_true_into_running", |b| {
        b.iter(|| {
            let mut p = running.exec(&t).expect("exec");
            assert!(p.wait().expect("wait").success());
        })
    });
    drop(running);
    g.bench_function("spawn_sleep_then_delete", |b| {
        b.iter(|| sleeper.spawn().expect("spawn").delete().expect("delete"))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench_spawn, bench_exec_and_teardown
}
criterion_main!(benches);
