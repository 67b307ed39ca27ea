//! The data a stage trains on: the teacher's demonstrations, recorded per task when the run
//! starts, the corrected rounds DAgger collects as it goes, and the loader that mixes them by
//! the stage's signal weights.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{DAGGER_SEED_OFFSET, Engine, RoundRecord};
use crate::curriculum::spec::CurriculumSpec;
use crate::data::{Dataset, DatasetWriter, RecordOptions};
use crate::error::{Error, Result};
use crate::sim::Suite;
use crate::telemetry::Event;
use crate::train::loader::{DataMix, Loader};
use crate::train::recipes::{dagger, success_band};
use crate::train::run::RunDir;

/// A data-layer error as the engine reports it.
pub(super) fn data_error(e: crate::data::DataError) -> Error {
    Error::invalid(e.to_string())
}

impl Engine {
    /// The tasks a `success_band` signal draws demonstrations from now: the current stage's
    /// tasks whose success at the last evaluation was 10–90% (all of them before the first
    /// evaluation or when none is in the band).
    pub fn practice_tasks(&self) -> Vec<String> {
        let tasks = self.spec.stage_tasks(&self.suite, self.state.stage);
        success_band::select(&tasks, &self.state.task_success)
    }

    /// A loader of the current stage's data mix, from the current update to the stage's end.
    pub(super) fn spawn_loader(&self) -> Result<Loader> {
        let stage = self.state.stage;
        let spec = &self.spec.stages[stage];
        let open = |dir: &Path| Dataset::open(dir).map_err(data_error);
        let tasks = self.spec.stage_tasks(&self.suite, stage);
        let demos = |tasks: &[String]| -> Result<Vec<Dataset>> {
            tasks
                .iter()
                .map(|t| open(&demo_dir(&self.run, t)))
                .collect()
        };
        let imitation = spec
            .signals
            .get("imitation")
            .map(|&w| Ok::<_, Error>((demos(&tasks)?, w)))
            .transpose()?;
        let dagger = spec
            .signals
            .get("dagger")
            .map(|&w| -> Result<_> {
                let rounds = self
                    .state
                    .rounds
                    .iter()
                    .filter(|r| r.stage == stage)
                    .map(|r| open(&r.dir))
                    .collect::<Result<Vec<_>>>()?;
                Ok((rounds, w))
            })
            .transpose()?;
        let mut groups = demonstrations_and_corrections(imitation, dagger, spec.dagger.pooled);
        if let Some(&w) = spec.signals.get("success_band") {
            groups.push((demos(&self.practice_tasks())?, w));
        }
        if let Some(&w) = spec.signals.get("replay") {
            let mut earlier = Vec::new();
            for s in 0..stage {
                earlier.extend(demos(&self.spec.stage_tasks(&self.suite, s))?);
                for r in self.state.rounds.iter().filter(|r| r.stage == s) {
                    earlier.push(open(&r.dir)?);
                }
            }
            groups.push((earlier, w));
        }
        let mix = DataMix::weighted(groups, self.model.chunk_len)?
            .with_augment(spec.constraints.environment.augment)
            .with_auxiliary(self.learner.auxiliary_horizon());
        Ok(Loader::spawn(
            Arc::new(mix),
            self.model.clone(),
            self.tokenizer.clone(),
            self.spec.batch_size,
            self.spec.seed,
            self.state.step..self.state.stage_start + self.stage_budget(),
            4,
        ))
    }

    /// Collects one corrected round with the current policy (the teacher taking over where
    /// it strays), writes it as a dataset and adds it to the stage's data.
    pub(super) fn dagger_round(&mut self) -> Result<()> {
        let stage = self.state.stage;
        let spec = self.spec.stages[stage].clone();
        let tasks = match spec.dagger.success_band {
            true => self.practice_tasks(),
            false => self.spec.stage_tasks(&self.suite, stage),
        };
        let policy = self.learner.policy();
        let round = dagger::collect(
            &policy,
            &self.tokenizer,
            &self.suite,
            &tasks,
            self.spec.seed + DAGGER_SEED_OFFSET + self.state.step * 1000,
            crate::sim::Variations::from_names(&spec.constraints.environment.variations)?,
            &dagger::DaggerOptions {
                execute_steps: spec.constraints.embodiment.execute_steps,
                teacher_smoothing: self.spec.teacher_smoothing,
                ..spec.dagger.clone()
            },
        )?;
        // a round in which the teacher never took over (labels = "takeover") adds no data
        if !round.episodes.is_empty() {
            let dir = self
                .run
                .root()
                .join("data")
                .join("corrections")
                .join(format!("stage{stage}-step{:07}", self.state.step));
            write_episodes(
                &dir,
                &self.suite,
                &round.episodes,
                self.spec.teacher_smoothing,
            )?;
            self.state.rounds.push(RoundRecord {
                stage,
                step: self.state.step,
                dir,
                intervention_rate: round.intervention_rate,
            });
        }
        self.state.measurements.intervention_rate = Some(round.intervention_rate);
        self.loader = None;
        self.emit(Event::Interventions {
            stage,
            step: self.state.step,
            rate: round.intervention_rate,
            labelled: round.labelled,
            triggers: round.triggers,
        })
    }
}

