//! What the window knows about a run: the telemetry events folded into series, timelines and
//! the latest probe episode. Built from the live channel or replayed from `events.jsonl`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use praxis_core::telemetry::{Event, GateStatus, ProbeFrame};

/// One stage on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSpan {
    /// Stage index.
    pub stage: usize,
    /// Stage name.
    pub name: String,
    /// Update count on entry.
    pub entered: u64,
    /// Update count on leaving, if it has been left.
    pub left: Option<u64>,
    /// Why it was left.
    pub reason: Option<String>,
}

/// The state of a run as the events tell it.
#[derive(Debug, Clone, Default)]
pub struct RunView {
    /// Curriculum name.
    pub curriculum: String,
    /// Stage names in order.
    pub stages: Vec<String>,
    /// Current stage.
    pub stage: usize,
    /// Updates so far.
    pub step: u64,
    /// Stage timeline.
    pub timeline: Vec<StageSpan>,
    /// `[step, loss]`.
    pub loss: Vec<[f64; 2]>,
    /// `[step, samples/s]`.
    pub samples_per_s: Vec<[f64; 2]>,
    /// `[step, learning rate]`.
    pub lr: Vec<[f64; 2]>,
    /// Success curves by label (`suite` or `suite (perturbed)`): `[step, success]`.
    pub success: BTreeMap<String, Vec<[f64; 2]>>,
    /// `[step, teacher intervention rate]`.
    pub interventions: Vec<[f64; 2]>,
    /// The last gate verdict.
    pub gate: Option<GateStatus>,
    /// The last complete probe episode.
    pub probe: Vec<ProbeFrame>,
    /// Frames of the probe episode being received.
    probe_incoming: Vec<ProbeFrame>,
    /// Checkpoints written, by update count.
    pub checkpoints: BTreeMap<u64, PathBuf>,
    /// Whether the trainer waits for a command.
    pub paused: bool,
    /// The curriculum is complete.
    pub completed: bool,
    /// The trainer's last error.
    pub error: Option<String>,
    /// Events folded in so far.
    pub events: usize,
}

impl RunView {
    /// Folds one event in.
    pub fn apply(&mut self, event: &Event) {
        self.events += 1;
        match event {
            Event::Started {
                curriculum,
                stages,
                stage,
                step,
            } => {
                self.curriculum = curriculum.clone();
                self.stages = stages.clone();
                self.stage = *stage;
                self.step = *step;
                self.paused = true;
            }
            Event::StageEntered { stage, name, step } => {
                self.stage = *stage;
                self.step = *step;
                self.timeline
                    .retain(|s| s.entered < *step || s.stage < *stage);
                self.timeline.push(StageSpan {
                    stage: *stage,
                    name: name.clone(),
                    entered: *step,
                    left: None,
                    reason: None,
                });
                self.gate = None;
            }
            Event::StageLeft {
                stage,
                step,
                reason,
                ..
            } => {
                if let Some(span) = self.timeline.iter_mut().rev().find(|s| s.stage == *stage) {
                    span.left = Some(*step);
                    span.reason = Some(reason.clone());
                }
            }
            Event::Metrics { line, .. } => {
                self.step = line.step;
                let x = line.step as f64;
                if line.loss.is_finite() {
                    self.loss.push([x, f64::from(line.loss)]);
                }
                self.samples_per_s.push([x, line.samples_per_s]);
                self.lr.push([x, line.lr]);
            }
            Event::Evaluation {
                step,
                suite,
                perturbed,
                success,
                ..
            } => {
                let label = if *perturbed {
                    format!("{suite} (perturbed)")
                } else {
                    suite.clone()
                };
                self.success
                    .entry(label)
                    .or_default()
                    .push([*step as f64, *success]);
            }
            Event::Interventions { step, rate, .. } => {
                self.interventions.push([*step as f64, *rate]);
            }
            Event::Gate(status) => self.gate = Some(status.clone()),
            Event::Probe(frame) => {
                if self
                    .probe_incoming
                    .first()
                    .is_some_and(|f| f.step != frame.step || frame.t == 0)
                {
                    self.probe = std::mem::take(&mut self.probe_incoming);
                }
                let last = frame.last;
                self.probe_incoming.push((**frame).clone());
                if last {
                    self.probe = std::mem::take(&mut self.probe_incoming);
                }
            }
            Event::Checkpoint { step, path } => {
                self.checkpoints.insert(*step, path.clone());
            }
            Event::Rewound { step, stage } => {
                let step = *step;
                self.step = step;
                self.stage = *stage;
                let before = |points: &mut Vec<[f64; 2]>| points.retain(|p| p[0] <= step as f64);
                before(&mut self.loss);
                before(&mut self.samples_per_s);
                before(&mut self.lr);
                before(&mut self.interventions);
                self.success.values_mut().for_each(before);
                self.checkpoints.retain(|s, _| *s <= step);
                self.timeline.retain(|s| s.entered <= step);
                if let Some(last) = self.timeline.last_mut() {
                    last.left = None;
                    last.reason = None;
                }
                self.completed = false;
                self.gate = None;
            }
            Event::Paused { .. } => self.paused = true,
            Event::Resumed { .. } => {
                self.paused = false;
                self.error = None;
            }
            Event::Completed { step } => {
                self.completed = true;
                self.step = *step;
            }
            Event::Failed { message } => {
                self.error = Some(message.clone());
                self.paused = true;
            }
        }
    }

    /// The probe frames received so far for the episode in progress, or the last complete
    /// one.
    pub fn probe_frames(&self) -> &[ProbeFrame] {
        if self.probe.is_empty() {
            &self.probe_incoming
        } else {
            &self.probe
        }
    }

    /// Replays `events` up to update `until` (for the runs panel's time slider).
    pub fn replay(events: &[Event], until: u64) -> RunView {
        let mut view = RunView::default();
        for event in events {
            if event_step(event).is_some_and(|s| s > until) {
                continue;
            }
            view.apply(event);
        }
        view
    }
}

/// The update count an event belongs to, if it has one.
pub fn event_step(event: &Event) -> Option<u64> {
    match event {
        Event::Started { step, .. }
        | Event::StageEntered { step, .. }
        | Event::StageLeft { step, .. }
        | Event::Evaluation { step, .. }
        | Event::Interventions { step, .. }
        | Event::Checkpoint { step, .. }
        | Event::Rewound { step, .. }
        | Event::Paused { step }
        | Event::Resumed { step }
        | Event::Completed { step } => Some(*step),
        Event::Metrics { line, .. } => Some(line.step),
        Event::Gate(g) => Some(g.step),
        Event::Probe(f) => Some(f.step),
        Event::Failed { .. } => None,
    }
}
