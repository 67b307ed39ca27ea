//! Telemetry: what a curriculum run tells the outside world while it trains, and the commands
//! it accepts. The app and the CLI are two faces on the same stream; the engine never knows
//! which one (if any) is listening.
//!
//! Events go to an in-process channel (for a live window) and, except the bulky probe frames,
//! to `events.jsonl` in the run directory (for `praxis curriculum status` and replaying a run
//! in the app).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::run::MetricsLine;

/// One criterion of a gate with its current value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionStatus {
    /// What is measured (`success`, `plateau`, `robustness_gap`, ...).
    pub name: String,
    /// `>=` or `<=`.
    pub comparison: String,
    /// The threshold from the curriculum file.
    pub threshold: f64,
    /// The current value (none until it has been measured).
    pub value: Option<f64>,
    /// Whether this criterion is met.
    pub met: bool,
}

/// A gate's verdict after an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateStatus {
    /// Stage index.
    pub stage: usize,
    /// Update count when it was evaluated.
    pub step: u64,
    /// Every criterion.
    pub criteria: Vec<CriterionStatus>,
    /// Whether every criterion is met.
    pub open: bool,
}

/// One re-plan of the fixed probe episode: what the policy saw, where it looked, what it
/// planned and what the teacher would have done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeFrame {
    /// Update count of the policy.
    pub step: u64,
    /// Control step within the probe episode.
    pub t: u32,
    /// Camera image, RGB u8 row-major, `size × size`.
    pub image: Vec<u8>,
    /// Image side in pixels.
    pub size: u32,
    /// Attention of each action query to each image patch, per layer and head:
    /// `[layers][heads][queries][patches]`, row-major over the patch grid.
    pub attention: Vec<Vec<Vec<Vec<f32>>>>,
    /// Attention of the action queries (averaged) to each instruction word, per layer:
    /// `[layers][words]` with the words in `words`.
    pub word_attention: Vec<Vec<f32>>,
    /// The instruction's words as the tokenizer saw them.
    pub words: Vec<String>,
    /// Patch grid side.
    pub grid: u32,
    /// Predicted effector path for the chunk, image pixels (starts at the effector).
    pub predicted: Vec<[f32; 2]>,
    /// The teacher's effector path over the same horizon, image pixels.
    pub teacher: Vec<[f32; 2]>,
    /// Whether the probe episode has succeeded by this frame.
    pub success: bool,
    /// Whether this is the episode's last frame.
    pub last: bool,
}

/// Something that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The engine is ready: the curriculum's stage names and where it stands.
    Started {
        /// Curriculum name.
        curriculum: String,
        /// Stage names in order.
        stages: Vec<String>,
        /// Current stage.
        stage: usize,
        /// Updates so far.
        step: u64,
    },
    /// A stage began.
    StageEntered {
        stage: usize,
        name: String,
        step: u64,
    },
    /// A stage ended (`reason`: `gate`, `manual`, `budget`).
    StageLeft {
        stage: usize,
        name: String,
        step: u64,
        reason: String,
    },
    /// Training metrics of the last updates.
    Metrics {
        stage: usize,
        #[serde(flatten)]
        line: MetricsLine,
    },
    /// Success of a suite at a step (nominal or perturbed).
    Evaluation {
        stage: usize,
        step: u64,
        suite: String,
        perturbed: bool,
        success: f64,
        ci95: [f64; 2],
        episodes: usize,
    },
    /// Teacher interventions in a round of corrected rollouts.
    Interventions {
        stage: usize,
        step: u64,
        rate: f64,
        labelled: usize,
    },
    /// A gate was evaluated.
    Gate(GateStatus),
    /// A probe frame (not written to `events.jsonl`).
    Probe(Box<ProbeFrame>),
    /// A checkpoint was written.
    Checkpoint { step: u64, path: PathBuf },
    /// The run was rewound to a checkpoint.
    Rewound { step: u64, stage: usize },
    /// Training paused (waiting for a command) or resumed.
    Paused { step: u64 },
    /// Training resumed after a pause.
    Resumed { step: u64 },
    /// The last stage's gate opened: the curriculum is complete.
    Completed { step: u64 },
    /// The engine stopped with an error (one line).
    Failed { message: String },
}

impl Event {
    /// Whether the event goes to `events.jsonl` (probe frames are too large).
    pub fn is_logged(&self) -> bool {
        !matches!(self, Event::Probe(_))
    }
}

/// A request to the engine from a window or a command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Train until the current stage's gate opens, then go on (until the last stage).
    Run,
    /// Stop after the current update and wait.
    Pause,
    /// Run this many updates, then pause.
    Step(u64),
    /// Evaluate the gate now.
    EvaluateGate,
    /// Leave the current stage now (manual promotion).
    Advance,
    /// Go back to a checkpoint of this run.
    Rewind(PathBuf),
    /// Save a checkpoint and end.
    Stop,
}

/// Where events go: a channel to a listener, and the run's event log.
#[derive(Debug, Default)]
pub struct Telemetry {
    listener: Option<Sender<Event>>,
    log: Option<(PathBuf, File)>,
}

impl Telemetry {
    /// Sends to `listener` (if any) and appends to `log` (if any).
    pub fn new(listener: Option<Sender<Event>>, log: Option<&Path>) -> Result<Self> {
        let log = match log {
            Some(path) => Some((
                path.to_path_buf(),
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| Error::io(path, e))?,
            )),
            None => None,
        };
        Ok(Telemetry { listener, log })
    }

    /// Sends an event to the listener only (not to the log): used to bring a new listener up
    /// to date with history that is already in the log.
    pub fn notify(&mut self, event: Event) {
        if let Some(listener) = &self.listener
            && listener.send(event).is_err()
        {
            self.listener = None;
        }
    }

    /// Emits one event. A listener that went away is forgotten, not an error.
    pub fn emit(&mut self, event: Event) -> Result<()> {
        if let Some((path, file)) = self.log.as_mut()
            && event.is_logged()
        {
            let mut line = serde_json::to_string(&event).unwrap_or_default();
            line.push('\n');
            file.write_all(line.as_bytes())
                .map_err(|e| Error::io(path.as_path(), e))?;
        }
        if let Some(listener) = &self.listener
            && listener.send(event).is_err()
        {
            self.listener = None;
        }
        Ok(())
    }
}

/// Reads an event log back (for status and replay). A line that does not parse (cut off by a
/// crash) is skipped.
pub fn read_log(path: &Path) -> Result<Vec<Event>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}
