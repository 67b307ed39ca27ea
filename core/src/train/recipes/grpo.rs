//! **Multi-component integration → RL fine-tuning.** GRPO (group relative policy
//! optimisation; Shao et al., 2024, "DeepSeekMath"), as VLA post-training applies it with a
//! binary task reward (e.g. SimpleVLA-RL, 2025): from one initial state, a group of rollouts
//! samples actions from the policy; each rollout's 0/1 success, minus the group's mean and
//! divided by its standard deviation, is the advantage of every action it took; groups that
//! all succeeded or all failed carry no signal and are skipped. The update raises the
//! log-probability of the sampled actions in proportion to their advantage. There is no value
//! network: the group is the baseline.
//!
//! It needs a policy with a tractable action density: the `bins` head (every action value is
//! a categorical over bins), whose samples and log-probabilities are exact.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{HostBatch, Observation, Policy, Tokenizer};
use crate::sim::{Action, Env, EnvConfig, SimError, Suite, Variations};

/// How GRPO collects its groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpoOptions {
    /// Rollouts per initial state.
    pub group_size: usize,
    /// Actions of each sampled chunk executed before re-planning.
    pub execute_steps: usize,
    /// Sampling temperature of the bins (1: the policy's own distribution).
    pub temperature: f32,
}

impl Default for GrpoOptions {
    fn default() -> Self {
        GrpoOptions {
            group_size: 8,
            execute_steps: 4,
            temperature: 1.0,
        }
    }
}

/// One re-plan of one rollout: what the policy saw and the chunk it sampled.
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
    /// Group-relative advantage of the rollout it belongs to.
    pub advantage: f32,
}

/// What a round of grouped rollouts collected.
#[derive(Debug, Clone)]
pub struct GrpoRound {
    /// Decisions of every rollout; those of groups without signal (all successes or all
    /// failures) have advantage 0 (see [`with_signal`](Self::with_signal)).
    pub decisions: Vec<Decision>,
    /// Share of rollouts that succeeded (all groups).
    pub success_rate: f64,
    /// Groups with mixed outcomes (used) and groups in all.
    pub groups_used: usize,
    /// Groups run.
    pub groups: usize,
    /// Control steps simulated.
    pub steps: usize,
}

impl GrpoRound {
    /// The decisions that carry a learning signal (non-zero advantage).
    pub fn with_signal(&self) -> Vec<Decision> {
        self.decisions
            .iter()
            .filter(|d| d.advantage != 0.0)
            .cloned()
            .collect()
    }
}

struct Rollout {
    group: usize,
    env: Env,
    obs: crate::sim::Observation,
    decisions: Vec<Decision>,
    done: bool,
    success: bool,
}

fn sim(e: SimError) -> Error {
    Error::invalid(e.to_string())
}

/// Group-relative advantages of 0/1 `rewards`: `(r - mean) / std`, or `None` when the group
/// has no spread (all successes or all failures).
pub fn advantages(rewards: &[f32]) -> Option<Vec<f32>> {
    let n = rewards.len() as f32;
    let mean = rewards.iter().sum::<f32>() / n;
    let var = rewards.iter().map(|r| (r - mean).powi(2)).sum::<f32>() / n;
    (var > 1e-8).then(|| rewards.iter().map(|r| (r - mean) / var.sqrt()).collect())
}

