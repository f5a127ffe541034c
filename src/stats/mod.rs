//! Watching containers' resource use the way monitoring stacks do: network counters per
//! interface (read in the container's own network namespace), CPU percentage between two
//! samples, and the Prometheus text format of any set of containers.
//!
//! ```no_run
//! use cocoon::stats::{cpu_percent, prometheus, ContainerMetrics};
//! # fn f(c: &cocoon::Container) -> cocoon::Result<()> {
//! let (t0, a) = (std::time::Instant::now(), c.stats()?);
//! std::thread::sleep(std::time::Duration::from_secs(1));
//! let b = c.stats()?;
//! if let (Some(x), Some(y)) = (a.cpu, b.cpu) {
//!     println!("cpu {:.1} %", cpu_percent(&x, &y, t0.elapsed()));
//! }
//! let net = c.net_stats()?;
//! print!("{}", prometheus(&[ContainerMetrics { id: c.id(), stats: &b, net: &net }]));
//! # Ok(()) }
//! ```

mod net;
mod prometheus;

pub use net::{net_stats_of_pid, InterfaceStats};
pub use prometheus::{prometheus, ContainerMetrics};

use std::time::Duration;

use crate::cgroup::CpuStats;

/// CPU use between two samples taken `wall` apart, in percent of one CPU (as `podman
/// stats` and `docker stats` show it: 200 % is two CPUs busy). 0 when `wall` is zero or
/// the counter went backwards (a different cgroup).
pub fn cpu_percent(before: &CpuStats, after: &CpuStats, wall: Duration) -> f64 {
    if wall.is_zero() || after.usage < before.usage {
        return 0.0;
    }
    (after.usage - before.usage).as_secs_f64() / wall.as_secs_f64() * 100.0
}
