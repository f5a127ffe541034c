//! `update`: changes a running (or created, or paused) container's cgroup limits, as
//! `runc update` (what `podman update` calls). The `--resources` JSON, or else the flags,
//! make one `linux.resources` object, converted by the library's own converter
//! (the one `create` uses), and written through `CgroupHandle::update`.

use std::io::Read;

use cocoon::cgroup::CgroupHandle;
use serde_json::{json, Map, Value};

use crate::args::UpdateArgs;
use crate::state::{Record, Status};
use crate::{Failure, Global};

/// A resources file larger than this is refused (it is a few hundred bytes in practice).
const MAX_RESOURCES: u64 = 1 << 20;

pub fn update(g: &Global, a: &UpdateArgs) -> Result<u8, Failure> {
    let rec = Record::load(&g.root, &a.id)?;
    if rec.status(&g.root) == Status::Stopped {
        return Err(Failure::msg(format!("container {} is stopped: its limits cannot change", a.id)));
    }
    // As runc: a resources file is the whole update, and the flags are then not used.
    let res = match &a.resources {
        Some(p) => {
            let mut flags = Value::Object(Map::new());
            merge_flags(&mut flags, a)?;
            if flags.as_object().is_some_and(|m| !m.is_empty()) {
                eprintln!("cocoon: warning: with --resources the limit flags are ignored (as runc ignores them)");
            }
            read_resources(p)?
        }
        None => {
            let mut res = Value::Object(Map::new());
            merge_flags(&mut res, a)?;
            res
        }
    };
    let resources: oci_spec::runtime::LinuxResources =
        serde_json::from_value(res).map_err(|e| Failure::msg(format!("resources: {e}")))?;
    let (cfg, warnings) = cocoon::oci::update_from_resources(&resources).map_err(|e| Failure::Cocoon(e.to_string()))?;
    for w in warnings {
        eprintln!("cocoon: warning: {w}");
    }
    let cg = CgroupHandle::open(&rec.cgroup).map_err(|e| Failure::msg(format!("container {}: {e}", a.id)))?;
    let r = cg.update(&cfg);
    cg.release();
    r.map_err(|e| Failure::Cocoon(e.to_string()))?;
    Ok(0)
}

fn read_resources(p: &std::path::Path) -> Result<Value, Failure> {
    let mut text = String::new();
    let r = if p.as_os_str() == "-" {
        std::io::stdin().take(MAX_RESOURCES + 1).read_to_string(&mut text)
    } else {
        std::fs::File::open(p).and_then(|f| f.take(MAX_RESOURCES + 1).read_to_string(&mut text))
    };
    r.map_err(|e| Failure::msg(format!("{}: {e}", p.display())))?;
    if text.len() as u64 > MAX_RESOURCES {
        return Err(Failure::msg(format!("{}: larger than {MAX_RESOURCES} bytes", p.display())));
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| Failure::msg(format!("{}: {e}", p.display())))?;
    if !v.is_object() {
        return Err(Failure::msg(format!("{}: not a JSON object", p.display())));
    }
    Ok(v)
}

/// Sets `res[section][key] = v`, creating the section.
fn set(res: &mut Value, section: &str, key: &str, v: Value) {
    if let Value::Object(m) = res {
        let s = m.entry(section).or_insert_with(|| json!({}));
        if !s.is_object() {
            *s = json!({});
        }
        if let Value::Object(s) = s {
            s.insert(key.to_string(), v);
        }
    }
}

fn merge_flags(res: &mut Value, a: &UpdateArgs) -> Result<(), Failure> {
    for (flag, key, v) in [("--memory", "limit", &a.memory), ("--memory-reservation", "reservation", &a.memory_reservation), ("--memory-swap", "swap", &a.memory_swap)] {
        if let Some(v) = v {
            set(res, "memory", key, json!(ram_in_bytes(flag, v)?));
        }
    }
    if let Some(n) = a.pids_limit {
        set(res, "pids", "limit", json!(n));
    }
    if let Some(q) = a.cpu_quota {
        set(res, "cpu", "quota", json!(q));
    }
    if let Some(p) = a.cpu_period {
        set(res, "cpu", "period", json!(p));
    }
    if let Some(s) = a.cpu_share {
        set(res, "cpu", "shares", json!(s));
    }
    if let Some(c) = &a.cpuset_cpus {
        set(res, "cpu", "cpus", json!(c));
    }
    if let Some(m) = &a.cpuset_mems {
        set(res, "cpu", "mems", json!(m));
    }
    if let Some(w) = a.blkio_weight {
        set(res, "blockIO", "weight", json!(w));
    }
    Ok(())
}

/// runc's sizes: a number with an optional k, m, g or t suffix (powers of 1024, an
/// optional trailing `b`/`ib`); `-1` is unlimited.
fn ram_in_bytes(flag: &str, s: &str) -> Result<i64, Failure> {
    let bad = || Failure::msg(format!("{flag} {s:?}: not a size (e.g. 512m, 1g, 1048576, -1)"));
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix("ib").or_else(|| t.strip_suffix('b')).unwrap_or(&t);
    let (num, shift) = match t.as_bytes().last() {
        Some(b'k') => (&t[..t.len() - 1], 10),
        Some(b'm') => (&t[..t.len() - 1], 20),
        Some(b'g') => (&t[..t.len() - 1], 30),
        Some(b't') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: u64 = num.trim().parse().map_err(|_| bad())?;
    let v = n.checked_mul(1u64 << shift).ok_or_else(bad)?;
    i64::try_from(v).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::ram_in_bytes;

    #[test]
    fn sizes_as_runc_reads_them() {
        assert_eq!(ram_in_bytes("--memory", "1048576").ok(), Some(1 << 20));
        assert_eq!(ram_in_bytes("--memory", "64m").ok(), Some(64 << 20));
        assert_eq!(ram_in_bytes("--memory", "1G").ok(), Some(1 << 30));
        assert_eq!(ram_in_bytes("--memory", "2kb").ok(), Some(2048));
        assert_eq!(ram_in_bytes("--memory", "3MiB").ok(), Some(3 << 20));
        assert_eq!(ram_in_bytes("--memory-swap", "-1").ok(), Some(-1));
        for bad in ["", "m", "-5", "1x", "99999999999t", "1.5g"] {
            assert!(ram_in_bytes("--memory", bad).is_err(), "{bad}");
        }
    }
}
