//! Training configuration, read from TOML with unknown keys rejected, and saved resolved in
//! the run directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::finetune::FinetuneConfig;
use crate::train::optimizer::OptimizerConfig;
use crate::train::recipes::augment::AugmentConfig;
use crate::train::recipes::auxiliary::AuxiliaryConfig;
use crate::train::rl::RlConfig;
use crate::train::schedule::Schedule;

/// A whole training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of everything random in the run (initial weights, batches, flow noise).
    #[serde(default)]
    pub seed: u64,
    /// Updates to run.
    pub steps: u64,
    /// Samples per update.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Write a checkpoint every this many updates (and at the end).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
    /// Write a metrics line every this many updates.
    #[serde(default = "default_log_every")]
    pub log_every: u64,
    /// Stop after this many non-finite losses or gradients in a row.
    #[serde(default = "default_max_bad_steps")]
    pub max_bad_steps: u32,
    /// Bit-for-bit reproducible updates: run the CPU kernels on one thread, so parallel float
    /// reductions always add in the same order (a resumed run then ends identical to an
    /// uninterrupted one). Costs ~15% of CPU throughput on a 2-vCPU machine; GPU backends are
    /// unaffected.
    #[serde(default = "default_deterministic")]
    pub deterministic: bool,
    /// Evaluate and save a moving average of the weights with this decay per update (e.g.
    /// 0.995); absent to save the weights themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema_decay: Option<f64>,
    /// The policy to train.
    pub model: ModelSection,
    /// Which parameters to train (full, frozen vision, head only, LoRA).
    #[serde(default)]
    pub finetune: FinetuneConfig,
    /// What to train on (with `[rl]`, the demonstrations of its imitation term, if any).
    #[serde(default)]
    pub data: DataSection,
    /// Learning-rate schedule.
    #[serde(default)]
    pub schedule: Schedule,
    /// AdamW settings.
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// Image augmentation of training samples (the `augment` recipe); off by default.
    #[serde(default, skip_serializing_if = "is_off")]
    pub augment: AugmentConfig,
    /// Auxiliary losses beside the action loss (affordance, distill, forward_kinematics,
    /// inverse_dynamics, subtask, future_latent); all off by default.
    #[serde(default, skip_serializing_if = "no_auxiliary")]
    pub auxiliary: AuxiliaryConfig,
    /// Post-training from the policy's own rollouts (GRPO, PPO or DPO) instead of from
    /// demonstrations alone; see [`crate::train::rl`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rl: Option<RlConfig>,
}

fn no_auxiliary(auxiliary: &AuxiliaryConfig) -> bool {
    !auxiliary.is_active()
}

fn is_off(augment: &AugmentConfig) -> bool {
    !augment.is_active()
}

/// `[model]`: start from a checkpoint, or from scratch with a preset and head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Checkpoint to start from (post-training); absent to start from scratch.
    pub init: Option<PathBuf>,
    /// Preset when starting from scratch.
    #[serde(default = "default_preset")]
    pub preset: String,
    /// Action head when starting from scratch (`l1`, `flow`, `bins`).
    #[serde(default = "default_head")]
    pub head: String,
}

/// `[data]`: demonstration datasets (directories written by `praxis demos`), and/or teacher
/// demonstrations the run records for itself into `RUN/data/` before training.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Dataset directories, sampled as one.
    #[serde(default)]
    pub datasets: Vec<PathBuf>,
    /// Teacher demonstrations to record at the start of the run.
    pub record: Option<RecordSection>,
    /// A LeRobot v3.0 dataset and how its features map onto the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lerobot: Option<crate::data::lerobot::LeRobotSource>,
}

/// `[data.record]`: scripted-teacher episodes recorded by the run itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSection {
    /// Built-in suite or suite TOML.
    pub suite: String,
    /// Episodes to record.
    pub episodes: usize,
    /// Teacher action noise (normalised units).
    #[serde(default)]
    pub noise: f32,
    /// Held-out variations to record under (names as in `praxis eval --variations`);
    /// `["unseen-embodiment"]` records the 4-joint arm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variations: Vec<String>,
}

fn default_batch() -> usize {
    32
}
fn default_checkpoint_every() -> u64 {
    500
}
fn default_log_every() -> u64 {
    10
}
fn default_max_bad_steps() -> u32 {
    5
}
fn default_deterministic() -> bool {
    true
}
fn default_preset() -> String {
    "s".into()
}
fn default_head() -> String {
    "l1".into()
}

/// The absolute directory of a config file: what its relative paths resolve against. Made
/// absolute because a run saves its resolved config and reads it back from the run directory;
/// a path relative to the working directory would then resolve against the run directory.
pub(crate) fn file_dir(path: &Path) -> Result<PathBuf> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::path::absolute(dir).map_err(|e| Error::io(dir, e))
}

/// `path` (absolute) named relative to the working directory, as a user who types
/// `praxis train configs/t.toml` names it: for tests of how relative names resolve.
#[cfg(test)]
pub(crate) fn relative_to_cwd(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let up = "../".repeat(cwd.components().count() - 1);
    PathBuf::from(up).join(path.strip_prefix("/").unwrap())
}

