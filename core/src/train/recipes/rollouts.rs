//! Sampled rollouts of a `bins`-head policy: the experience the RL and preference recipes
//! (GRPO, PPO, DPO) learn from. Groups of rollouts start from the same initial state; every
//! action value is drawn from the policy's categorical over bins, so each re-plan's
//! log-probability is exact. All rollouts run in lockstep, one batched forward pass per
//! re-plan, the simulator on all cores.
//!
//! Only the values the simulator executes carry credit: the first `executed` steps of a chunk
//! and the first `action_dims` values of each step (the model's action vector is zero-padded
//! to 8 values; the rest are never applied).

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{HostBatch, Observation, Policy, Tokenizer};
use crate::sim::{Action, Env, EnvConfig, Suite, Variations};

/// How rollouts are sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutOptions {
    /// Rollouts per initial state.
    pub group_size: usize,
    /// Actions of each sampled chunk executed before re-planning.
    pub execute_steps: usize,
    /// Sampling temperature of the bins (1: the policy's own distribution).
    pub temperature: f32,
    /// Held-out variations applied to every rollout.
    pub variations: Variations,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions {
            group_size: 8,
            execute_steps: 4,
            temperature: 1.0,
            variations: Variations::default(),
        }
    }
}

/// One re-plan of one rollout: what the policy saw, the chunk it sampled, and what came of it.
#[derive(Debug, Clone)]
pub struct Decision {
    /// RGB camera image.
    pub image: Vec<u8>,
    /// Image side in pixels.
    pub image_size: usize,
    /// Proprioception.
    pub state: Vec<f32>,
    /// Instruction.
    pub instruction: String,
    /// Sampled bin of every value of the chunk, `chunk_len × action_dim`.
    pub bins: Vec<usize>,
    /// Actions of the chunk that were executed (only those are credited).
    pub executed: usize,
    /// Values of each action the simulator applies (the rest of the model's padded action
    /// vector is ignored, so it is never credited).
    pub action_dims: usize,
    /// Log-probability of every sampled value under the sampling distribution (the policy's
    /// at the rollouts' temperature),
    /// `chunk_len × action_dim` (credited or not; see [`update_inputs`]'s mask).
    pub value_log_probs: Vec<f32>,
    /// Task progress (the simulator's dense reward, 0..1) gained while the chunk ran.
    pub progress_gain: f32,
    /// Whether the task was completed during this chunk.
    pub succeeded: bool,
    /// The credit this decision gets in an update (set by the recipe: GRPO's group-relative
    /// advantage, PPO's generalised advantage estimate).
    pub advantage: f32,
}

/// One rollout from start to end.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Index of its initial state in the `starts` it was sampled from (its group).
    pub group: usize,
    /// Task name.
    pub task: String,
    /// Seed of the initial state.
    pub seed: u64,
    /// Re-plans, in order.
    pub decisions: Vec<Decision>,
    /// Whether the task was completed.
    pub success: bool,
    /// Task progress (dense reward) at the end.
    pub final_progress: f32,
    /// Control steps taken.
    pub steps: usize,
}

impl Decision {
    /// Log-probability of the credited values (the executed steps' applied values) under
    /// the sampling policy.
    pub fn log_prob(&self, action_dim: usize) -> f32 {
        (0..self.executed)
            .flat_map(|k| (0..self.action_dims).map(move |d| k * action_dim + d))
            .map(|v| self.value_log_probs[v])
            .sum()
    }
}

impl Trajectory {
    /// How good the outcome was, for ranking rollouts of one group: success first, then how
    /// far the task got, then speed.
    pub fn score(&self) -> f32 {
        let success = if self.success { 1.0 } else { 0.0 };
        success + 0.5 * self.final_progress - 1e-4 * self.steps as f32
    }
}

/// What a batch of rollouts did, summed over all of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RolloutStats {
    /// Rollouts run.
    pub rollouts: usize,
    /// Share that completed the task.
    pub success_rate: f64,
    /// Control steps simulated.
    pub steps: usize,
    /// Re-plans.
    pub decisions: usize,
}

/// Summary of `trajectories`.
pub fn stats(trajectories: &[Trajectory]) -> RolloutStats {
    let n = trajectories.len();
    RolloutStats {
        rollouts: n,
        success_rate: trajectories.iter().filter(|t| t.success).count() as f64 / n.max(1) as f64,
        steps: trajectories.iter().map(|t| t.steps).sum(),
        decisions: trajectories.iter().map(|t| t.decisions.len()).sum(),
    }
}

