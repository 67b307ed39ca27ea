//! Training one (run, seed) at a budget and evaluating its final policy on the run's targets.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::curriculum::CurriculumSpec;
use crate::curriculum::engine::{Finished, train_to_end};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::eval::{self, EvalOptions};
use crate::train::run::RunDir;
use crate::train::{self, TrainConfig};

use super::protocol::{Budget, RunSpec};
use super::result::{SeedResult, TargetResult};

/// A training config at `budget`: updates scaled (whole RL rounds, at least one), the seed
/// and, for `init_from`, the starting checkpoint replaced.
fn scaled_config(
    mut config: TrainConfig,
    seed: u64,
    init: Option<PathBuf>,
    budget: Budget,
) -> TrainConfig {
    config.seed = seed;
    if let Some(init) = init {
        config.model.init = Some(init);
    }
    let unit = config.rl.as_ref().map_or(1, |rl| rl.updates_per_round);
    let units = ((config.steps as f64 / unit as f64) * budget.scale)
        .round()
        .max(1.0) as u64;
    config.steps = units * unit;
    config.checkpoint_every = config.checkpoint_every.min(config.steps);
    let warmup = (config.schedule.warmup_steps as f64 * budget.scale).round() as u64;
    config.schedule.warmup_steps = warmup.clamp(1, config.steps);
    config
}

/// A curriculum at `budget`: the evaluation interval and the stages' boundaries scaled (each
/// stage's end where the written curriculum's end falls, scaled, so two curricula of equal
/// updates stay equal while every stage keeps at least the one update it is given), the seed
/// replaced, and each stage's corrected rounds spread over its scaled budget so that it holds
/// as many as the stage as written, or as near as a whole interval allows (as many as it has
/// updates, when it has fewer); a stage leaves at its gate, or at its budget (never waiting
/// for a person), and its gate is measured at its end whatever the interval.
fn scaled_curriculum(mut spec: CurriculumSpec, seed: u64, budget: Budget) -> CurriculumSpec {
    let scale = |n: u64| ((n as f64 * budget.scale).round() as u64).max(1);
    spec.seed = seed;
    spec.eval_every = scale(spec.eval_every);
    let (mut written_end, mut scaled_end) = (0, 0);
    for stage in &mut spec.stages {
        let written = stage.gate.budget;
        written_end += written;
        let end = scale(written_end).max(scaled_end + 1);
        stage.gate.budget = end - scaled_end;
        scaled_end = end;
        stage.gate.on_budget = "advance".into();
        if stage.gate.budget != written {
            let rounds = written.div_ceil(stage.dagger_every.max(1));
            stage.dagger_every = interval_for_rounds(stage.gate.budget, rounds);
        }
    }
    spec
}

/// The interval at which a stage of `budget` updates, with a round at its updates 0, every,
/// 2·every, …, holds `rounds` rounds (or as close to it as any interval comes).
fn interval_for_rounds(budget: u64, rounds: u64) -> u64 {
    (1..=budget.max(1))
        .min_by_key(|&every| {
            let got = budget.div_ceil(every);
            (got.abs_diff(rounds), every.abs_diff(budget / rounds.max(1)))
        })
        .unwrap_or(1)
}

