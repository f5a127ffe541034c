//! Random sequences of builder calls through the C ABI (the extern "C" functions called
//! directly) either succeed or fail with a negative code, a matching last-error code and a
//! non-empty message; they never crash or panic. Each sequence ends with validate + free.
//! The process handle (`cocoon_process_*`) answers every process setter exactly as the
//! builder does.

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

use cocoon::ffi::builder::*;
use cocoon::ffi::process::*;
use cocoon::ffi::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Program(Vec<u8>),
    ProgramLen(Vec<u8>),
    Args(Vec<Vec<u8>>),
    Env(Vec<Vec<u8>>),
    Cwd(Vec<u8>),
    User(u32, u32, Vec<u32>),
    UserName(Vec<u8>),
    Id(Vec<u8>),
    Namespaces(u32),
    UidRange(u32, u32, u32),
    GidRange(u32, u32, u32),
    ClearIdMaps,
    Hostname(Vec<u8>),
    HostnameLen(Vec<u8>),
    Domainname(Vec<u8>),
    TimeOffsets(u64, u64),
    RootfsDir(Vec<u8>),
    RootfsLayers(Vec<Vec<u8>>, Vec<u8>, Vec<u8>),
    HostSandbox,
    ReadOnlyRoot(c_int),
    StandardMounts(c_int),
    Bind(Vec<u8>, Vec<u8>, u32),
    Tmpfs(Vec<u8>, u64, u32, u32),
    ClearMounts,
    Masked(Vec<Vec<u8>>),
    Readonly(Vec<Vec<u8>>),
    Caps(u64, u64, u64, u64, u64),
    NoNewPrivs(c_int),
    Rlimit(c_int, u64, u64),
    Umask(u32),
    Seccomp(Vec<i64>, c_int),
    SeccompDefault,
    Oom(c_int),
    Stdio(c_int, c_int, c_int),
    Init(c_int),
    NullBuilder,
    NullString,
    EnableCgroup,
    ClearCgroup,
    CgroupParent(Vec<u8>),
    MemoryMax(u64),
    MemoryHigh(u64),
    MemoryLow(u64),
    SwapMax(u64),
    OomKillDisable(c_int),
    PidsMax(u64),
    CpuQuota(u64, u64),
    CpuBurst(u64),
    CpuWeight(u64),
    CpuShares(u64),
    Cpus(Vec<u8>),
    Mems(Vec<u8>),
    IoWeight(u32),
    IoLimit(Vec<u8>, c_int, u64),
    IoLimitDev(u32, u32, c_int, u64),
    Hugetlb(u64, u64),
    DeviceRule(c_int, c_int, u32, u32, u32),
    Proc(Vec<u8>, u32),
    BindRelabel(Vec<u8>, Vec<u8>, u32, c_int),
    Join(u32, Vec<u8>),
    ClearJoins,
    PassFd(c_int, c_int),
    ClearPassedFds,
    EnableSelinux,
    ClearSelinux,
    SelinuxUser(Vec<u8>),
    SelinuxRole(Vec<u8>),
    SelinuxProcessType(Vec<u8>),
    SelinuxFileType(Vec<u8>),
    SelinuxLevel(Vec<u8>),
    SelinuxSharedLevel(Vec<u8>),
    SelinuxMountLabel(Vec<u8>),
    SelinuxRequire(c_int),
    SelinuxMcsRange(u32, u32),
    SelinuxStateDir(Vec<u8>),
    SelinuxPolicyRoot(Vec<u8>),
}

