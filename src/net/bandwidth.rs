//! Bandwidth limits of a bridge container: a token bucket (tc `tbf` qdisc, made through
//! rtnetlink) as the root qdisc of the veth end the traffic leaves by. The container's
//! egress leaves by its `eth0` (shaped inside its namespace, before GO; root inside
//! without CAP_NET_ADMIN cannot remove it); its ingress leaves the host end towards it
//! (shaped on the host veth, gone with the pair).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A rate in bits per second.
///
/// Parsed like tc(8) rates: `bit`, `kbit`, `mbit`, `gbit` (bits), `bps`, `kbps`, `mbps`,
/// `gbps` (bytes), SI multiples (1 kbit = 1000 bit); `K`, `M`, `G` alone are kilo-, mega-,
/// gigabits; a bare number is bits per second.
/// ```
/// use cocoon::net::Rate;
/// assert_eq!("10mbit".parse::<Rate>()?, Rate::from_bits_per_sec(10_000_000));
/// assert_eq!("1M".parse::<Rate>()?, Rate::from_bits_per_sec(1_000_000));
/// assert_eq!("2mbps".parse::<Rate>()?, Rate::from_bits_per_sec(16_000_000));
/// # Ok::<(), cocoon::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rate(u64);

impl Rate {
    /// `bits` per second (0 is refused when the builder is validated).
    pub fn from_bits_per_sec(bits: u64) -> Rate {
        Rate(bits)
    }

    /// Bits per second.
    pub fn bits_per_sec(&self) -> u64 {
        self.0
    }

    /// Bytes per second (rounded down, at least 1 for a non-zero rate).
    pub(crate) fn bytes_per_sec(&self) -> u64 {
        (self.0 / 8).max(u64::from(self.0 > 0))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (div, unit) in [(1_000_000_000, "gbit"), (1_000_000, "mbit"), (1_000, "kbit")] {
            if b >= div && b.is_multiple_of(div) {
                return write!(f, "{}{unit}", b / div);
            }
        }
        write!(f, "{b}bit")
    }
}

impl FromStr for Rate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Rate> {
        let bad = |why: &str| Error::invalid("rate", format!("{s:?}: {why} (e.g. 10mbit, 1M, 500kbps)"));
        let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(digits);
        let n: u64 = num.parse().map_err(|_| bad("not a number"))?;
        let mul: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "bit" => 1,
            "k" | "kbit" => 1_000,
            "m" | "mbit" => 1_000_000,
            "g" | "gbit" => 1_000_000_000,
            "bps" => 8,
            "kbps" => 8_000,
            "mbps" => 8_000_000,
            "gbps" => 8_000_000_000,
            _ => return Err(bad("unknown unit")),
        };
        let r = Rate(n.checked_mul(mul).ok_or_else(|| bad("too large"))?);
        if r.0 == 0 {
            return Err(bad("a rate of 0 would stop all traffic"));
        }
        Ok(r)
    }
}

/// A rate with an optional burst (bytes sent at once after a pause; default: 20 ms at
/// the rate, at least 64 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    rate: Rate,
    burst: Option<u32>,
}

/// The smallest burst: a full-size packet and its headers must fit in the bucket.
pub const MIN_BURST: u32 = 2048;

impl RateLimit {
    /// `rate`, default burst.
    pub fn new(rate: Rate) -> RateLimit {
        RateLimit { rate, burst: None }
    }

    /// The burst in bytes (at least [`MIN_BURST`]).
    pub fn burst(mut self, bytes: u32) -> RateLimit {
        self.burst = Some(bytes);
        self
    }

    /// The rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// The burst in bytes, defaulted.
    pub fn effective_burst(&self) -> u32 {
        self.burst.unwrap_or_else(|| u32::try_from(self.rate.bytes_per_sec() / 50).unwrap_or(u32::MAX).max(64 * 1024))
    }

    /// Checks the values.
    pub fn validate(&self, what: &'static str) -> Result<()> {
        if self.rate.0 < 8 {
            return Err(Error::invalid(what, format!("{} is below 1 byte per second (0 would stop all traffic)", self.rate)));
        }
        if let Some(b) = self.burst {
            if b < MIN_BURST {
                return Err(Error::invalid(what, format!("burst {b} is below {MIN_BURST} bytes (a full packet must fit)")));
            }
        }
        Ok(())
    }