/// The data groups of a stage's `imitation` and `dagger` signals, each a set of datasets and
/// its weight: two groups, or with `pooled` one, in which every demonstration and every
/// correction is equally likely, drawn at the two weights together (DAgger's aggregate
/// dataset).
fn demonstrations_and_corrections<D>(
    imitation: Option<(Vec<D>, f64)>,
    dagger: Option<(Vec<D>, f64)>,
    pooled: bool,
) -> Vec<(Vec<D>, f64)> {
    match (imitation, dagger) {
        (Some((mut demos, wi)), Some((corrections, wd))) if pooled => {
            demos.extend(corrections);
            vec![(demos, wi + wd)]
        }
        (imitation, dagger) => imitation.into_iter().chain(dagger).collect(),
    }
}

/// Where the demonstrations of `task` live in the run directory.
fn demo_dir(run: &RunDir, task: &str) -> PathBuf {
    run.root().join("data").join("demos").join(task)
}

/// Records the curriculum's demonstrations, split evenly over the suite's tasks, one dataset
/// per task (so a stage can train on just its own tasks).
pub(super) fn record_demos(run: &RunDir, spec: &CurriculumSpec, suite: &Suite) -> Result<()> {
    let per_task = spec.demos.div_ceil(suite.tasks.len()).max(1);
    for (k, task) in suite.tasks.iter().enumerate() {
        let mut one = suite.clone();
        one.tasks.retain(|t| t.name == task.name);
        crate::data::record_suite_demos(
            &one,
            &RecordOptions {
                suite: suite.name.clone(),
                episodes: per_task,
                out: demo_dir(run, &task.name),
                noise_std: spec.demo_noise,
                teacher_smoothing: spec.teacher_smoothing,
                image_size: 64,
                seed: spec.seed + 10_000 * k as u64,
                keep_failures: false,
                variations: Default::default(),
            },
            &mut |_| {},
        )
        .map_err(data_error)?;
    }
    Ok(())
}

/// Writes corrected episodes (labelled by a teacher smoothed over `teacher_smoothing` metres)
/// as a dataset.
fn write_episodes(
    dir: &Path,
    suite: &Suite,
    episodes: &[crate::data::Episode],
    teacher_smoothing: f32,
) -> Result<()> {
    let first = episodes
        .first()
        .ok_or_else(|| Error::invalid("a corrected round produced no episodes"))?;
    let probe = crate::sim::Env::new(suite, &first.task, crate::sim::EnvConfig::default())
        .map_err(|e| Error::invalid(e.to_string()))?;
    let spec = crate::data::writer::DatasetSpec {
        suite: suite.name.clone(),
        embodiment: probe.embodiment().name().to_string(),
        action_space: probe.action_space().name().to_string(),
        image: crate::data::format::ImageShape {
            height: first.height,
            width: first.width,
            channels: 3,
        },
        state_dim: first.state_dim,
        action_dim: first.action_dim,
        control_hz: 1.0 / crate::sim::world::CONTROL_DT,
        teacher_noise_std: 0.0,
        teacher_smoothing,
    };
    let _ = std::fs::remove_dir_all(dir);
    let mut writer = DatasetWriter::create(dir, spec).map_err(data_error)?;
    for ep in episodes {
        writer.add(ep).map_err(data_error)?;
    }
    writer.finish().map_err(data_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::demonstrations_and_corrections;

    #[test]
    fn pooled_corrections_join_the_demonstrations_in_one_equally_weighted_set() {
        let demos = || Some((vec!["demo-a", "demo-b"], 0.5));
        let corrections = || Some((vec!["round-1"], 0.5));
        // by signal weight: two groups, the corrections drawn half the time however few
        assert_eq!(
            demonstrations_and_corrections(demos(), corrections(), false),
            vec![(vec!["demo-a", "demo-b"], 0.5), (vec!["round-1"], 0.5)]
        );
        // pooled: one group at both weights, so every sample of either is equally likely
        assert_eq!(
            demonstrations_and_corrections(demos(), corrections(), true),
            vec![(vec!["demo-a", "demo-b", "round-1"], 1.0)]
        );
        // nothing to pool with: the groups there are, unchanged
        assert_eq!(
            demonstrations_and_corrections(None, corrections(), true),
            vec![(vec!["round-1"], 0.5)]
        );
        assert_eq!(
            demonstrations_and_corrections(demos(), None, true),
            vec![(vec!["demo-a", "demo-b"], 0.5)]
        );
    }
}