/// The bin sampled from log-probabilities `log_probs` at `temperature`, by inverse CDF.
fn sample_bin(log_probs: &[f32], temperature: f32, rng: &mut impl rand::Rng) -> usize {
    let t = temperature.max(1e-3);
    let max = log_probs.iter().fold(f32::MIN, |m, &v| m.max(v / t));
    let weights: Vec<f32> = log_probs.iter().map(|&v| (v / t - max).exp()).collect();
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

/// Runs `options.group_size` rollouts from each `(task, seed)` start of `suite`, sampling
/// actions from `policy`'s bins head, all in lockstep; returns every decision with its
/// rollout's advantage (0 in groups whose outcomes were all the same).
pub fn collect(
    policy: &Policy,
    tokenizer: &Tokenizer,
    suite: &Suite,
    starts: &[(String, u64)],
    variations: Variations,
    options: &GrpoOptions,
    seed: u64,
) -> Result<GrpoRound> {
    let config = policy.config().clone();
    if config.head != crate::model::HeadKind::Bins {
        return Err(Error::invalid(
            "GRPO needs a policy with the bins head (its action log-probabilities)",
        ));
    }
    if starts.is_empty() || options.group_size < 2 {
        return Err(Error::invalid(
            "GRPO needs at least one initial state and groups of at least 2 rollouts",
        ));
    }
    let env_config = EnvConfig {
        image_size: config.image_size as u32,
        variations,
        ..EnvConfig::default()
    };
    let mut rollouts = Vec::new();
    for (group, (task, start_seed)) in starts.iter().enumerate() {
        for _ in 0..options.group_size {
            let mut env = Env::new(suite, task, env_config.clone()).map_err(sim)?;
            let obs = env.reset(*start_seed).map_err(sim)?;
            rollouts.push(Rollout {
                group,
                env,
                obs,
                decisions: Vec::new(),
                done: false,
                success: false,
            });
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let execute = options.execute_steps.clamp(1, config.chunk_len);
    let (c, a, n) = (config.chunk_len, config.action_dim, config.bins);
    let device = crate::eval::policy_device(policy);
    let mut steps = 0;
    loop {
        let active: Vec<usize> = (0..rollouts.len()).filter(|&i| !rollouts[i].done).collect();
        if active.is_empty() {
            break;
        }
        let mut batch = HostBatch::default();
        for &i in &active {
            batch.push_observation(
                &config,
                tokenizer,
                crate::eval::model_input(&rollouts[i].obs),
            )?;
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
        let mut selected: Vec<&mut Rollout> = rollouts.iter_mut().filter(|r| !r.done).collect();
        let taken: Vec<usize> = selected
            .par_iter_mut()
            .zip(sampled.par_iter())
            .map(|(rollout, bins)| -> Result<usize> {
                let dims = rollout.env.action_dim();
                let mut executed = 0;
                let seen = rollout.obs.clone();
                for k in 0..execute {
                    let action: Vec<f32> = (0..dims)
                        .map(|d| (bins[k * a + d] as f32 + 0.5) * (2.0 / n as f32) - 1.0)
                        .collect();
                    let result = rollout.env.step(&Action(action)).map_err(sim)?;
                    executed += 1;
                    rollout.obs = result.obs;
                    if result.terminated || result.truncated {
                        rollout.done = true;
                        rollout.success = result.terminated;
                        break;
                    }
                }
                rollout.decisions.push(Decision {
                    image_size: seen.width as usize,
                    image: seen.image,
                    state: seen.proprio,
                    instruction: seen.instruction,
                    bins: bins.clone(),
                    executed,
                    advantage: 0.0,
                });
                Ok(executed)
            })
            .collect::<Result<Vec<_>>>()?;
        steps += taken.iter().sum::<usize>();
    }
    let successes = rollouts.iter().filter(|r| r.success).count();
    let total = rollouts.len();
    let mut decisions = Vec::new();
    let mut groups_used = 0;
    for group in 0..starts.len() {
        let members: Vec<&Rollout> = rollouts.iter().filter(|r| r.group == group).collect();
        let rewards: Vec<f32> = members
            .iter()
            .map(|r| if r.success { 1.0 } else { 0.0 })
            .collect();
        let adv = match advantages(&rewards) {
            Some(adv) => {
                groups_used += 1;
                adv
            }
            None => vec![0.0; rewards.len()],
        };
        for (rollout, advantage) in members.into_iter().zip(adv) {
            decisions.extend(rollout.decisions.iter().cloned().map(|mut d| {
                d.advantage = advantage;
                d
            }));
        }
    }
    Ok(GrpoRound {
        decisions,
        success_rate: successes as f64 / total as f64,
        groups_used,
        groups: starts.len(),
        steps,
    })
}

/// The inputs of a policy-gradient update over `decisions`: observations, the sampled chunks
/// as action values `[B × C × A]`, and per-value weights (advantage on executed actions,
/// 0 elsewhere, divided by the number of executed values so every decision counts once).
pub fn update_inputs(
    policy: &Policy,
    tokenizer: &Tokenizer,
    decisions: &[Decision],
) -> Result<(HostBatch, Vec<f32>, Vec<f32>)> {
    let config = policy.config();
    let (c, a, n) = (config.chunk_len, config.action_dim, config.bins.max(1));
    let mut batch = HostBatch::default();
    let mut actions = Vec::with_capacity(decisions.len() * c * a);
    let mut weights = Vec::with_capacity(decisions.len() * c * a);
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
        let counted = (d.executed * a).max(1) as f32;
        for (v, &bin) in d.bins.iter().enumerate() {
            actions.push((bin as f32 + 0.5) * (2.0 / n as f32) - 1.0);
            let executed = v / a < d.executed;
            weights.push(if executed { d.advantage / counted } else { 0.0 });
        }
    }
    Ok((batch, actions, weights))
}

/// Seeds of GRPO's initial states: `count` starts cycling through `tasks`, seeds from
/// `seed_base` up.
pub fn starts(tasks: &[String], count: usize, seed_base: u64) -> Vec<(String, u64)> {
    (0..count)
        .map(|k| (tasks[k % tasks.len()].clone(), seed_base + k as u64))
        .collect()
}

/// A deterministic random stream for round `round` of a run seeded `seed`.
pub fn round_seed(seed: u64, round: u64) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6772_706f);
    rng.set_stream(round);
    rng.random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advantages_are_group_relative_and_skip_uniform_groups() {
        assert!(advantages(&[1.0, 1.0, 1.0]).is_none());
        assert!(advantages(&[0.0, 0.0]).is_none());
        let adv = advantages(&[1.0, 0.0, 0.0, 0.0]).unwrap();
        assert!((adv[0] - 3f32.sqrt()).abs() < 1e-5, "{adv:?}");
        assert!(
            adv[1..]
                .iter()
                .all(|v| (v + 1.0 / 3f32.sqrt()).abs() < 1e-5)
        );
        assert!(adv.iter().sum::<f32>().abs() < 1e-5);
    }

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
}
