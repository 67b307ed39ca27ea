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
        /// What triggered the takeovers (absent in logs written before 2026-12-07).
        #[serde(default)]
        triggers: crate::train::recipes::dagger::Triggers,
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

    /// Emits one event. A listener that went away is forgotten, not an error. A logged line
    /// also carries `time`, the wall clock it was written at (seconds since the Unix epoch), so
    /// that how long each stage took can be read back ([`stage_seconds`]).
    pub fn emit(&mut self, event: Event) -> Result<()> {
        if let Some((path, file)) = self.log.as_mut()
            && event.is_logged()
        {
            let timed = LoggedEvent {
                event: &event,
                time: unix_seconds(),
            };
            let mut line = serde_json::to_string(&timed).unwrap_or_default();
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

/// An event as a line of `events.jsonl`: its own fields, as written before lines carried a
/// time, then `time`.
#[derive(Serialize)]
struct LoggedEvent<'a> {
    #[serde(flatten)]
    event: &'a Event,
    time: f64,
}

/// Seconds since the Unix epoch, to the millisecond (0 on a clock set before 1970).
fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64 / 1000.0)
}

/// An event read back from `events.jsonl` with the wall clock it was written at (none in logs
/// written before events carried it).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    /// Seconds since the Unix epoch.
    pub time: Option<f64>,
    /// The event.
    pub event: Event,
}

/// Reads an event log back (for status and replay). A line that does not parse (cut off by a
/// crash) is skipped.
pub fn read_log(path: &Path) -> Result<Vec<Event>> {
    Ok(read_timed_log(path)?.into_iter().map(|e| e.event).collect())
}

/// [`read_log`] with each event's time.
pub fn read_timed_log(path: &Path) -> Result<Vec<TimedEvent>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            let time = value.get("time").and_then(serde_json::Value::as_f64);
            let event = serde_json::from_value(value).ok()?;
            Some(TimedEvent { time, event })
        })
        .collect())
}

/// Wall-clock seconds a stage visit took: from the last time `stage` was entered at update
/// `entered` to when it was left at update `left`, or, for the stage still running, to the
/// log's last event. Everything in between counts: pauses, a stopped process until its
/// `--resume`, separate `curriculum step` calls, and updates a rewind later undid. None when
/// the log does not have both times (a log written before events carried them).
pub fn stage_seconds(
    log: &[TimedEvent],
    stage: usize,
    entered: u64,
    left: Option<u64>,
) -> Option<f64> {
    let start = log.iter().rev().find_map(|e| match e.event {
        Event::StageEntered { stage: s, step, .. } if s == stage && step == entered => e.time,
        _ => None,
    })?;
    let end = match left {
        Some(left) => log.iter().rev().find_map(|e| match e.event {
            Event::StageLeft { stage: s, step, .. } if s == stage && step == left => e.time,
            _ => None,
        })?,
        None => log.last()?.time?,
    };
    Some((end - start).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logged lines carry their time and read back as the same events; a stage's time runs
    /// from its entry to its exit, or to the last event while it runs; a log without times
    /// (written before they were recorded) gives none and still reads.
    #[test]
    fn logged_events_carry_their_time_and_give_each_stage_its_duration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let events = [
            Event::StageEntered {
                stage: 0,
                name: "a".into(),
                step: 0,
            },
            Event::Paused { step: 5 },
            Event::StageLeft {
                stage: 0,
                name: "a".into(),
                step: 10,
                reason: "gate".into(),
            },
            Event::StageEntered {
                stage: 1,
                name: "b".into(),
                step: 10,
            },
            Event::Metrics {
                stage: 1,
                line: crate::train::run::MetricsLine {
                    step: 11,
                    loss: 2.9154227,
                    grad_norm: 1.0,
                    lr: 1e-3,
                    samples_per_s: 1.0,
                    data_ms: 0.0,
                    update_ms: 0.0,
                    skipped: 0,
                    action_loss: None,
                    auxiliary: Default::default(),
                    rl: None,
                },
            },
            Event::Completed { step: 12 },
        ];
        let mut telemetry = Telemetry::new(None, Some(&path)).unwrap();
        for event in events.clone() {
            telemetry.emit(event).unwrap();
        }
        // a line is the event as it was written before lines carried a time (its tag first, an
        // f32 in its shortest form), then its time
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(
                "{\"event\":\"stage_entered\",\"stage\":0,\"name\":\"a\",\"step\":0,\"time\":"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[4].contains("\"loss\":2.9154227,"), "{}", lines[4]);
        let log = read_timed_log(&path).unwrap();
        assert_eq!(
            log.iter().map(|e| e.event.clone()).collect::<Vec<_>>(),
            events
        );
        assert_eq!(read_log(&path).unwrap(), events);
        let now = unix_seconds();
        assert!(
            log.iter()
                .all(|e| e.time.is_some_and(|t| t > 1.7e9 && t <= now))
        );

        // the times as written, replaced by known ones
        let mut timed = log.clone();
        for (e, t) in timed
            .iter_mut()
            .zip([100.0, 130.0, 160.0, 161.0, 200.0, 250.0])
        {
            e.time = Some(t);
        }
        assert_eq!(stage_seconds(&timed, 0, 0, Some(10)), Some(60.0));
        assert_eq!(stage_seconds(&timed, 1, 10, None), Some(89.0));
        assert_eq!(
            stage_seconds(&timed, 1, 10, Some(20)),
            None,
            "not left at 20"
        );
        assert_eq!(stage_seconds(&timed, 2, 12, None), None, "never entered");

        let old = dir.path().join("old.jsonl");
        std::fs::write(
            &old,
            "{\"event\":\"stage_entered\",\"stage\":0,\"name\":\"a\",\"step\":0}\n",
        )
        .unwrap();
        let log = read_timed_log(&old).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(stage_seconds(&log, 0, 0, None), None);
    }
}
