//! Facts about the machine and the build, recorded with every benchmark and run.

use serde::Serialize;

/// Versions and machine facts.
#[derive(Debug, Clone, Serialize)]
pub struct SystemInfo {
    /// Praxis version.
    pub praxis: String,
    /// Burn version.
    pub burn: String,
    /// Logical CPU cores available to this process.
    pub cpu_threads: usize,
    /// Operating system and architecture.
    pub os: String,
    /// The CPU: model, vector instructions and caches (they decide the kernels' speed and
    /// their rounding).
    pub cpu: crate::cpu::CpuInfo,
}

impl SystemInfo {
    /// The current process's view.
    pub fn current() -> Self {
        SystemInfo {
            praxis: crate::VERSION.into(),
            burn: crate::BURN_VERSION.into(),
            cpu_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            cpu: crate::cpu::CpuInfo::current().clone(),
        }
    }
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), if the OS reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