/// Share of `trajectories` that completed their task, per task.
pub fn success_by_task(trajectories: &[Trajectory]) -> BTreeMap<String, f64> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for t in trajectories {
        let entry = counts.entry(t.task.clone()).or_default();
        entry.0 += usize::from(t.success);
        entry.1 += 1;
    }
    counts
        .into_iter()
        .map(|(task, (done, n))| (task, done as f64 / n as f64))
        .collect()
}

struct Live {
    env: Env,
    obs: crate::sim::Observation,
    progress: f32,
    trajectory: Trajectory,
    done: bool,
}

/// The bin sampled from log-probabilities `log_probs` at `temperature`, by inverse CDF.
pub fn sample_bin(log_probs: &[f32], temperature: f32, rng: &mut impl rand::Rng) -> usize {
    let (_, weights) = tempered_weights(log_probs, temperature);
    let total: f32 = weights.iter().sum();
    let mut u = rng.random::<f32>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

/// Log-probability of bin `bin` under the distribution `sample_bin` draws from at
/// `temperature`: `log_softmax(log_probs / T)[bin]` (exactly `log_probs[bin]` at T = 1).
pub fn tempered_log_prob(log_probs: &[f32], bin: usize, temperature: f32) -> f32 {
    if temperature == 1.0 {
        return log_probs[bin];
    }
    let (max, weights) = tempered_weights(log_probs, temperature);
    let total: f32 = weights.iter().sum();
    log_probs[bin] / temperature.max(1e-3) - max - total.ln()
}

/// The unnormalised probabilities `exp(log_probs / T - max)` at `temperature` and that `max`
/// (subtracted for stability): what sampling and the tempered log-probability share.
fn tempered_weights(log_probs: &[f32], temperature: f32) -> (f32, Vec<f32>) {
    let t = temperature.max(1e-3);
    let max = log_probs.iter().fold(f32::MIN, |m, &v| m.max(v / t));
    (
        max,
        log_probs.iter().map(|&v| (v / t - max).exp()).collect(),
    )
}

/// The action value a bin decodes to (its centre in [-1, 1]).
pub fn bin_value(bin: usize, bins: usize) -> f32 {
    (bin as f32 + 0.5) * (2.0 / bins as f32) - 1.0
}

/// Runs `options.group_size` rollouts from each `(task, seed)` of `starts` on `suite`,
/// sampling every action value from `policy`'s bins head; `seed` drives the sampling.
pub fn sample(
    policy: &Policy,
    tokenizer: &Tokenizer,
    suite: &Suite,
    starts: &[(String, u64)],
    options: &RolloutOptions,
    seed: u64,
) -> Result<Vec<Trajectory>> {
    let config = policy.config().clone();
    if config.head != crate::model::HeadKind::Bins {
        return Err(Error::invalid(format!(
            "sampled rollouts need a policy with the bins head (its action log-probabilities); this one has the {} head",
            config.head
        )));
    }
    if starts.is_empty() || options.group_size == 0 {
        return Err(Error::invalid(
            "rollouts need at least one initial state and one rollout per state",
        ));
    }
    let env_config = EnvConfig {
        image_size: config.image_size as u32,
        variations: options.variations,
        ..EnvConfig::default()
    };
    let mut live = Vec::new();
    for (group, (task, start_seed)) in starts.iter().enumerate() {
        for _ in 0..options.group_size {
            let mut env = Env::new(suite, task, env_config)?;
            let obs = env.reset(*start_seed)?;
            let progress = env.info()?.dense_reward;
            live.push(Live {
                env,
                obs,
                progress,
                trajectory: Trajectory {
                    group,
                    task: task.clone(),
                    seed: *start_seed,
                    decisions: Vec::new(),
                    success: false,
                    final_progress: progress,
                    steps: 0,
                },
                done: false,
            });
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let execute = options.execute_steps.clamp(1, config.chunk_len);
    let (c, a, n) = (config.chunk_len, config.action_dim, config.bins);
    let device = crate::eval::policy_device(policy);
    loop {
        let active: Vec<usize> = (0..live.len()).filter(|&i| !live[i].done).collect();
        if active.is_empty() {
            break;
        }
        let mut batch = HostBatch::default();
        for &i in &active {
            batch.push_observation(&config, tokenizer, crate::eval::model_input(&live[i].obs))?;
        }
        let input = batch.input(&config, &device);
        let log_probs = policy
            .bin_log_probs(&policy.encode(&input, false))
            .expect("checked above")
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| Error::invalid(format!("cannot read log-probabilities: {e:?}")))?;
        let per_rollout = c * a * n;
        // Sampled on this thread, in a fixed order, so the draws do not depend on scheduling.
        let sampled: Vec<Vec<usize>> = (0..active.len())
            .map(|slot| {
                (0..c * a)
                    .map(|v| {
                        let at = slot * per_rollout + v * n;
                        sample_bin(&log_probs[at..at + n], options.temperature, &mut rng)
                    })
                    .collect()
            })
            .collect();
        let mut selected: Vec<&mut Live> = live.iter_mut().filter(|r| !r.done).collect();
        selected
            .par_iter_mut()
            .zip(sampled.into_par_iter().enumerate())
            .try_for_each(|(rollout, (slot, bins))| -> Result<()> {
                let dims = rollout.env.action_dim();
                let seen = rollout.obs.clone();
                let before = rollout.progress;
                let mut executed = 0;
                let mut succeeded = false;
                for k in 0..execute {
                    let action: Vec<f32> =
                        (0..dims).map(|d| bin_value(bins[k * a + d], n)).collect();
                    let result = rollout.env.step(&Action(action))?;
                    executed += 1;
                    rollout.obs = result.obs;
                    rollout.progress = result.info.dense_reward;
                    if result.terminated || result.truncated {
                        rollout.done = true;
                        succeeded = result.terminated;
                        break;
                    }
                }
                let at = slot * per_rollout;
                let value_log_probs = (0..c * a)
                    .map(|v| {
                        let row = &log_probs[at + v * n..at + (v + 1) * n];
                        tempered_log_prob(row, bins[v], options.temperature)
                    })
                    .collect();
                let t = &mut rollout.trajectory;
                t.steps += executed;
                t.final_progress = rollout.progress;
                t.success |= succeeded;
                t.decisions.push(Decision {
                    image_size: seen.width as usize,
                    image: seen.image,
                    state: seen.proprio,
                    instruction: seen.instruction,
                    bins,
                    executed,
                    action_dims: dims.min(a),
                    value_log_probs,
                    progress_gain: rollout.progress - before,
                    succeeded,
                    advantage: 0.0,
                });
                Ok(())
            })?;
    }
    Ok(live.into_iter().map(|l| l.trajectory).collect())
}

/// The inputs of an update over `decisions`: observations, the sampled chunks as action
/// values `[B × C × A]`, and a per-value mask (1 on executed values, 0 elsewhere).
pub fn update_inputs(
    policy: &Policy,
    tokenizer: &Tokenizer,
    decisions: &[&Decision],
) -> Result<(HostBatch, Vec<f32>, Vec<f32>)> {
    let config = policy.config();
    let (c, a, n) = (config.chunk_len, config.action_dim, config.bins.max(1));
    let mut batch = HostBatch::default();
    let mut actions = Vec::with_capacity(decisions.len() * c * a);
    let mut mask = Vec::with_capacity(decisions.len() * c * a);
    for d in decisions {
        batch.push_observation(
            config,
            tokenizer,
            Observation {
                image: &d.image,
                image_size: d.image_size,
                state: &d.state,
                instruction: &d.instruction,
            },
        )?;
        for (v, &bin) in d.bins.iter().enumerate() {
            actions.push(bin_value(bin, n));
            let credited = v / a < d.executed && v % a < d.action_dims;
            mask.push(if credited { 1.0 } else { 0.0 });
        }
    }
    Ok((batch, actions, mask))
}

/// The log-probability of each decision's credited values under `policy` (no gradient), for
/// the inputs [`update_inputs`] built: what DPO's reference policy assigns.
pub fn chunk_log_probs(
    policy: &Policy,
    batch: &HostBatch,
    actions: &[f32],
    mask: &[f32],
) -> Result<Vec<f32>> {
    let b = batch.len();
    let (per_value, tensor) = per_value_log_probs(policy, batch, actions, 1.0)?;
    read(
        (per_value * tensor(mask))
            .sum_dim(2)
            .sum_dim(1)
            .reshape([b]),
    )
}

/// The log-probability of every value of each decision's chunk under `policy`'s bins
/// distribution at `temperature` (no gradient), in the layout of `actions`: what GRPO's KL
/// penalty compares the policy being trained with.
pub fn value_log_probs(
    policy: &Policy,
    batch: &HostBatch,
    actions: &[f32],
    temperature: f32,
) -> Result<Vec<f32>> {
    read(per_value_log_probs(policy, batch, actions, temperature)?.0)
}

/// `[B × C × A]` log-probabilities of `actions`, and a maker of tensors of that shape.
fn per_value_log_probs<'a>(
    policy: &'a Policy,
    batch: &HostBatch,
    actions: &[f32],
    temperature: f32,
) -> Result<(
    burn::tensor::Tensor<3>,
    impl Fn(&[f32]) -> burn::tensor::Tensor<3> + 'a,
)> {
    let config = policy.config();
    let shape = [batch.len(), config.chunk_len, config.action_dim];
    let device = crate::eval::policy_device(policy);
    let input = batch.input(config, &device);
    let tensor = move |v: &[f32]| {
        burn::tensor::Tensor::<3>::from_data(
            burn::tensor::TensorData::new(v.to_vec(), shape),
            &device,
        )
    };
    let per_value = policy
        .action_log_probs_at(&policy.encode(&input, false), tensor(actions), temperature)
        .ok_or_else(|| Error::invalid("log-probabilities need the bins head"))?;
    Ok((per_value, tensor))
}

fn read<const D: usize>(tensor: burn::tensor::Tensor<D>) -> Result<Vec<f32>> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("cannot read log-probabilities: {e:?}")))
}

