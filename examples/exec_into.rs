//! Starts a long-lived container (own hostname, PID and time namespaces, an init as
//! PID 1), then execs a second process into it and shows that it shares the container's
//! view: the same hostname, a PID inside the container's PID namespace, the container's
//! clock offset (uptime + 1 day), and only the container's processes.
use std::io::Read;
use std::time::Duration;

use cocoon::{ContainerBuilder, Namespaces, Process, Stdio, TimeOffsets};

fn main() -> Result<(), cocoon::Error> {
    let day = Duration::from_secs(86_400);
    let container = ContainerBuilder::new(Process::new("/bin/sleep").arg("100"))
        .namespaces(Namespaces::DEFAULT | Namespaces::TIME)
        .time_offsets(TimeOffsets { monotonic: day, boottime: day })
        .hostname("execbox")
        .init(true)
        .spawn()?;
    let script = "echo hostname=$(hostname) pid=$$ uptime=$(cut -d' ' -f1 /proc/uptime) processes=$(ls /proc | grep -c '^[0-9]')";
    let mut p = container.exec(&Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped))?;
    let mut out = String::new();
    if let Some(mut s) = p.take_stdout() {
        s.read_to_string(&mut out).map_err(|e| cocoon::Error::Os { op: "read", detail: "stdout".into(), source: e })?;
    }
    let host_uptime = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    println!("inside:  {}", out.trim());
    println!("host:    uptime={}", host_uptime.split(' ').next().unwrap_or("?"));
    println!("exec'd process ended: {}", p.wait()?);
    container.delete()?;
    Ok(())
}
