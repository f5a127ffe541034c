use super::*;
use crate::capability::{CapSet, Capabilities};
use crate::net::{BridgeNetwork, Ipv4Subnet, PublishedPort};
use crate::selinux::Sharing;
use crate::{Mount, Process};

/// The perms of the rule `(allow process TY (CLASS (...)))`, if there is one.
fn perms_of(cil: &str, ty: &str, class: &str) -> Option<Vec<String>> {
    let head = format!("(allow process {ty} ({class} (");
    let line = cil.lines().map(str::trim).find(|l| l.starts_with(&head))?;
    let rest = line.strip_prefix(&head)?.strip_suffix(")))")?;
    Some(rest.split(' ').map(String::from).collect())
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cocoon-policy-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn builder() -> ContainerBuilder {
    ContainerBuilder::new(Process::new("/bin/true"))
}

#[test]
fn policy_names_are_checked() {
    for ok in ["web", "Web2", "a", "my_app_1"] {
        validate_policy_name(ok).unwrap();
        assert_eq!(ContainerPolicy::generate(ok, &builder()).unwrap().process_type(), format!("{ok}.process"));
    }
    let long = "a".repeat(MAX_POLICY_NAME_LEN + 1);
    for bad in
        ["", "1web", "_web", "web-1", "we.b", "web b", "web)", "(allow", "wéb", "container", "allow", "Block", &long]
    {
        let e = ContainerPolicy::generate(bad, &builder()).unwrap_err();
        assert!(matches!(e, SelinuxError::InvalidConfig(_)), "{bad:?}: {e:?}");
        assert!(e.to_string().contains("policy name"), "{e}");
        let e = remove(bad, Some(Path::new("/nonexistent-store"))).unwrap_err();
        assert!(matches!(e, SelinuxError::InvalidConfig(_)), "{bad:?}: {e:?}");
    }
}

#[test]
fn policy_template_and_names() {
    let p = ContainerPolicy::generate("web", &builder()).unwrap();
    assert_eq!(p.name(), "web");
    assert_eq!(p.module_name(), "cocoon_web");
    assert!(p.cil().contains("(block web\n    (blockinherit container)\n"), "{}", p.cil());
    assert!(p.cil().ends_with(")\n"));
    // balanced parentheses outside comments
    let code: String = p.cil().lines().filter(|l| !l.trim_start().starts_with(';')).collect();
    assert_eq!(code.matches('(').count(), code.matches(')').count(), "{}", p.cil());
    // no binds, ports or devices: only capability rules
    assert!(!p.cil().contains("dir ("), "{}", p.cil());
    assert!(!p.cil().contains("_socket"), "{}", p.cil());
}

#[test]
fn policy_caps_are_exactly_the_bounding_set() {
    // Docker's default: 14 capabilities, all in the capability class
    let p = ContainerPolicy::generate("d", &builder()).unwrap();
    let caps = perms_of(p.cil(), "self", "capability").unwrap();
    let mut want = vec![
        "chown",
        "dac_override",
        "fowner",
        "fsetid",
        "kill",
        "setgid",
        "setuid",
        "setpcap",
        "net_bind_service",
        "net_raw",
        "sys_chroot",
        "mknod",
        "audit_write",
        "setfcap",
    ];
    let mut got = caps.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(perms_of(p.cil(), "self", "capability2").is_none());

    // a custom set, with a capability2 member; permitted/effective narrower than bounding
    let set: CapSet = [Capability::CAP_NET_ADMIN, Capability::CAP_BPF].into_iter().collect();
    let mut c = Capabilities::uniform(set);
    c.permitted = CapSet::EMPTY;
    c.effective = CapSet::EMPTY;
    let p = ContainerPolicy::generate("c", &ContainerBuilder::new(Process::new("/x").capabilities(c))).unwrap();
    assert_eq!(perms_of(p.cil(), "self", "capability").unwrap(), vec!["net_admin"]);
    assert_eq!(perms_of(p.cil(), "self", "capability2").unwrap(), vec!["bpf"]);

    // in number order, the same text every time
    let b = ContainerBuilder::new(Process::new("/x"));
    let first = ContainerPolicy::generate("o", &b).unwrap();
    assert!(first.cil().contains("(capability (chown dac_override fowner fsetid kill setgid"), "{}", first.cil());
    for _ in 0..10 {
        assert_eq!(ContainerPolicy::generate("o", &b).unwrap(), first);
    }

    // none: no capability rule at all
    let p =
        ContainerPolicy::generate("n", &ContainerBuilder::new(Process::new("/x").capabilities(Capabilities::none())))
            .unwrap();
    assert!(!p.cil().contains("capability"), "{}", p.cil());
}

#[test]
fn policy_ro_bind_reads_rw_bind_writes() {
    let b = builder()
        .mount(Mount::bind("/srv/ro", "/ro").read_only(true))
        .mount(Mount::bind("/srv/rw", "/rw"))
        .mount(Mount::bind("/srv/plain", "/plain").read_only(true));
    let p = ContainerPolicy::generator("binds")
        .bind_type("/srv/ro", "ro_data_t")
        .bind_type("/srv/rw", "rw_data_t")
        .generate(&b)
        .unwrap();
    let cil = p.cil();
    let ro_file = perms_of(cil, "ro_data_t", "file").unwrap();
    let ro_dir = perms_of(cil, "ro_data_t", "dir").unwrap();
    for w in ["write", "append", "create", "unlink", "rename", "setattr", "execute"] {
        assert!(!ro_file.iter().any(|p| p == w), "ro bind allows {w}: {ro_file:?}");
    }
    for w in ["write", "add_name", "remove_name", "create", "rmdir"] {
        assert!(!ro_dir.iter().any(|p| p == w), "ro bind allows dir {w}: {ro_dir:?}");
    }
    for r in ["open", "read", "getattr"] {
        assert!(ro_file.iter().any(|p| p == r), "{ro_file:?}");
    }
    assert!(ro_dir.iter().any(|p| p == "search"));
    let rw_file = perms_of(cil, "rw_data_t", "file").unwrap();
    let rw_dir = perms_of(cil, "rw_data_t", "dir").unwrap();
    for w in ["read", "write", "append", "create", "unlink", "rename"] {
        assert!(rw_file.iter().any(|p| p == w), "{rw_file:?}");
    }
    for w in ["add_name", "remove_name", "create", "rmdir", "write"] {
        assert!(rw_dir.iter().any(|p| p == w), "{rw_dir:?}");
    }
    assert!(!rw_file.iter().any(|p| p == "execute"), "{rw_file:?}");
    // an unlabelled source with no override (no such path here): the documented default
    assert!(perms_of(cil, DEFAULT_FILE_TYPE, "file").is_some(), "{cil}");
    assert!(cil.contains("; bind /srv/rw -> /rw (rw): read-write"), "{cil}");
    // the two binds of one type get the union (rw)
    let b = builder().mount(Mount::bind("/a", "/a").read_only(true)).mount(Mount::bind("/b", "/b"));
    let p = ContainerPolicy::generator("u").bind_type("/a", "same_t").bind_type("/b", "same_t").generate(&b).unwrap();
    assert!(perms_of(p.cil(), "same_t", "file").unwrap().iter().any(|p| p == "write"));
    assert_eq!(p.cil().matches("(allow process same_t (file").count(), 1);
}

#[test]
fn policy_bind_types_from_labels_and_relabel() {
    let d = tmpdir("label");
    let labelled = d.join("labelled");
    std::fs::create_dir(&labelled).unwrap();
    // ext4 keeps security.selinux without SELinux (as root)
    let c = CString::new(labelled.as_os_str().as_encoded_bytes()).unwrap();
    let v = b"system_u:object_r:var_lib_t:s0\0";
    // SAFETY: valid NUL-terminated strings and a buffer of v.len() bytes.
    let r = unsafe { libc::lsetxattr(c.as_ptr(), c"security.selinux".as_ptr(), v.as_ptr().cast(), v.len(), 0) };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    let b = builder()
        .mount(Mount::bind(&labelled, "/l"))
        .mount(Mount::bind(d.join("relabelled"), "/r").selinux_relabel(Sharing::Private))
        .selinux(SelinuxConfig::new().file_type("my_file_t"));
    let p = ContainerPolicy::generate("lab", &b).unwrap();
    assert!(perms_of(p.cil(), "var_lib_t", "file").unwrap().iter().any(|p| p == "write"), "{}", p.cil());
    assert!(perms_of(p.cil(), "my_file_t", "dir").is_some(), "{}", p.cil());
    // an override wins over the label
    let p = ContainerPolicy::generator("lab").bind_type(&labelled, "other_t").generate(&b).unwrap();
    assert!(perms_of(p.cil(), "var_lib_t", "file").is_none());
    assert!(perms_of(p.cil(), "other_t", "file").is_some());
    // a bad override type is a typed error
    let e = ContainerPolicy::generator("lab").bind_type(&labelled, "bad type)").generate(&b).unwrap_err();
    assert!(matches!(e, SelinuxError::InvalidConfig(_)), "{e:?}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn policy_devices_and_ports() {
    let net = BridgeNetwork::new("cocoon0", Ipv4Subnet::new("10.88.0.0".parse().unwrap(), 16))
        .publish(PublishedPort::new(8080, 80, Protocol::Tcp))
        .publish(PublishedPort::new(5353, 5353, Protocol::Udp))
        .publish(PublishedPort::new(9000, 9000, Protocol::Tcp));
    let b = builder().network(Network::Bridge(net)).mount(Mount::device("/dev/fuse-x", "/dev/fuse", 10, 229));
    let p = ContainerPolicy::generator("net").port_type(80, Protocol::Tcp, "http_port_t").generate(&b).unwrap();
    let cil = p.cil();
    assert_eq!(perms_of(cil, "http_port_t", "tcp_socket").unwrap(), vec!["name_bind"]);
    assert_eq!(perms_of(cil, "unreserved_port_t", "tcp_socket").unwrap(), vec!["name_bind"]);
    assert_eq!(perms_of(cil, "unreserved_port_t", "udp_socket").unwrap(), vec!["name_bind"]);
    assert_eq!(perms_of(cil, "node_t", "tcp_socket").unwrap(), vec!["node_bind"]);
    assert!(perms_of(cil, "self", "tcp_socket").unwrap().iter().any(|p| p == "listen"));
    assert!(!perms_of(cil, "self", "udp_socket").unwrap().iter().any(|p| p == "listen"));
    assert_eq!(cil.matches("(allow process self (tcp_socket").count(), 1, "{cil}");
    // the device: an unlabelled node gets device_t, read-write
    let dev = perms_of(cil, DEFAULT_DEVICE_TYPE, "chr_file").unwrap();
    assert!(dev.iter().any(|p| p == "write") && dev.iter().any(|p| p == "open"), "{dev:?}");
    // a low port without a type: reserved_port_t
    let net = BridgeNetwork::new("cocoon0", Ipv4Subnet::new("10.88.0.0".parse().unwrap(), 16))
        .publish(PublishedPort::new(8443, 443, Protocol::Tcp));
    let p = ContainerPolicy::generate("lowport", &builder().network(Network::Bridge(net))).unwrap();
    assert_eq!(perms_of(p.cil(), "reserved_port_t", "tcp_socket").unwrap(), vec!["name_bind"]);
}

#[test]
fn policy_apply_sets_the_process_type() {
    let p = ContainerPolicy::generate("app", &builder()).unwrap();
    let b = p.apply(builder().selinux(SelinuxConfig::new().file_type("x_t")));
    let cfg = b.get_selinux().unwrap();
    assert_eq!(cfg.process_type.as_deref(), Some("app.process"));
    assert_eq!(cfg.file_type.as_deref(), Some("x_t"), "other settings kept");
    let b = p.apply(builder());
    assert_eq!(b.get_selinux().unwrap().process_type.as_deref(), Some("app.process"));
    cfg.validate().unwrap();
}