/// Bytes biased towards interesting content: paths, NULs, '=', '..', long names.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z]{0,8}".prop_map(|s| s.into_bytes()),
        "(/[a-z.]{0,6}){0,4}".prop_map(|s| s.into_bytes()),
        "[A-Z]{0,3}=?[a-z]{0,3}".prop_map(|s| s.into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..80),
        Just(vec![b'a'; 65]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let small = || proptest::collection::vec(bytes(), 0..4);
    prop_oneof![
        bytes().prop_map(Op::Program),
        bytes().prop_map(Op::ProgramLen),
        small().prop_map(Op::Args),
        small().prop_map(Op::Env),
        bytes().prop_map(Op::Cwd),
        (any::<u32>(), any::<u32>(), proptest::collection::vec(any::<u32>(), 0..4)).prop_map(|(u, g, gs)| Op::User(u, g, gs)),
        bytes().prop_map(Op::UserName),
        bytes().prop_map(Op::Id),
        prop_oneof![any::<u32>(), 0u32..256].prop_map(Op::Namespaces),
        (any::<u32>(), any::<u32>(), 0u32..100_000).prop_map(|(a, b, c)| Op::UidRange(a, b, c)),
        (0u32..1000, 0u32..200_000, any::<u32>()).prop_map(|(a, b, c)| Op::GidRange(a, b, c)),
        Just(Op::ClearIdMaps),
        bytes().prop_map(Op::Hostname),
        bytes().prop_map(Op::HostnameLen),
        bytes().prop_map(Op::Domainname),
        (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Op::TimeOffsets(a, b)),
        bytes().prop_map(Op::RootfsDir),
        (small(), bytes(), bytes()).prop_map(|(l, u, w)| Op::RootfsLayers(l, u, w)),
        Just(Op::HostSandbox),
        any::<c_int>().prop_map(Op::ReadOnlyRoot),
        any::<c_int>().prop_map(Op::StandardMounts),
        (bytes(), bytes(), prop_oneof![0u32..32, any::<u32>()]).prop_map(|(s, t, f)| Op::Bind(s, t, f)),
        (bytes(), any::<u64>(), prop_oneof![0u32..0o20000, Just(u32::MAX)], 0u32..32).prop_map(|(t, s, m, f)| Op::Tmpfs(t, s, m, f)),
        Just(Op::ClearMounts),
        small().prop_map(Op::Masked),
        small().prop_map(Op::Readonly),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c, d, e)| Op::Caps(a, b, c, d, e)),
        any::<c_int>().prop_map(Op::NoNewPrivs),
        (-2..20, any::<u64>(), any::<u64>()).prop_map(|(r, s, h)| Op::Rlimit(r, s, h)),
        prop_oneof![0u32..0o1000, any::<u32>()].prop_map(Op::Umask),
        (proptest::collection::vec(prop_oneof![0i64..460, any::<i64>()], 0..4), prop_oneof![1..4096, any::<c_int>()])
            .prop_map(|(v, e)| Op::Seccomp(v, e)),
        Just(Op::SeccompDefault),
        prop_oneof![-1000..=1000, any::<c_int>()].prop_map(Op::Oom),
        (-1..4, -1..5, prop_oneof![Just(-1), Just(0), Just(2), Just(9999)]).prop_map(|(s, k, f)| Op::Stdio(s, k, f)),
        any::<c_int>().prop_map(Op::Init),
        Just(Op::NullBuilder),
        Just(Op::NullString),
    ]
}