    /// The tbf options: `TCA_TBF_PARMS` (struct tc_tbf_qopt), `TCA_TBF_RATE64` when the
    /// byte rate does not fit 32 bits, and `TCA_TBF_BURST`.
    pub(crate) fn tbf_options(&self) -> Vec<(u16, Vec<u8>)> {
        const TCA_TBF_PARMS: u16 = 1;
        const TCA_TBF_RATE64: u16 = 4;
        const TCA_TBF_BURST: u16 = 6;
        const TC_LINKLAYER_ETHERNET: u8 = 1;
        let bytes = self.rate.bytes_per_sec();
        let burst = self.effective_burst();
        // The queue: a quarter second at the rate plus the burst, at least 256 KiB, so a
        // TCP flow is paced rather than dropped into backing off below the rate.
        let limit = u32::try_from((bytes / 4).saturating_add(u64::from(burst))).unwrap_or(u32::MAX).max(256 * 1024);
        // The bucket in scheduler ticks (64 ns, PSCHED_SHIFT 6); the kernel recomputes it
        // from TCA_TBF_BURST, this keeps the struct consistent.
        let ticks = u32::try_from(u128::from(burst) * 1_000_000_000 / u128::from(bytes) / 64).unwrap_or(u32::MAX);
        let mut q = Vec::with_capacity(36);
        // struct tc_ratespec rate: cell_log, linklayer, overhead, cell_align, mpu, rate.
        q.extend_from_slice(&[0, TC_LINKLAYER_ETHERNET]);
        q.extend_from_slice(&0u16.to_ne_bytes());
        q.extend_from_slice(&0i16.to_ne_bytes());
        q.extend_from_slice(&0u16.to_ne_bytes());
        q.extend_from_slice(&u32::try_from(bytes).unwrap_or(u32::MAX).to_ne_bytes());
        // struct tc_ratespec peakrate: unused.
        q.extend_from_slice(&[0; 12]);
        q.extend_from_slice(&limit.to_ne_bytes());
        q.extend_from_slice(&ticks.to_ne_bytes());
        q.extend_from_slice(&0u32.to_ne_bytes()); // mtu: only for a peak rate
        let mut v = vec![(TCA_TBF_PARMS, q)];
        if bytes > u64::from(u32::MAX) {
            v.push((TCA_TBF_RATE64, bytes.to_ne_bytes().to_vec()));
        }
        v.push((TCA_TBF_BURST, burst.to_ne_bytes().to_vec()));
        v
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} burst {} bytes", self.rate, self.effective_burst())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        for (s, bits) in [("10mbit", 10_000_000), ("1M", 1_000_000), ("500kbps", 4_000_000), ("1gbit", 1_000_000_000), ("800", 800), ("3G", 3_000_000_000)] {
            assert_eq!(s.parse::<Rate>().expect("parse").bits_per_sec(), bits, "{s}");
        }
        for bad in ["0", "0mbit", "", "mbit", "10 mbit", "10furlongs", "99999999999999999999", "18446744073709551615gbps"] {
            assert!(matches!(bad.parse::<Rate>(), Err(Error::InvalidConfig { what: "rate", .. })), "{bad}");
        }
        assert_eq!(Rate::from_bits_per_sec(10_000_000).to_string(), "10mbit");
        assert_eq!(Rate::from_bits_per_sec(1500).to_string(), "1500bit");
        assert!(RateLimit::new(Rate::from_bits_per_sec(0)).validate("egress rate").is_err());
        assert!(RateLimit::new(Rate::from_bits_per_sec(8000)).burst(100).validate("egress rate").is_err());
        let o = RateLimit::new("10mbit".parse().expect("r")).tbf_options();
        assert_eq!(o[0].1.len(), 36);
        assert_eq!(o[0].1[8..12], 1_250_000u32.to_ne_bytes());
        let big = RateLimit::new("40gbit".parse().expect("r")).tbf_options();
        assert_eq!(big[1].0, 4);
    }
}
