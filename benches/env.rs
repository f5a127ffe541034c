//! Environment-variable benchmarks (criterion): setting N variables through
//! `Process::envs` (then planning the container) and through `cocoon_builder_set_env`.
//! Setting N variables must stay linear in N. Run with `cargo bench --bench env`.

use std::ffi::{c_char, CString};

use cocoon::{ContainerBuilder, Process};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn vars(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("VAR_{i}"), format!("value-{i}"))).collect()
}

fn bench_env(c: &mut Criterion) {
    let mut g = c.benchmark_group("env_vars");
    for n in [1_000usize, 10_000, 100_000] {
        let v = vars(n);
        g.bench_with_input(BenchmarkId::new("process_envs_then_prepare", n), &v, |b, v| {
            b.iter(|| {
                let p = Process::new("/bin/true").envs(v.iter().map(|(k, v)| (k, v)));
                ContainerBuilder::new(p).prepare().expect("plan")
            })
        });
        let strings: Vec<CString> = v.iter().map(|(k, v)| CString::new(format!("{k}={v}")).expect("cstring")).collect();
        let ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        g.bench_with_input(BenchmarkId::new("c_set_env", n), &ptrs, |b, ptrs| {
            let prog = CString::new("/bin/true").expect("cstring");
            let mut h = std::ptr::null_mut();
            // SAFETY: valid NUL-terminated program and out-pointer.
            assert_eq!(unsafe { cocoon::ffi::builder::cocoon_builder_new(prog.as_ptr(), &mut h) }, 0);
            b.iter(|| {
                // SAFETY: h is a live builder; ptrs holds ptrs.len() NUL-terminated strings.
                assert_eq!(unsafe { cocoon::ffi::builder::cocoon_builder_set_env(h, ptrs.as_ptr(), ptrs.len()) }, 0);
            });
            // SAFETY: h came from cocoon_builder_new and is freed once.
            unsafe { cocoon::ffi::builder::cocoon_builder_free(h) };
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_env
}
criterion_main!(benches);