/// Cgroup setters with values around their limits (a second strategy: prop_oneof! has a
/// limit on its number of arms).
fn cgroup_op() -> impl Strategy<Value = Op> {
    let size = || prop_oneof![Just(0u64), 1u64..(1 << 40), Just(i64::MAX as u64), any::<u64>()];
    let list = || prop_oneof![
        Just(b"0".to_vec()), Just(b"0-1".to_vec()), Just(b"63".to_vec()), Just(b"".to_vec()),
        "[0-9,-]{0,6}".prop_map(|s| s.into_bytes()), bytes(),
    ];
    prop_oneof![
        Just(Op::EnableCgroup),
        Just(Op::ClearCgroup),
        prop_oneof![Just(b"cocoon/x".to_vec()), bytes()].prop_map(Op::CgroupParent),
        size().prop_map(Op::MemoryMax),
        size().prop_map(Op::MemoryHigh),
        size().prop_map(Op::MemoryLow),
        size().prop_map(Op::SwapMax),
        any::<c_int>().prop_map(Op::OomKillDisable),
        prop_oneof![0u64..5_000_000, any::<u64>()].prop_map(Op::PidsMax),
        (prop_oneof![0u64..2_000_000, any::<u64>()], prop_oneof![0u64..2_000_000, any::<u64>()]).prop_map(|(q, p)| Op::CpuQuota(q, p)),
        prop_oneof![0u64..200_000, any::<u64>()].prop_map(Op::CpuBurst),
        prop_oneof![0u64..11_000, any::<u64>()].prop_map(Op::CpuWeight),
        prop_oneof![0u64..300_000, any::<u64>()].prop_map(Op::CpuShares),
        list().prop_map(Op::Cpus),
        list().prop_map(Op::Mems),
        prop_oneof![0u32..11_000, any::<u32>()].prop_map(Op::IoWeight),
        (prop_oneof![Just(b"/dev/vda".to_vec()), Just(b"/dev/null".to_vec()), bytes()], -1..5, any::<u64>())
            .prop_map(|(d, k, v)| Op::IoLimit(d, k, v)),
        (prop_oneof![Just(254u32), any::<u32>()], prop_oneof![Just(0u32), any::<u32>()], -1..5, any::<u64>())
            .prop_map(|(a, b, k, v)| Op::IoLimitDev(a, b, k, v)),
        (prop_oneof![Just(2u64 << 20), Just(1u64 << 30), any::<u64>()], prop_oneof![Just(4u64 << 20), any::<u64>()])
            .prop_map(|(p, l)| Op::Hugetlb(p, l)),
        (any::<c_int>(), -1..4, prop_oneof![Just(u32::MAX), 0u32..5000], prop_oneof![Just(u32::MAX), 0u32..(1 << 21)], 0u32..16)
            .prop_map(|(a, k, ma, mi, acc)| Op::DeviceRule(a, k, ma, mi, acc)),
    ]
}

/// The setters added with the SELinux settings: mounts, joins, passed fds, labels.
fn more_op() -> impl Strategy<Value = Op> {
    let name = || prop_oneof![
        Just(b"container_t".to_vec()), Just(b"system_u".to_vec()), Just(b"".to_vec()), Just(b"a b".to_vec()), bytes(),
    ];
    let level = || prop_oneof![
        Just(b"s0".to_vec()), Just(b"s0:c1,c2".to_vec()), Just(b"s0:c1023".to_vec()), Just(b"s0:c0.c1023".to_vec()),
        "s[0-9]{1,2}(:c[0-9]{1,4}([.,]c[0-9]{1,4}){0,2})?".prop_map(|s| s.into_bytes()), bytes(),
    ];
    let ns = || prop_oneof![Just(COCOON_NS_NET), Just(COCOON_NS_IPC), Just(COCOON_NS_UTS), any::<u32>(), 0u32..256];
    prop_oneof![
        (bytes(), prop_oneof![0u32..4, any::<u32>()]).prop_map(|(t, f)| Op::Proc(t, f)),
        (prop_oneof![Just(b"/usr".to_vec()), Just(b"/tmp/cocoon-props-x".to_vec()), bytes()], bytes(), 0u32..64, -1..3)
            .prop_map(|(s, t, f, sh)| Op::BindRelabel(s, t, f, sh)),
        (ns(), prop_oneof![Just(b"/proc/self/ns/net".to_vec()), bytes()]).prop_map(|(n, p)| Op::Join(n, p)),
        Just(Op::ClearJoins),
        (prop_oneof![Just(-1), Just(0), Just(2), Just(9999)], prop_oneof![-2..70, any::<c_int>()]).prop_map(|(f, t)| Op::PassFd(f, t)),
        Just(Op::ClearPassedFds),
        Just(Op::EnableSelinux),
        Just(Op::ClearSelinux),
        name().prop_map(Op::SelinuxUser),
        name().prop_map(Op::SelinuxRole),
        name().prop_map(Op::SelinuxProcessType),
        name().prop_map(Op::SelinuxFileType),
        level().prop_map(Op::SelinuxLevel),
        level().prop_map(Op::SelinuxSharedLevel),
        prop_oneof![Just(b"system_u:object_r:container_file_t:s0:c1,c2".to_vec()), bytes()].prop_map(Op::SelinuxMountLabel),
        any::<c_int>().prop_map(Op::SelinuxRequire),
        (prop_oneof![0u32..1100, any::<u32>()], prop_oneof![0u32..1100, any::<u32>()]).prop_map(|(a, b)| Op::SelinuxMcsRange(a, b)),
        bytes().prop_map(Op::SelinuxStateDir),
        bytes().prop_map(Op::SelinuxPolicyRoot),
    ]
}