/// Trains `run`'s `seed` in `dir` (resuming what a stopped call left there), from `init`
/// when it starts from another run, then evaluates the final policy on the run's targets.
/// `Ok(None)` when `stop` interrupted it.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_one(
    run: &RunSpec,
    seed: u64,
    init: Option<PathBuf>,
    dir: &Path,
    budget: Budget,
    open_device: &(dyn Fn() -> Result<ComputeDevice> + Sync),
    progress: &mut (dyn FnMut(u64, u64) + Send),
    stop: &AtomicBool,
) -> Result<Option<SeedResult>> {
    let run_dir = dir.join("run");
    let started = Instant::now();
    let mut resumed = run_dir.exists();
    let (policy, tokenizer, updates, checkpoint, params) = if let Some(path) = &run.config {
        let config = scaled_config(TrainConfig::load(path)?, seed, init, budget);
        let device = open_device()?;
        let total = config.steps;
        let report = |p: train::Progress| progress(p.step, total);
        // A run stopped before its first checkpoint has nothing to resume: start it again.
        let resumable =
            resumed && RunDir::open(&run_dir).is_ok_and(|r| r.latest().is_ok_and(|l| l.is_some()));
        if resumed && !resumable {
            std::fs::remove_dir_all(&run_dir).map_err(|e| Error::io(&run_dir, e))?;
            resumed = false;
        }
        let outcome = match resumable {
            true => train::resume(&run_dir, &device, stop, report)?,
            false => train::train(&run_dir, &config, &device, stop, report)?,
        };
        if outcome.interrupted {
            return Ok(None);
        }
        let ckpt = crate::checkpoint::load(&outcome.checkpoint, &device.device)?;
        let info: crate::train::run::RunInfo = serde_json::from_str(
            &std::fs::read_to_string(RunDir::open(&run_dir)?.info_path())
                .map_err(|e| Error::io(&run_dir, e))?,
        )
        .map_err(|e| Error::invalid(format!("{}: run.json: {e}", run_dir.display())))?;
        (
            ckpt.policy,
            ckpt.meta.tokenizer,
            outcome.step,
            outcome.checkpoint,
            (info.trainable_params, info.total_params),
        )
    } else {
        let path = run
            .curriculum
            .as_ref()
            .expect("validated: config or curriculum");
        let spec = scaled_curriculum(CurriculumSpec::load(path)?, seed, budget);
        let Some(Finished { engine, .. }) =
            train_to_end(&run_dir, &spec, open_device, progress, &|| {
                stop.load(std::sync::atomic::Ordering::Relaxed)
            })?
        else {
            return Ok(None);
        };
        let checkpoint = engine
            .checkpoints()
            .last()
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        let policy = engine.policy();
        let n = policy.num_params();
        (
            policy,
            engine.tokenizer().clone(),
            engine.state().step,
            checkpoint,
            (n, n),
        )
    };
    let train_seconds = started.elapsed().as_secs_f64();
    let mut targets = Vec::new();
    for target in &run.eval {
        let suite =
            crate::sim::Suite::resolve(&target.suite).map_err(|e| Error::invalid(e.to_string()))?;
        let report = eval::evaluate(
            &policy,
            &tokenizer,
            &suite,
            &EvalOptions {
                variations: crate::sim::Variations::from_names(&target.variations)?,
                ..EvalOptions::default()
            },
            |_, _| {},
        )?;
        targets.push(TargetResult {
            target: target.label(),
            successes: report.successes,
            episodes: report.episodes,
            subgoals_done: Some(report.subgoals_done),
        });
    }
    Ok(Some(SeedResult {
        run: run.name.clone(),
        seed,
        updates,
        train_seconds,
        resumed,
        params,
        teacher_labels: teacher_labels(&run_dir)?,
        targets,
        checkpoint,
        budget_scale: budget.scale,
        fingerprint: None, // Plan::train records it
        jobs: 1,
        cpu: Some(crate::cpu::CpuInfo::current().summary()),
    }))
}

