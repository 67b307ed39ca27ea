//! A run directory (DESIGN.md, "Runs on disk"):
//!
//! | path | content |
//! |---|---|
//! | `config.toml` | the resolved training config |
//! | `run.json` | seed, backend, device and versions |
//! | `metrics.jsonl` | one JSON event a line (see [`MetricsLine`]) |
//! | `checkpoints/step-NNNNNNN/` | checkpoints, written atomically |
//! | `checkpoints/latest` | the name of the newest complete checkpoint |

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::checkpoint::Provenance;
use crate::error::{Error, Result};

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsLine {
    /// Updates completed.
    pub step: u64,
    /// Training loss of the update (NaN for a skipped update; `null` in JSON).
    #[serde(with = "finite_or_null")]
    pub loss: f32,
    /// Gradient norm before clipping (NaN for a skipped update; `null` in JSON).
    #[serde(with = "finite_or_null")]
    pub grad_norm: f32,
    /// Learning rate used.
    pub lr: f64,
    /// Samples per second over the logging window.
    pub samples_per_s: f64,
    /// Mean time the update waited for its batch, ms.
    pub data_ms: f64,
    /// Mean time of the update itself (forward, backward, AdamW), ms.
    pub update_ms: f64,
    /// Updates skipped for non-finite numerics so far.
    pub skipped: u64,
    /// The action head's loss alone, when auxiliary losses are on (then `loss` is the total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_loss: Option<f32>,
    /// Each auxiliary loss term, unweighted, by name; in RL runs the update's diagnostics
    /// (`policy_loss`, `value_loss`, `clip_fraction`, `approx_kl`, `preference_accuracy`, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub auxiliary: std::collections::BTreeMap<String, f32>,
    /// In RL runs, on a round's last update: what the round's rollouts did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rl: Option<crate::train::rl::RoundMetrics>,
}

/// What `run.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Seed of the run.
    pub seed: u64,
    /// Backend, device and versions.
    pub provenance: Provenance,
    /// Scalar parameters the run trains (LoRA factors included).
    #[serde(default)]
    pub trainable_params: usize,
    /// Scalar parameters of the network being trained (LoRA factors included).
    #[serde(default)]
    pub total_params: usize,
}

/// Paths inside one run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Creates a new run directory; fails if `root` exists and is not empty, so a run is
    /// never overwritten by accident.
    pub fn create(root: &Path) -> Result<Self> {
        if root.exists() && fs::read_dir(root).map_or(true, |mut d| d.next().is_some()) {
            return Err(Error::invalid(format!(
                "run directory {} already exists; pass --resume to continue it",
                root.display()
            )));
        }
        fs::create_dir_all(root.join("checkpoints")).map_err(|e| Error::io(root, e))?;
        Ok(RunDir {
            root: root.to_path_buf(),
        })
    }

    /// Opens an existing run directory (a training run has `config.toml`, a curriculum run
    /// `curriculum.toml`).
    pub fn open(root: &Path) -> Result<Self> {
        if !root.join("config.toml").is_file() && !root.join("curriculum.toml").is_file() {
            return Err(Error::invalid(format!(
                "{} is not a run directory (no config.toml or curriculum.toml)",
                root.display()
            )));
        }
        Ok(RunDir {
            root: root.to_path_buf(),
        })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `run.json`.
    pub fn info_path(&self) -> PathBuf {
        self.root.join("run.json")
    }

    /// `metrics.jsonl`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    /// The checkpoint directory for `step`.
    pub fn checkpoint_path(&self, step: u64) -> PathBuf {
        self.root
            .join("checkpoints")
            .join(format!("step-{step:07}"))
    }

    /// Records `name` as the newest complete checkpoint.
    pub fn set_latest(&self, checkpoint: &Path) -> Result<()> {
        let name = checkpoint
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        atomic::write_file(
            &self.root.join("checkpoints").join("latest"),
            name.as_bytes(),
        )
    }

    /// The newest complete checkpoint, if any.
    pub fn latest(&self) -> Result<Option<PathBuf>> {
        let pointer = self.root.join("checkpoints").join("latest");
        match fs::read_to_string(&pointer) {
            Ok(name) => Ok(Some(self.root.join("checkpoints").join(name.trim()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&pointer, e)),
        }
    }

    /// Appends one line to `metrics.jsonl`.
    pub fn append_metrics(&self, line: &MetricsLine) -> Result<()> {
        let path = self.metrics_path();
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut text = serde_json::to_string(line).unwrap_or_default();
        text.push('\n');
        file.write_all(text.as_bytes())
            .map_err(|e| Error::io(&path, e))
    }

    /// Every metrics line (a torn last line from a crash is ignored).
    pub fn metrics(&self) -> Result<Vec<MetricsLine>> {
        let path = self.metrics_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    /// Drops metrics lines past `step` (a resumed run redoes those updates).
    pub fn truncate_metrics(&self, step: u64) -> Result<()> {
        let kept: String = self
            .metrics()?
            .into_iter()
            .filter(|m| m.step <= step)
            .map(|m| serde_json::to_string(&m).unwrap_or_default() + "\n")
            .collect();
        atomic::write_file(&self.metrics_path(), kept.as_bytes())
    }
}

/// JSON has no NaN: non-finite floats are written as `null` and read back as NaN.
mod finite_or_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f32, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f32(*value)
        } else {
            serializer.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
        Ok(Option::<f32>::deserialize(deserializer)?.unwrap_or(f32::NAN))
    }
}
