//! What a curriculum run saves besides weights, so it continues exactly: the current
//! [`EngineState`] and a snapshot of it at every checkpoint (`curriculum.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::curriculum::gate::StageMeasurements;
use crate::error::{Error, Result};
use crate::telemetry::GateStatus;
use crate::train::run::RunDir;

/// The engine's state file in a run directory.
pub(super) const STATE_FILE: &str = "curriculum.json";

/// One entry of the stage timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Stage index.
    pub stage: usize,
    /// Stage name.
    pub name: String,
    /// Update count on entry.
    pub entered: u64,
    /// Update count on leaving (none while current).
    pub left: Option<u64>,
    /// Why it was left: `gate`, `manual`, `budget`.
    pub reason: Option<String>,
}

/// A corrected-rollout dataset and where it belongs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Stage that collected it.
    pub stage: usize,
    /// Update count when collected.
    pub step: u64,
    /// Dataset directory.
    pub dir: PathBuf,
    /// Teacher intervention rate of the round.
    pub intervention_rate: f64,
}

/// Everything the engine needs besides weights to continue exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    /// Current stage.
    pub stage: usize,
    /// Updates so far.
    pub step: u64,
    /// Update count when the current stage began.
    pub stage_start: u64,
    /// What the current stage has measured.
    pub measurements: StageMeasurements,
    /// The last gate verdict.
    pub last_gate: Option<GateStatus>,
    /// Stage timeline.
    pub history: Vec<StageRecord>,
    /// Corrected-rollout datasets collected so far.
    pub rounds: Vec<RoundRecord>,
    /// The last stage's gate opened.
    pub completed: bool,
    /// The stage ran out of budget with its gate shut and waits for a person.
    pub stalled: bool,
    /// Success of each task at the last gate evaluation (for `success_band` sampling).
    #[serde(default)]
    pub task_success: BTreeMap<String, f64>,
}

/// The contents of [`STATE_FILE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StateFile {
    pub(super) state: EngineState,
    /// State as of each checkpoint, by update count.
    pub(super) snapshots: BTreeMap<u64, EngineState>,
}

/// Reads `run`'s state file.
pub(super) fn read_state(run: &RunDir) -> Result<StateFile> {
    let path = run.root().join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::invalid(format!("{} is damaged: {e}", path.display())))
}

/// Writes `run`'s state file (to a temporary name, then renamed).
pub(super) fn write_state(
    run: &RunDir,
    state: &EngineState,
    snapshots: &BTreeMap<u64, EngineState>,
) -> Result<()> {
    let file = StateFile {
        state: state.clone(),
        snapshots: snapshots.clone(),
    };
    crate::atomic::write_file(
        &run.root().join(STATE_FILE),
        serde_json::to_string(&file).unwrap_or_default().as_bytes(),
    )
}
