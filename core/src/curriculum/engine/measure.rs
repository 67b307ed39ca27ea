//! Measuring a stage's gate: closed-loop success on the stage's tasks, under its
//! perturbations and on earlier stages' tasks as the gate asks, each reported as an event.

use super::Engine;
use crate::curriculum::gate::{self, SuccessPoint};
use crate::error::Result;
use crate::eval::{self, EvalOptions};
use crate::sim::Variations;
use crate::telemetry::{Event, GateStatus};

impl Engine {
    /// The current policy's success on `tasks` of the suite under `variations`.
    fn evaluate_tasks(&self, tasks: &[String], variations: Variations) -> Result<eval::EvalReport> {
        let mut suite = self.suite.clone();
        suite.tasks.retain(|t| tasks.contains(&t.name));
        let stage = &self.spec.stages[self.state.stage];
        eval::evaluate(
            &self.learner.policy(),
            &self.tokenizer,
            &suite,
            &EvalOptions {
                execute_steps: stage.constraints.embodiment.execute_steps,
                variations,
                seed: self.spec.seed,
                ..EvalOptions::default()
            },
            |_, _| {},
        )
    }

    /// Evaluates the current stage's gate now, records the verdict, plays the probe episode
    /// and writes a checkpoint.
    pub(super) fn measure_gate(&mut self) -> Result<GateStatus> {
        let stage = self.state.stage;
        let gate_spec = self.spec.stages[stage].gate.clone();
        let step = self.state.step;
        let tasks = self.spec.stage_tasks(&self.suite, stage);
        let nominal = self.evaluate_tasks(&tasks, Variations::default())?;
        let point = |r: &eval::EvalReport| SuccessPoint {
            step,
            rate: r.success_rate,
            episodes: r.episodes,
        };
        // a second measurement at the same update (a person asked) replaces the first, so a
        // repeated figure cannot fake a plateau
        if self
            .state
            .measurements
            .success
            .last()
            .is_some_and(|p| p.step == step)
        {
            self.state.measurements.success.pop();
        }
        self.state.measurements.success.push(point(&nominal));
        self.state.task_success = nominal
            .tasks
            .iter()
            .map(|t| (t.task.clone(), t.success_rate))
            .collect();
        // The success band may have moved: the next batch is drawn from a fresh mix.
        self.loader = None;
        self.emit_evaluation(&nominal, false)?;
        if gate_spec.robustness_gap.is_some() {
            let perturbed = self.evaluate_tasks(
                &tasks,
                crate::sim::Variations::from_names(&gate_spec.perturbations)?,
            )?;
            self.state.measurements.perturbed = Some(point(&perturbed));
            self.emit_evaluation(&perturbed, true)?;
        }
        if gate_spec.retention.is_some() {
            let mut earlier: Vec<String> = (0..stage)
                .flat_map(|s| self.spec.stage_tasks(&self.suite, s))
                .collect();
            earlier.sort();
            earlier.dedup();
            let mut retained = self.evaluate_tasks(&earlier, Variations::default())?;
            retained.suite = format!("{} (earlier stages)", retained.suite);
            self.state.measurements.retention = Some(point(&retained));
            self.emit_evaluation(&retained, false)?;
        }
        let status = gate::evaluate(&gate_spec, &self.state.measurements, stage, step);
        self.state.last_gate = Some(status.clone());
        self.emit(Event::Gate(status.clone()))?;
        self.probe()?;
        self.save_checkpoint()?;
        Ok(status)
    }

    fn emit_evaluation(&mut self, report: &eval::EvalReport, perturbed: bool) -> Result<()> {
        self.emit(Event::Evaluation {
            stage: self.state.stage,
            step: self.state.step,
            suite: report.suite.clone(),
            perturbed,
            success: report.success_rate,
            ci95: report.ci95,
            episodes: report.episodes,
        })
    }
}