impl TrainConfig {
    /// Parses a config; relative paths are resolved against `base` (the file's directory).
    pub fn from_toml(text: &str, origin: &str, base: &Path) -> Result<Self> {
        let mut config: TrainConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            Error::invalid(format!(
                "{origin}: {}",
                message.lines().next().unwrap_or("")
            ))
        })?;
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(init) = config.model.init.as_mut() {
            resolve(init);
        }
        config.data.datasets.iter_mut().for_each(resolve);
        if let Some(lerobot) = config.data.lerobot.as_mut() {
            resolve(&mut lerobot.dir);
        }
        if let Some(rl) = config.rl.as_mut()
            && rl.suite.ends_with(".toml")
            && Path::new(&rl.suite).is_relative()
        {
            rl.suite = base.join(&rl.suite).display().to_string();
        }
        config.validate(origin)?;
        Ok(config)
    }

    /// Reads and parses a config file; relative paths resolve against its [`file_dir`], so the
    /// config a run saves (and reads again to resume, or to count its data) names the same
    /// files wherever it is read from.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, &path.display().to_string(), &file_dir(path)?)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |m: &str| Err(Error::invalid(format!("{origin}: {m}")));
        if self.steps == 0 {
            return bad("steps must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1");
        }
        if self.checkpoint_every == 0 || self.log_every == 0 {
            return bad("checkpoint_every and log_every must be at least 1");
        }
        let no_data = self.data.datasets.is_empty()
            && self.data.record.is_none()
            && self.data.lerobot.is_none();
        match &self.rl {
            None if no_data => {
                return bad("[data] lists no dataset, no LeRobot dataset, and records none");
            }
            Some(rl) => {
                if let Err(m) = rl.validate() {
                    return bad(&m);
                }
                if rl.bc_weight > 0.0 && no_data {
                    return bad("rl.bc_weight needs demonstrations: [data] lists none");
                }
                if self.ema_decay.is_some() {
                    return bad(
                        "[rl] updates the policy that collected the rollouts; ema_decay is not supported with it",
                    );
                }
                if self.auxiliary.is_active() || self.augment.is_active() {
                    return bad("[rl] runs do not train [auxiliary] losses or [augment] images");
                }
            }
            None => {}
        }
        if let Some(decay) = self.ema_decay
            && !(0.0..1.0).contains(&decay)
        {
            return bad("ema_decay must be in [0, 1)");
        }
        if !(self.schedule.lr.is_finite() && self.schedule.lr > 0.0) {
            return bad("schedule.lr must be a positive number");
        }
        if let Some(record) = &self.data.record
            && !record.variations.is_empty()
            && let Err(e) = record
                .variations
                .join(",")
                .parse::<crate::sim::Variations>()
        {
            return bad(&format!("data.record.variations: {e}"));
        }
        if let Err(m) = self.augment.validate() {
            return bad(&m);
        }
        // the chunk length is checked against the model when the run starts
        if let Err(m) = self.auxiliary.validate(usize::MAX) {
            return bad(&m);
        }
        Ok(())
    }

    /// The config as TOML (saved as `config.toml` in the run directory).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "steps = 10\n[model]\npreset = \"xs\"\n[data]\ndatasets = [\"demos\"]\n";

    #[test]
    fn minimal_config_gets_defaults_and_resolved_paths() {
        let c = TrainConfig::from_toml(MINIMAL, "t.toml", Path::new("/runs")).unwrap();
        assert_eq!(c.batch_size, 32);
        assert_eq!(c.data.datasets, vec![PathBuf::from("/runs/demos")]);
        let again = TrainConfig::from_toml(&c.to_toml(), "again", Path::new("/")).unwrap();
        assert_eq!(again, c);
    }

    /// A config named by a relative path is saved in its run directory and read back from
    /// there (to resume, or to count the run's teacher labels): it still names the same
    /// dataset, not one below the run directory.
    #[test]
    fn a_saved_config_names_the_same_files_when_read_back_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let config_dir = dir.path().join("configs");
        std::fs::create_dir_all(config_dir.join("demos")).unwrap();
        std::fs::write(config_dir.join("t.toml"), MINIMAL).unwrap();
        let relative = relative_to_cwd(&config_dir.join("t.toml"));
        assert!(relative.is_relative());
        let config = TrainConfig::load(&relative).unwrap();
        // deeper than the working directory, so the old resolution could not land by chance
        let run = dir.path().join("report/goal/seed-0/run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("config.toml"), config.to_toml()).unwrap();
        let again = TrainConfig::load(&run.join("config.toml")).unwrap();
        let dataset = &again.data.datasets[0];
        assert!(dataset.is_dir(), "{} does not exist", dataset.display());
        assert_eq!(
            dataset.canonicalize().unwrap(),
            config_dir.join("demos").canonicalize().unwrap()
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_one_line_errors() {
        let e = TrainConfig::from_toml(&format!("{MINIMAL}colour = 1\n"), "t.toml", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml") && e.contains("colour"), "{e}");
        assert!(!e.contains('\n'));
        let e = TrainConfig::from_toml(&MINIMAL.replace("10", "0"), "t.toml", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("steps must be at least 1"), "{e}");
    }
}
