//! The CPU a run trained on: its model, the vector instructions it offers and its caches.
//!
//! Why it is recorded: on the CPU backend a run's floating-point results are reproducible on
//! one kind of machine but not across kinds. Two machines of this workplace, same build and
//! same seeds, gave different (each self-consistent) numbers. The CPU kernels pick their
//! vector width at run time from the instructions the CPU offers (capping it on one machine
//! changed the losses in their last digits), and `gemm` sizes its blocks from the caches; a
//! different width or block changes the order of the sums. A run's files name the CPU so
//! that two results can be told apart by the machine that made them (see the README, "Two
//! kinds of machine").

use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One level of the CPU's data cache, as the operating system reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheLevel {
    /// 1, 2 or 3.
    pub level: u32,
    /// Size in KiB.
    pub kib: u64,
    /// Ways of associativity (0 where unreported).
    pub ways: u32,
}

/// What the CPU is, as far as it can change a numerical result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuInfo {
    /// The model name the CPU reports (`unknown` where the OS does not say).
    pub model: String,
    /// Vendor, family, model and stepping (x86 `vendor_id`, `cpu family`, `model`,
    /// `stepping`), where reported.
    pub id: Option<String>,
    /// Vector instruction sets detected at run time that the kernels may dispatch on.
    pub simd: Vec<String>,
    /// Data and unified caches of the first core, by level.
    pub caches: Vec<CacheLevel>,
}

impl CpuInfo {
    /// The CPU this process runs on (read once, then cached).
    pub fn current() -> &'static CpuInfo {
        static CURRENT: OnceLock<CpuInfo> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            let (model, id) = parse_cpuinfo(&cpuinfo);
            CpuInfo {
                model,
                id,
                simd: detected_simd(),
                caches: read_caches(Path::new("/sys/devices/system/cpu/cpu0/cache")),
            }
        })
    }

    /// One line naming everything recorded, for logs, tables and provenance, e.g.
    /// `AMD EPYC (AuthenticAMD 25/1/1; avx2 fma; L1d 32K/8 L2 512K/8 L3 32768K/16)`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(id) = &self.id {
            parts.push(id.clone());
        }
        if !self.simd.is_empty() {
            parts.push(self.simd.join(" "));
        }
        if !self.caches.is_empty() {
            let caches: Vec<String> = self
                .caches
                .iter()
                .map(|c| {
                    let name = if c.level == 1 {
                        "L1d".into()
                    } else {
                        format!("L{}", c.level)
                    };
                    format!("{name} {}K/{}", c.kib, c.ways)
                })
                .collect();
            parts.push(caches.join(" "));
        }
        match parts.is_empty() {
            true => self.model.clone(),
            false => format!("{} ({})", self.model, parts.join("; ")),
        }
    }
}

/// The model name and the vendor/family/model/stepping of the first processor in a Linux
/// `/proc/cpuinfo` (x86 names its fields `model name`, `vendor_id`, ...; ARM gives only
/// `CPU implementer`/`CPU part`, used as the id when present).
pub fn parse_cpuinfo(text: &str) -> (String, Option<String>) {
    let first = text.split("\n\n").next().unwrap_or("");
    let field = |name: &str| {
        first.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    let model = field("model name")
        .or_else(|| field("Model"))
        .unwrap_or_else(|| "unknown".into());
    let id = match (field("vendor_id"), field("cpu family"), field("model")) {
        (Some(vendor), Some(family), Some(number)) => Some(format!(
            "{vendor} {family}/{number}/{}",
            field("stepping").unwrap_or_else(|| "?".into())
        )),
        _ => match (field("CPU implementer"), field("CPU part")) {
            (Some(implementer), Some(part)) => {
                Some(format!("implementer {implementer} part {part}"))
            }
            _ => None,
        },
    };
    (model, id)
}

/// The data and unified caches under a Linux `.../cpuN/cache` directory, by level (an
/// instruction cache is left out; a missing or unreadable directory gives none).
pub fn read_caches(dir: &Path) -> Vec<CacheLevel> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let read = |index: &Path, name: &str| {
        std::fs::read_to_string(index.join(name))
            .map(|s| s.trim().to_string())
            .ok()
    };
    let mut caches: Vec<CacheLevel> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("index"))
        })
        .filter(|index| read(index, "type").is_some_and(|t| t == "Data" || t == "Unified"))
        .filter_map(|index| {
            Some(CacheLevel {
                level: read(&index, "level")?.parse().ok()?,
                kib: parse_size_kib(&read(&index, "size")?)?,
                ways: read(&index, "ways_of_associativity")
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0),
            })
        })
        .collect();
    caches.sort_by_key(|c| c.level);
    caches
}

