//! `praxis bench rl`: how fast the RL recipes run here. Rollouts: grouped GRPO rollouts of a
//! `bins`-head policy on a suite, sampling every action from the policy (control steps per
//! second, one batched forward pass per re-plan, the simulator on all cores). Updates:
//! GRPO's clipped-surrogate steps over those rollouts' decisions (updates per second at a
//! fixed batch).

use std::time::Instant;

use serde::Serialize;

use super::system::SystemInfo;
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use crate::sim::Suite;
use crate::train::recipes::grpo;
use crate::train::recipes::rollouts::{self, RolloutOptions};
use crate::train::{Chunks, Learner, OptimizerConfig, Surrogate};

/// What to measure.
#[derive(Debug, Clone)]
pub struct RlBenchConfig {
    /// Model preset (a fresh `bins`-head network).
    pub preset: String,
    /// Suite whose tasks give the initial states.
    pub suite: String,
    /// Initial states (groups).
    pub groups: usize,
    /// Rollouts per group.
    pub group_size: usize,
    /// Decisions per policy-gradient update.
    pub batch_size: usize,
    /// Updates timed.
    pub updates: usize,
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct RlBenchReport {
    /// Machine and versions.
    pub system: SystemInfo,
    /// Backend and device.
    pub backend: String,
    /// Device name.
    pub device: String,
    /// Preset.
    pub preset: String,
    /// Suite.
    pub suite: String,
    /// Rollouts run (groups × group size).
    pub rollouts: usize,
    /// Control steps simulated.
    pub rollout_steps: usize,
    /// Re-plans (policy forward passes per rollout, summed).
    pub decisions: usize,
    /// Control steps per second, policy sampling included.
    pub rollout_steps_per_s: f64,
    /// Decisions per update.
    pub batch_size: usize,
    /// Policy-gradient updates per second.
    pub updates_per_s: f64,
}

/// Runs the benchmark.
pub fn run(config: &RlBenchConfig, device: &ComputeDevice) -> Result<RlBenchReport> {
    let model = ModelConfig::preset(&config.preset, HeadKind::Bins)?;
    let tokenizer = Tokenizer::new(crate::sim::vocabulary());
    let policy = crate::device::seeded(&device.device, 0, || {
        Policy::new(&model, tokenizer.vocab_size(), &device.device)
    })?;
    let suite = Suite::resolve(&config.suite).map_err(|e| Error::invalid(e.to_string()))?;
    let tasks: Vec<String> = suite.tasks.iter().map(|t| t.name.clone()).collect();
    let starts = rollouts::starts(&tasks, config.groups.max(1), 10_000);
    let options = RolloutOptions {
        group_size: config.group_size.max(2),
        ..RolloutOptions::default()
    };
    let started = Instant::now();
    let round = grpo::collect(
        &policy,
        &tokenizer,
        &suite,
        &starts,
        &options,
        grpo::Reward::Success,
        0,
    )?;
    let rollout_s = started.elapsed().as_secs_f64();
    // An untrained policy rarely succeeds, so few groups carry a signal; the update costs the
    // same whatever the advantages, so it is timed on every rollout's decisions.
    let decisions = round.decisions();
    let batch: Vec<_> = decisions
        .iter()
        .copied()
        .cycle()
        .take(config.batch_size.max(1))
        .collect();
    if batch.is_empty() {
        return Err(Error::invalid(
            "the rollouts produced no decisions to update on",
        ));
    }
    let (inputs, actions, mask) = rollouts::update_inputs(&policy, &tokenizer, &batch)?;
    let old: Vec<f32> = batch
        .iter()
        .flat_map(|d| d.value_log_probs.iter().copied())
        .collect();
    let advantages: Vec<f32> = (0..batch.len())
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let chunks = Chunks {
        batch: &inputs,
        actions: &actions,
        mask: &mask,
    };
    let surrogate = Surrogate::new(&old, &advantages, 0.2, 1.0);
    let mut learner = Learner::new(policy, &OptimizerConfig::default(), &device.device);
    learner.clipped_policy_step(chunks, surrogate, 1e-5, None)?; // warm-up
    let started = Instant::now();
    for _ in 0..config.updates.max(1) {
        learner.clipped_policy_step(chunks, surrogate, 1e-5, None)?;
    }
    let updates_per_s = config.updates.max(1) as f64 / started.elapsed().as_secs_f64();
    Ok(RlBenchReport {
        system: SystemInfo::current(),
        backend: device.backend.name().to_string(),
        device: device.name.clone(),
        preset: config.preset.clone(),
        suite: suite.name.clone(),
        rollouts: starts.len() * options.group_size,
        rollout_steps: round.steps,
        decisions: decisions.len(),
        rollout_steps_per_s: round.steps as f64 / rollout_s,
        batch_size: config.batch_size.max(1),
        updates_per_s,
    })
}