/// NUL-terminated copies (cut at the first NUL, as C would see them).
fn c(b: &[u8]) -> CString {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    CString::new(&b[..end]).unwrap()
}

fn cs(v: &[Vec<u8>]) -> (Vec<CString>, Vec<*const c_char>) {
    let owned: Vec<CString> = v.iter().map(|b| c(b)).collect();
    let ptrs = owned.iter().map(|s| s.as_ptr()).collect();
    (owned, ptrs)
}

unsafe fn apply(b: *mut cocoon_builder, op: &Op) -> c_int {
    // SAFETY: (the whole function) every pointer passed is NULL, or points into a live local
    // CString/Vec that outlives the call; `b` is a live builder.
    unsafe {
        match op {
            Op::Program(p) => cocoon_builder_set_program(b, c(p).as_ptr()),
            Op::ProgramLen(p) => cocoon_builder_set_program_len(b, p.as_ptr().cast(), p.len()),
            Op::Args(a) => {
                let (_o, p) = cs(a);
                cocoon_builder_set_args(b, p.as_ptr(), p.len())
            }
            Op::Env(a) => {
                let (_o, p) = cs(a);
                cocoon_builder_set_env(b, p.as_ptr(), p.len())
            }
            Op::Cwd(p) => cocoon_builder_set_cwd(b, c(p).as_ptr()),
            Op::User(u, g, gs) => cocoon_builder_set_user(b, *u, *g, gs.as_ptr(), gs.len()),
            Op::UserName(n) => cocoon_builder_set_user_name(b, c(n).as_ptr()),
            Op::Id(n) => cocoon_builder_set_id(b, c(n).as_ptr()),
            Op::Namespaces(f) => cocoon_builder_set_namespaces(b, *f),
            Op::UidRange(i, o, n) => cocoon_builder_add_uid_range(b, *i, *o, *n),
            Op::GidRange(i, o, n) => cocoon_builder_add_gid_range(b, *i, *o, *n),
            Op::ClearIdMaps => cocoon_builder_clear_id_maps(b),
            Op::Hostname(n) => cocoon_builder_set_hostname(b, c(n).as_ptr()),
            Op::HostnameLen(n) => cocoon_builder_set_hostname_len(b, n.as_ptr().cast(), n.len()),
            Op::Domainname(n) => cocoon_builder_set_domainname_len(b, n.as_ptr().cast(), n.len()),
            Op::TimeOffsets(m, bt) => cocoon_builder_set_time_offsets(b, *m, *bt),
            Op::RootfsDir(p) => cocoon_builder_set_rootfs_dir(b, c(p).as_ptr()),
            Op::RootfsLayers(l, u, w) => {
                let (_o, p) = cs(l);
                cocoon_builder_set_rootfs_layers(b, p.as_ptr(), p.len(), c(u).as_ptr(), c(w).as_ptr())
            }
            Op::HostSandbox => cocoon_builder_set_rootfs_host_sandbox(b),
            Op::ReadOnlyRoot(y) => cocoon_builder_set_read_only_root(b, *y),
            Op::StandardMounts(y) => cocoon_builder_set_standard_mounts(b, *y),
            Op::Bind(s, t, f) => cocoon_builder_add_bind(b, c(s).as_ptr(), c(t).as_ptr(), *f),
            Op::Tmpfs(t, s, m, f) => cocoon_builder_add_tmpfs(b, c(t).as_ptr(), *s, *m, *f),
            Op::ClearMounts => cocoon_builder_clear_mounts(b),
            Op::Masked(a) => {
                let (_o, p) = cs(a);
                cocoon_builder_set_masked_paths(b, p.as_ptr(), p.len())
            }
            Op::Readonly(a) => {
                let (_o, p) = cs(a);
                cocoon_builder_set_readonly_paths(b, p.as_ptr(), p.len())
            }
            Op::Caps(a, e, p, i, am) => cocoon_builder_set_capabilities(b, *a, *e, *p, *i, *am),
            Op::NoNewPrivs(y) => cocoon_builder_set_no_new_privs(b, *y),
            Op::Rlimit(r, s, h) => cocoon_builder_set_rlimit(b, *r, *s, *h),
            Op::Umask(m) => cocoon_builder_set_umask(b, *m),
            Op::Seccomp(v, e) => cocoon_builder_set_seccomp_deny(b, v.as_ptr(), v.len(), *e),
            Op::SeccompDefault => cocoon_builder_set_seccomp_default_deny(b),
            Op::Oom(a) => cocoon_builder_set_oom_score_adj(b, *a),
            Op::Stdio(s, k, f) => cocoon_builder_set_stdio(b, *s, *k, *f),
            Op::Init(y) => cocoon_builder_set_init(b, *y),
            Op::NullBuilder => cocoon_builder_set_hostname(ptr::null_mut(), c"x".as_ptr()),
            Op::NullString => cocoon_builder_set_cwd(b, ptr::null()),
            Op::EnableCgroup => cocoon_builder_enable_cgroup(b),
            Op::ClearCgroup => cocoon_builder_clear_cgroup(b),
            Op::CgroupParent(p) => cocoon_builder_set_cgroup_parent(b, c(p).as_ptr()),
            Op::MemoryMax(v) => cocoon_builder_set_memory_max(b, *v),
            Op::MemoryHigh(v) => cocoon_builder_set_memory_high(b, *v),
            Op::MemoryLow(v) => cocoon_builder_set_memory_low(b, *v),
            Op::SwapMax(v) => cocoon_builder_set_swap_max(b, *v),
            Op::OomKillDisable(y) => cocoon_builder_set_oom_kill_disable(b, *y),
            Op::PidsMax(v) => cocoon_builder_set_pids_max(b, *v),
            Op::CpuQuota(q, p) => cocoon_builder_set_cpu_quota(b, *q, *p),
            Op::CpuBurst(v) => cocoon_builder_set_cpu_burst(b, *v),
            Op::CpuWeight(v) => cocoon_builder_set_cpu_weight(b, *v),
            Op::CpuShares(v) => cocoon_builder_set_cpu_shares(b, *v),
            Op::Cpus(l) => cocoon_builder_set_cpuset_cpus(b, c(l).as_ptr()),
            Op::Mems(l) => cocoon_builder_set_cpuset_mems(b, c(l).as_ptr()),
            Op::IoWeight(w) => cocoon_builder_set_io_weight(b, *w),
            Op::IoLimit(d, k, v) => cocoon_builder_add_io_limit(b, c(d).as_ptr(), *k, *v),
            Op::IoLimitDev(ma, mi, k, v) => cocoon_builder_add_io_limit_dev(b, *ma, *mi, *k, *v),
            Op::Hugetlb(p, l) => cocoon_builder_set_hugetlb_limit(b, *p, *l),
            Op::DeviceRule(a, k, ma, mi, acc) => cocoon_builder_add_device_rule(b, *a, *k, *ma, *mi, *acc),
            Op::Proc(t, f) => cocoon_builder_add_proc(b, c(t).as_ptr(), *f),
            Op::BindRelabel(s, t, f, sh) => cocoon_builder_add_bind_relabel(b, c(s).as_ptr(), c(t).as_ptr(), *f, *sh),
            Op::Join(n, p) => cocoon_builder_join_namespace(b, *n, c(p).as_ptr()),
            Op::ClearJoins => cocoon_builder_clear_namespace_joins(b),
            Op::PassFd(f, t) => cocoon_builder_pass_fd(b, *f, *t),
            Op::ClearPassedFds => cocoon_builder_clear_passed_fds(b),
            Op::EnableSelinux => cocoon_builder_enable_selinux(b),
            Op::ClearSelinux => cocoon_builder_clear_selinux(b),
            Op::SelinuxUser(n) => cocoon_builder_set_selinux_user(b, c(n).as_ptr()),
            Op::SelinuxRole(n) => cocoon_builder_set_selinux_role(b, c(n).as_ptr()),
            Op::SelinuxProcessType(n) => cocoon_builder_set_selinux_process_type(b, c(n).as_ptr()),
            Op::SelinuxFileType(n) => cocoon_builder_set_selinux_file_type(b, c(n).as_ptr()),
            Op::SelinuxLevel(l) => cocoon_builder_set_selinux_level(b, c(l).as_ptr()),
            Op::SelinuxSharedLevel(l) => cocoon_builder_set_selinux_shared_level(b, c(l).as_ptr()),
            Op::SelinuxMountLabel(l) => cocoon_builder_set_selinux_mount_label(b, c(l).as_ptr()),
            Op::SelinuxRequire(y) => cocoon_builder_set_selinux_require(b, *y),
            Op::SelinuxMcsRange(a, z) => cocoon_builder_set_selinux_mcs_range(b, *a, *z),
            Op::SelinuxStateDir(d) => cocoon_builder_set_selinux_state_dir(b, c(d).as_ptr()),
            Op::SelinuxPolicyRoot(d) => cocoon_builder_set_selinux_policy_root(b, c(d).as_ptr()),
        }
    }
}

