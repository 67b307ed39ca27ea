//! What a (run, seed) reached, as written to its `result.json`, and where it lives in a
//! report directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Success on one eval target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target, as the table shows it.
    pub target: String,
    /// Episodes that succeeded.
    pub successes: usize,
    /// Episodes run.
    pub episodes: usize,
    /// Mean fraction of sub-goals completed per episode (absent in results written before
    /// it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subgoals_done: Option<f64>,
}

/// What one (run, seed) reached; written as `result.json` in its directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    /// Run name.
    pub run: String,
    /// Training seed.
    pub seed: u64,
    /// Updates trained.
    pub updates: u64,
    /// Wall time of the training (of its last session, when it was resumed).
    pub train_seconds: f64,
    /// Whether the training was continued after a stop.
    pub resumed: bool,
    /// Trainable and total scalar parameters.
    pub params: (usize, usize),
    /// Teacher-labelled samples the run trained on (demonstration frames plus corrected
    /// frames); of its own data, not of the run it started from.
    pub teacher_labels: usize,
    /// Per eval target.
    pub targets: Vec<TargetResult>,
    /// The final checkpoint.
    pub checkpoint: PathBuf,
    /// The budget scale it was trained at (a report directory holds one budget).
    pub budget_scale: f64,
    /// [`fingerprint`](super::fingerprint()) of what it was trained from (absent in results written before it was
    /// recorded, which are reused as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// How many pairs trained side by side while this one did (`--jobs`); its wall time is
    /// its share of the machine, not the machine to itself.
    #[serde(default = "one_job")]
    pub jobs: usize,
    /// The CPU it trained on ([`crate::cpu::CpuInfo::summary`]): on the CPU backend a result
    /// is exact on one kind of CPU, not across kinds. Absent in results written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
}

fn one_job() -> usize {
    1
}

/// File holding a (run, seed)'s [`SeedResult`].
pub const RESULT_FILE: &str = "result.json";

/// Where a (run, seed) lives in the report directory.
pub fn seed_dir(out: &Path, run: &str, seed: u64) -> PathBuf {
    out.join(run).join(format!("seed-{seed}"))
}

/// The [`SeedResult`] in the file at `path`.
pub(super) fn read_result(path: &Path) -> Result<SeedResult> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results written before the sub-goal fraction was recorded still load.
    #[test]
    fn results_without_sub_goals_still_load() {
        let json = r#"{"target": "goal", "successes": 3, "episodes": 10}"#;
        let t: TargetResult = serde_json::from_str(json).unwrap();
        assert_eq!(t.subgoals_done, None);
    }
}
