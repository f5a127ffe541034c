//! Unit tests of `ContainerBuilder`'s setters (`builder.rs`).
use super::*;
use proptest::prelude::*;

#[test]
fn mut_setters_build_what_the_by_value_ones_build() {
    use crate::idmap::IdRange;
    let by_value = ContainerBuilder::new(Process::new("sh").arg("-c").env("A", "1").umask(0o22))
        .id("x")
        .uid_map([IdRange::new(0, 1000, 1)])
        .gid_map([IdRange::new(0, 1000, 1)])
        .hostname("h")
        .time_offsets(TimeOffsets::default())
        .read_only_root(true)
        .mount(Mount::tmpfs("/t"))
        .masked_paths(["/m"])
        .init(true)
        .join_namespace(Namespaces::NET, "/run/netns/n");
    let mut b = ContainerBuilder::new(Process::new("sh"));
    b.process_mut().add_arg("-c").set_env("A", "1").set_umask(0o22);
    b.set_id("x")
        .add_uid_range(IdRange::new(0, 1000, 1))
        .add_gid_range(IdRange::new(0, 1000, 1))
        .set_hostname("h")
        .set_time_offsets(TimeOffsets::default())
        .set_read_only_root(true)
        .add_mount(Mount::tmpfs("/t"))
        .set_masked_paths(["/m"])
        .set_init(true)
        .add_namespace_join(Namespaces::NET, "/run/netns/n");
    assert_eq!(format!("{by_value:?}"), format!("{b:?}"));
    b.clear_id_maps().clear_mounts().clear_namespace_joins().process_mut().clear_args().clear_env();
    assert!(b.uid_map.is_empty() && b.mounts.is_empty() && b.joins.is_empty());
    assert!(b.process.args.is_empty() && b.process.env.iter().next().is_none());
}

#[test]
fn process_validate_names_the_setting() {
    let bad = [
        Process::new(""),
        Process::new("sh").cwd("rel"),
        Process::new("sh").umask(0o1000),
        Process::new("sh").oom_score_adj(1001),
        Process::new("sh").rlimit(crate::process::Rlimit::Nofile, 2, 1),
    ];
    for (p, what) in bad.iter().zip(["program", "working directory", "umask", "oom_score_adj", "rlimit"]) {
        match p.validate() {
            Err(Error::InvalidConfig { what: w, .. }) => assert_eq!(w, what),
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(Process::new("sh").validate().is_ok());
    assert!(Rootfs::Layers { lower: vec![], upper: "/u".into(), work: "/w".into() }.validate().is_err());
}

proptest! {
    #[test]
    fn hostname_length_rule(n in "[a-z0-9.-]{0,80}") {
        prop_assert_eq!(validate_hostname("hostname", &n).is_ok(), !n.is_empty() && n.len() <= 64);
    }

    #[test]
    fn id_rule(id in "[ -~]{0,70}") {
        let ok = validate_id(&id).is_ok();
        let expect = !id.is_empty() && id.len() <= 64 && !id.starts_with('.')
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        prop_assert_eq!(ok, expect);
    }
}