/// `op` on a process handle, if it is a process setter (None otherwise).
unsafe fn apply_process(h: *mut cocoon_process, op: &Op) -> Option<c_int> {
    // SAFETY: (the whole function) as in `apply`; `h` is a live process handle.
    unsafe {
        Some(match op {
            Op::Program(p) => cocoon_process_set_program(h, c(p).as_ptr()),
            Op::ProgramLen(p) => cocoon_process_set_program_len(h, p.as_ptr().cast(), p.len()),
            Op::Args(a) => {
                let (_o, p) = cs(a);
                cocoon_process_set_args(h, p.as_ptr(), p.len())
            }
            Op::Env(a) => {
                let (_o, p) = cs(a);
                cocoon_process_set_env(h, p.as_ptr(), p.len())
            }
            Op::Cwd(p) => cocoon_process_set_cwd(h, c(p).as_ptr()),
            Op::User(u, g, gs) => cocoon_process_set_user(h, *u, *g, gs.as_ptr(), gs.len()),
            Op::UserName(n) => cocoon_process_set_user_name(h, c(n).as_ptr()),
            Op::Caps(a, e, p, i, am) => cocoon_process_set_capabilities(h, *a, *e, *p, *i, *am),
            Op::NoNewPrivs(y) => cocoon_process_set_no_new_privs(h, *y),
            Op::Rlimit(r, s, hd) => cocoon_process_set_rlimit(h, *r, *s, *hd),
            Op::Umask(m) => cocoon_process_set_umask(h, *m),
            Op::Seccomp(v, e) => cocoon_process_set_seccomp_deny(h, v.as_ptr(), v.len(), *e),
            Op::SeccompDefault => cocoon_process_set_seccomp_default_deny(h),
            Op::Oom(a) => cocoon_process_set_oom_score_adj(h, *a),
            Op::Stdio(s, k, f) => cocoon_process_set_stdio(h, *s, *k, *f),
            Op::PassFd(f, t) => cocoon_process_pass_fd(h, *f, *t),
            Op::ClearPassedFds => cocoon_process_clear_passed_fds(h),
            Op::NullString => cocoon_process_set_cwd(h, ptr::null()),
            _ => return None,
        })
    }
}