/// Frames of every dataset a run recorded or was given: its `data/` tree (recorded
/// demonstrations and corrected rollouts) and the datasets its config lists.
fn teacher_labels(run_dir: &Path) -> Result<usize> {
    let mut dirs = Vec::new();
    let mut stack = vec![run_dir.join("data")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        if dir.join("meta.json").is_file() {
            dirs.push(dir.clone());
            continue;
        }
        stack.extend(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir()),
        );
    }
    let config = run_dir.join("config.toml");
    if config.is_file() {
        dirs.extend(TrainConfig::load(&config)?.data.datasets);
    }
    let mut unique: Vec<PathBuf> = dirs
        .into_iter()
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
        .collect();
    unique.sort();
    unique.dedup();
    let mut frames = 0;
    for dir in unique {
        let dataset =
            crate::data::Dataset::open(&dir).map_err(|e| Error::invalid(e.to_string()))?;
        frames += dataset.len();
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::report::protocol::Budget;

    fn protocol_curriculum(name: &str) -> CurriculumSpec {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../assets/report/curricula")
            .join(name);
        CurriculumSpec::load(&path).unwrap()
    }

    /// Corrected rounds a stage of `budget` updates runs, one every `every` from its update 0.
    fn rounds(budget: u64, every: u64) -> u64 {
        (0..budget).filter(|u| u.is_multiple_of(every)).count() as u64
    }

    #[test]
    fn a_quick_budget_keeps_the_number_of_corrected_rounds() {
        for name in ["goal-dagger-50.toml", "long-dagger-150.toml"] {
            let written = protocol_curriculum(name);
            for budget in [Budget::QUICK, Budget::FULL] {
                let scaled = scaled_curriculum(written.clone(), 7, budget);
                for (w, s) in written.stages.iter().zip(&scaled.stages) {
                    assert_eq!(
                        rounds(s.gate.budget, s.dagger_every),
                        rounds(w.gate.budget, w.dagger_every),
                        "{name}, stage {}, scale {}",
                        w.name,
                        budget.scale
                    );
                }
            }
        }
    }

    #[test]
    fn a_quick_budget_keeps_dagger_and_its_baseline_at_equal_updates() {
        let total = |spec: &CurriculumSpec| spec.stages.iter().map(|s| s.gate.budget).sum::<u64>();
        for (dagger, imitation) in [
            ("goal-dagger-50.toml", "goal-imitation-100.toml"),
            ("long-dagger-150.toml", "long-imitation-300.toml"),
        ] {
            let (dagger, imitation) = (protocol_curriculum(dagger), protocol_curriculum(imitation));
            assert_eq!(total(&dagger), total(&imitation), "as written");
            let quick = |spec: &CurriculumSpec| scaled_curriculum(spec.clone(), 0, Budget::QUICK);
            assert_eq!(total(&quick(&dagger)), total(&quick(&imitation)));
        }
    }

    #[test]
    fn any_scale_keeps_a_stages_rounds_and_a_curriculums_updates() {
        let spec = |stages: &[(u64, u64)]| {
            let mut spec = protocol_curriculum("goal-dagger-50.toml");
            let template = spec.stages[1].clone();
            spec.stages = stages
                .iter()
                .map(|&(budget, every)| {
                    let mut stage = template.clone();
                    stage.gate.budget = budget;
                    stage.dagger_every = every;
                    stage
                })
                .collect();
            spec
        };
        let total = |spec: &CurriculumSpec| spec.stages.iter().map(|s| s.gate.budget).sum::<u64>();
        for scale in [0.01, 0.07, 0.25, 0.5] {
            let budget = Budget {
                scale,
                first_seed_only: false,
            };
            // 600 updates with 12 rounds every 50, in one stage or in two of 300
            let one = scaled_curriculum(spec(&[(600, 50)]), 0, budget);
            let two = scaled_curriculum(spec(&[(300, 50), (300, 50)]), 0, budget);
            assert_eq!(total(&one), total(&two), "scale {scale}");
            let stage = &one.stages[0];
            // 12 in 6 updates is 6; in 42 no whole interval gives 12 (4: 11, 3: 14), so the
            // nearest count, within a tenth
            let want = 12.min(stage.gate.budget);
            let got = rounds(stage.gate.budget, stage.dagger_every);
            assert!(
                got.abs_diff(want) * 10 <= want,
                "scale {scale}: {got} rounds"
            );
            if scale < 0.02 {
                continue; // 50 × 0.01 rounds to 1, and a stage keeps at least one update
            }
            // stages of 50 + 50 against one of 100
            let split = scaled_curriculum(spec(&[(50, 10), (50, 10)]), 0, budget);
            let whole = scaled_curriculum(spec(&[(100, 10)]), 0, budget);
            assert_eq!(total(&split), total(&whole), "scale {scale}");
        }
    }

    #[test]
    fn the_full_budget_leaves_a_curriculum_as_written_but_its_seed() {
        let written = protocol_curriculum("long-dagger-150.toml");
        let scaled = scaled_curriculum(written.clone(), 7, Budget::FULL);
        assert_eq!(scaled.seed, 7);
        assert_eq!(scaled.eval_every, written.eval_every);
        for (w, s) in written.stages.iter().zip(&scaled.stages) {
            assert_eq!(
                (s.gate.budget, s.dagger_every),
                (w.gate.budget, w.dagger_every)
            );
        }
    }
}