/// A sysfs cache size (`32K`, `1M`, or plain bytes) in KiB.
fn parse_size_kib(size: &str) -> Option<u64> {
    let size = size.trim();
    match size.chars().last()? {
        'K' => size[..size.len() - 1].parse().ok(),
        'M' => size[..size.len() - 1].parse::<u64>().ok().map(|m| m * 1024),
        'G' => size[..size.len() - 1]
            .parse::<u64>()
            .ok()
            .map(|g| g * 1024 * 1024),
        _ => size.parse::<u64>().ok().map(|b| b / 1024),
    }
}

/// Vector instruction sets the CPU offers, from run-time detection.
fn detected_simd() -> Vec<String> {
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! check {
            ($($feature:tt),*) => {
                $(if std::arch::is_x86_feature_detected!($feature) {
                    found.push($feature.to_string());
                })*
            };
        }
        check!("sse4.2", "avx", "avx2", "fma", "avx512f");
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            found.push("neon".to_string());
        }
        if std::arch::is_aarch64_feature_detected!("sve") {
            found.push("sve".to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n\
        model\t\t: 1\nmodel name\t: AMD EPYC\nstepping\t: 1\n\nprocessor\t: 1\n\
        vendor_id\t: GenuineIntel\nmodel name\t: other\n";

    #[test]
    fn cpuinfo_reads_the_first_processor() {
        let (model, id) = parse_cpuinfo(X86);
        assert_eq!(model, "AMD EPYC");
        assert_eq!(id.as_deref(), Some("AuthenticAMD 25/1/1"));
    }

    #[test]
    fn cpuinfo_without_x86_fields() {
        let arm = "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";
        assert_eq!(
            parse_cpuinfo(arm),
            ("unknown".into(), Some("implementer 0x41 part 0xd0c".into()))
        );
        assert_eq!(parse_cpuinfo(""), ("unknown".into(), None));
    }

    #[test]
    fn caches_skip_instruction_caches_and_sort_by_level() {
        let dir = tempfile::tempdir().unwrap();
        let index = |i: u32, level: &str, kind: &str, size: &str, ways: &str| {
            let d = dir.path().join(format!("index{i}"));
            std::fs::create_dir(&d).unwrap();
            for (name, value) in [
                ("level", level),
                ("type", kind),
                ("size", size),
                ("ways_of_associativity", ways),
            ] {
                std::fs::write(d.join(name), format!("{value}\n")).unwrap();
            }
        };
        index(3, "3", "Unified", "32768K", "16");
        index(0, "1", "Data", "48K", "12");
        index(1, "1", "Instruction", "32K", "8");
        index(2, "2", "Unified", "2M", "16");
        let caches = read_caches(dir.path());
        assert_eq!(
            caches,
            vec![
                CacheLevel {
                    level: 1,
                    kib: 48,
                    ways: 12
                },
                CacheLevel {
                    level: 2,
                    kib: 2048,
                    ways: 16
                },
                CacheLevel {
                    level: 3,
                    kib: 32768,
                    ways: 16
                },
            ]
        );
        assert!(read_caches(&dir.path().join("absent")).is_empty());
    }

    #[test]
    fn summary_names_model_id_simd_and_caches() {
        let cpu = CpuInfo {
            model: "AMD EPYC".into(),
            id: Some("AuthenticAMD 25/1/1".into()),
            simd: vec!["avx2".into(), "fma".into()],
            caches: vec![
                CacheLevel {
                    level: 1,
                    kib: 32,
                    ways: 8,
                },
                CacheLevel {
                    level: 2,
                    kib: 512,
                    ways: 8,
                },
            ],
        };
        assert_eq!(
            cpu.summary(),
            "AMD EPYC (AuthenticAMD 25/1/1; avx2 fma; L1d 32K/8 L2 512K/8)"
        );
        let bare = CpuInfo {
            model: "unknown".into(),
            id: None,
            simd: vec![],
            caches: vec![],
        };
        assert_eq!(bare.summary(), "unknown");
    }

    #[test]
    fn the_current_cpu_is_read_once() {
        let cpu = CpuInfo::current();
        assert!(std::ptr::eq(cpu, CpuInfo::current()));
        assert!(!cpu.summary().is_empty());
    }
}