fn check(rc: c_int, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(rc <= 0, "{what}: positive result {rc}");
    prop_assert_ne!(rc, COCOON_E_PANIC, "{} panicked", what);
    prop_assert_eq!(cocoon_last_error_code(), rc, "{}: last error code", what);
    // SAFETY: the message is a valid C string until the next call on this thread.
    let msg = unsafe { CStr::from_ptr(cocoon_last_error_message()) }.to_string_lossy().into_owned();
    if rc < 0 {
        prop_assert!(!msg.is_empty(), "{what}: error {rc} without a message");
    } else {
        prop_assert!(msg.is_empty(), "{what}: success left a message {msg:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_builder_sequences_never_crash(ops in proptest::collection::vec(prop_oneof![3 => op(), 1 => cgroup_op(), 1 => more_op()], 0..24)) {
        let mut b: *mut cocoon_builder = ptr::null_mut();
        // SAFETY: valid program string and out pointer.
        let rc = unsafe { cocoon_builder_new(c"sh".as_ptr(), &mut b) };
        prop_assert_eq!(rc, 0);
        for op in &ops {
            // SAFETY: `b` is live; see `apply`.
            let rc = unsafe { apply(b, op) };
            check(rc, &format!("{op:?}"))?;
        }
        // SAFETY: `b` is live.
        let rc = unsafe { cocoon_builder_validate(b) };
        check(rc, "validate")?;
        // Cgroup values are checked (against the host) when they are set, so validation
        // never finds a cgroup problem the setters let through.
        prop_assert!(rc == 0 || rc == COCOON_E_INVALID_CONFIG, "validate gave {rc}");
        // SAFETY: `b` is live and freed once.
        unsafe { cocoon_builder_free(b) };
    }

    #[test]
    fn the_process_handle_answers_as_the_builder(ops in proptest::collection::vec(prop_oneof![3 => op(), 1 => more_op()], 0..24)) {
        let mut b: *mut cocoon_builder = ptr::null_mut();
        let mut h: *mut cocoon_process = ptr::null_mut();
        // SAFETY: valid program strings and out pointers.
        prop_assert_eq!(unsafe { cocoon_builder_new(c"sh".as_ptr(), &mut b) }, 0);
        // SAFETY: as above.
        prop_assert_eq!(unsafe { cocoon_process_new(c"sh".as_ptr(), &mut h) }, 0);
        for op in &ops {
            // SAFETY: `h` is live; see `apply_process`.
            let Some(rc) = (unsafe { apply_process(h, op) }) else { continue };
            check(rc, &format!("process {op:?}"))?;
            // SAFETY: `b` is live; see `apply`.
            let want = unsafe { apply(b, op) };
            prop_assert_eq!(rc, want, "{:?}: the process handle and the builder differ", op);
        }
        // SAFETY: `h` is live.
        let rc = unsafe { cocoon_process_validate(h) };
        check(rc, "validate")?;
        prop_assert_eq!(rc, 0, "the setters let an invalid process through");
        // SAFETY: both live, freed once.
        unsafe {
            cocoon_process_free(h);
            cocoon_builder_free(b);
        }
    }
}
