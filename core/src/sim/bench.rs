//! Simulator throughput: control steps per second with and without 64×64 rendering, for one
//! environment on one thread and for a [`VecEnv`] on all cores. Used by `praxis bench sim`.
//! Timings are reported, never asserted in tests.

use std::time::Instant;

use serde::Serialize;

use super::env::{Action, Env, EnvConfig};
use super::error::SimError;
use super::suite::Suite;
use super::vec_env::VecEnv;
use super::world::SUBSTEPS;

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Built-in suite name or `.toml` path.
    pub suite: String,
    /// Task of the suite.
    pub task: String,
    /// Control steps per single-environment measurement.
    pub steps: u64,
    /// Image side for the rendered measurements.
    pub image_size: u32,
    /// Environments in the VecEnv (0 = 4 per rayon thread).
    pub vec_envs: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            suite: "goal".into(),
            task: "push-red-to-green".into(),
            steps: 20_000,
            image_size: 64,
            vec_envs: 0,
        }
    }
}

/// Measured throughput.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimBenchReport {
    pub suite: String,
    pub task: String,
    pub image_size: u32,
    pub substeps: usize,
    /// Control steps per measurement on one thread.
    pub steps: u64,
    pub threads: usize,
    pub vec_envs: usize,
    /// One env, one thread, with an image per step.
    pub single_rendered_steps_per_s: f64,
    /// One env, one thread, no image.
    pub single_state_steps_per_s: f64,
    /// VecEnv on all threads, with images (total steps over all envs).
    pub vec_rendered_steps_per_s: f64,
    /// VecEnv on all threads, no images.
    pub vec_state_steps_per_s: f64,
    /// Mean active contact pairs per step in the single-env state-only run (shows that the
    /// workload really pushes things).
    pub mean_active_contacts: f64,
}

/// A cheap, deterministic action sequence that sweeps the closed gripper across the table,
/// so the effector pushes objects much of the time.
fn sweep_action(t: u64, dim: usize) -> Action {
    let t = t as f32;
    let mut a = vec![0.0; dim];
    a[0] = (t * 0.05).sin();
    if dim > 1 {
        a[1] = (t * 0.071 + 1.0).cos();
    }
    if dim > 2 {
        a[dim - 1] = 1.0;
    }
    Action(a)
}

fn single_run(
    suite: &Suite,
    task: &str,
    config: EnvConfig,
    steps: u64,
) -> Result<(f64, f64), SimError> {
    let mut env = Env::new(suite, task, config)?;
    let dim = env.action_dim();
    let mut seed = 0;
    env.reset(seed)?;
    let mut contacts = 0usize;
    let start = Instant::now();
    for t in 0..steps {
        let r = env.step(&sweep_action(t, dim))?;
        if !config.render {
            contacts += env.world().map_or(0, |w| w.active_contacts());
        }
        if r.terminated || r.truncated {
            seed += 1;
            env.reset(seed)?;
        }
    }
    let rate = steps as f64 / start.elapsed().as_secs_f64();
    Ok((rate, contacts as f64 / steps as f64))
}

fn vec_run(
    suite: &Suite,
    task: &str,
    config: EnvConfig,
    envs: usize,
    steps: u64,
) -> Result<f64, SimError> {
    let mut vec_env = VecEnv::replicate(suite, task, envs, config)?;
    let dim = vec_env.envs()[0].action_dim();
    let seeds: Vec<u64> = (0..envs as u64).collect();
    vec_env.reset(&seeds)?;
    let rounds = (steps / envs as u64).max(1);
    let start = Instant::now();
    let mut next_seed = envs as u64;
    for t in 0..rounds {
        let actions: Vec<Action> = (0..envs)
            .map(|i| sweep_action(t + 37 * i as u64, dim))
            .collect();
        let results = vec_env.step(&actions)?;
        for (i, r) in results.iter().enumerate() {
            if r.terminated || r.truncated {
                vec_env.envs_mut()[i].reset(next_seed)?;
                next_seed += 1;
            }
        }
    }
    Ok((rounds * envs as u64) as f64 / start.elapsed().as_secs_f64())
}

/// Runs the four measurements.
pub fn run(config: &BenchConfig) -> Result<SimBenchReport, SimError> {
    let suite = Suite::resolve(&config.suite)?;
    suite.task(&config.task)?;
    if config.steps == 0 {
        return Err(SimError::InvalidConfig(
            "bench steps must be positive".into(),
        ));
    }
    let threads = rayon::current_num_threads();
    let vec_envs = if config.vec_envs == 0 {
        4 * threads
    } else {
        config.vec_envs
    };
    let rendered = EnvConfig {
        image_size: config.image_size,
        render: true,
        ..EnvConfig::default()
    };
    let state_only = EnvConfig {
        render: false,
        ..rendered
    };
    // Warm up caches and the allocator.
    single_run(&suite, &config.task, state_only, config.steps.min(1000))?;
    let (single_rendered, _) = single_run(&suite, &config.task, rendered, config.steps)?;
    let (single_state, contacts) = single_run(&suite, &config.task, state_only, config.steps * 4)?;
    let vec_rendered = vec_run(
        &suite,
        &config.task,
        rendered,
        vec_envs,
        config.steps * threads as u64,
    )?;
    let vec_state = vec_run(
        &suite,
        &config.task,
        state_only,
        vec_envs,
        config.steps * 4 * threads as u64,
    )?;
    Ok(SimBenchReport {
        suite: suite.name.clone(),
        task: config.task.clone(),
        image_size: config.image_size,
        substeps: SUBSTEPS,
        steps: config.steps,
        threads,
        vec_envs,
        single_rendered_steps_per_s: single_rendered,
        single_state_steps_per_s: single_state,
        vec_rendered_steps_per_s: vec_rendered,
        vec_state_steps_per_s: vec_state,
        mean_active_contacts: contacts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_runs_and_reports_positive_rates() {
        let report = run(&BenchConfig {
            steps: 200,
            vec_envs: 3,
            ..BenchConfig::default()
        })
        .unwrap();
        assert!(report.single_rendered_steps_per_s > 0.0 && report.vec_state_steps_per_s > 0.0);
        assert!(
            serde_json::to_string(&report)
                .unwrap()
                .contains("single_state_steps_per_s")
        );
        assert!(
            run(&BenchConfig {
                task: "nope".into(),
                ..BenchConfig::default()
            })
            .is_err()
        );
    }
}