/// Initial states: `count` starts cycling through `tasks`, seeds from `seed_base` up.
pub fn starts(tasks: &[String], count: usize, seed_base: u64) -> Vec<(String, u64)> {
    (0..count)
        .map(|k| (tasks[k % tasks.len()].clone(), seed_base + k as u64))
        .collect()
}

/// A deterministic seed for round `round` of a run seeded `seed`, on stream `salt`.
pub fn round_seed(seed: u64, salt: u64, round: u64) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ salt);
    rng.set_stream(round);
    rng.random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_follows_the_distribution() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let log_probs = [0.7f32.ln(), 0.2f32.ln(), 0.1f32.ln()];
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            counts[sample_bin(&log_probs, 1.0, &mut rng)] += 1;
        }
        let share = |i: usize| counts[i] as f64 / 20_000.0;
        assert!((share(0) - 0.7).abs() < 0.02 && (share(2) - 0.1).abs() < 0.02);
        // a low temperature is nearly greedy
        let greedy = (0..1000)
            .filter(|_| sample_bin(&log_probs, 0.05, &mut rng) == 0)
            .count();
        assert!(greedy > 990);
    }

    #[test]
    fn tempered_log_probs_are_what_sampling_draws_from() {
        let log_probs = [0.7f32.ln(), 0.2f32.ln(), 0.1f32.ln()];
        assert_eq!(tempered_log_prob(&log_probs, 1, 1.0), log_probs[1]);
        let t = 0.5;
        let tempered: Vec<f32> = (0..3)
            .map(|b| tempered_log_prob(&log_probs, b, t))
            .collect();
        let total: f32 = tempered.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-5, "{tempered:?}");
        // p^(1/T) normalised: 0.49 / 0.54, 0.04 / 0.54, 0.01 / 0.54
        assert!(
            (tempered[0].exp() - 0.49 / 0.54).abs() < 1e-4,
            "{tempered:?}"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            counts[sample_bin(&log_probs, t, &mut rng)] += 1;
        }
        for (b, &n) in counts.iter().enumerate() {
            let share = n as f32 / 20_000.0;
            assert!(
                (share - tempered[b].exp()).abs() < 0.015,
                "bin {b}: {share}"
            );
        }
    }

    #[test]
    fn bin_values_are_centres() {
        assert!((bin_value(0, 256) - (-1.0 + 1.0 / 256.0)).abs() < 1e-6);
        assert!((bin_value(255, 256) - (1.0 - 1.0 / 256.0)).abs() < 1e-6);
        assert!(bin_value(128, 256) > 0.0 && bin_value(127, 256) < 0.0);
    }

    #[test]
    fn trajectories_rank_success_then_progress_then_speed() {
        let t = |success, final_progress, steps| Trajectory {
            group: 0,
            task: String::new(),
            seed: 0,
            decisions: Vec::new(),
            success,
            final_progress,
            steps,
        };
        assert!(t(true, 0.2, 90).score() > t(false, 0.9, 10).score());
        assert!(t(false, 0.6, 50).score() > t(false, 0.3, 50).score());
        assert!(t(true, 1.0, 20).score() > t(true, 1.0, 40).score());
    }
}
