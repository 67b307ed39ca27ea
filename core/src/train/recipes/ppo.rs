//! **Multi-component integration → RL fine-tuning.** PPO (proximal policy optimisation;
//! Schulman et al., 2017), the actor-critic method VLA RL fine-tuning most often uses (e.g.
//! RL4VLA, Liu et al. 2025; VLA-RL, Lu et al. 2025): a value head on the backbone estimates
//! how much task reward is still to come from each re-plan; generalised advantage estimation
//! (GAE; Schulman et al., 2016) turns rewards and values into per-decision advantages; the
//! update maximises the clipped surrogate `min(ρ·A, clip(ρ, 1-ε, 1+ε)·A)`, `ρ` the ratio of
//! the new to the sampling policy's probability of each executed action value
//! ([`Learner::clipped_policy_step`](crate::train::Learner::clipped_policy_step), shared with
//! GRPO), and regresses the value head onto the returns.
//!
//! Reward per decision: 1 when the task is completed during the chunk, plus `shaping` × the
//! task progress it gained (the simulator's dense progress: a potential difference, the
//! shaping of Ng, Harada and Russell, 1999, which leaves the optimal policy unchanged exactly
//! for γ = 1 and nearly for γ close to 1).
//!
//! The value head lives only while training, like the auxiliary heads: checkpoints keep the
//! policy alone.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::train::recipes::rollouts::Trajectory;

/// PPO's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpoOptions {
    /// Weight of the value loss.
    pub value_weight: f32,
    /// Discount per decision.
    pub gamma: f32,
    /// GAE's λ.
    pub lambda: f32,
    /// Weight of the dense progress reward next to the 0/1 success reward.
    pub shaping: f32,
}

impl Default for PpoOptions {
    fn default() -> Self {
        PpoOptions {
            value_weight: 0.5,
            gamma: 0.99,
            lambda: 0.95,
            shaping: 1.0,
        }
    }
}

/// Value head: from the mean of the action-query outputs `[B, C, W]`, the expected return.
#[derive(Module, Debug)]
pub struct ValueHead {
    hidden: Linear,
    out: Linear,
}

impl crate::device::DrawParams for ValueHead {
    fn draw_params(&self) {
        crate::device::draw_module(self);
    }
}

impl ValueHead {
    /// A head over query features of width `width` (drawn lazily: build it inside
    /// [`crate::device::seeded`]).
    pub fn new(width: usize, device: &Device) -> Self {
        ValueHead {
            hidden: LinearConfig::new(width, width).init(device),
            out: LinearConfig::new(width, 1).init(device),
        }
    }

    /// Values `[B]`.
    pub fn forward(&self, queries: Tensor<3>) -> Tensor<1> {
        let [b, _, _] = queries.dims();
        let pooled = queries.mean_dim(1).reshape([b as i64, -1]);
        self.out
            .forward(gelu(self.hidden.forward(pooled)))
            .reshape([b])
    }
}

/// The reward of one decision (see the module docs).
pub fn reward(succeeded: bool, progress_gain: f32, shaping: f32) -> f32 {
    let success = if succeeded { 1.0 } else { 0.0 };
    success + shaping * progress_gain
}

/// Generalised advantage estimates and returns of one rollout's decisions, from its rewards
/// and its value estimates (`values[i]` for decision `i`). The rollout ends either by success
/// (terminal: nothing follows) or by running out of steps (also treated as terminal: the
/// step limit is part of the task).
pub fn gae(rewards: &[f32], values: &[f32], gamma: f32, lambda: f32) -> (Vec<f32>, Vec<f32>) {
    let n = rewards.len();
    let mut advantages = vec![0.0; n];
    let mut next_advantage = 0.0;
    for i in (0..n).rev() {
        let next_value = if i + 1 < n { values[i + 1] } else { 0.0 };
        let delta = rewards[i] + gamma * next_value - values[i];
        next_advantage = delta + gamma * lambda * next_advantage;
        advantages[i] = next_advantage;
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    (advantages, returns)
}

/// Sets every decision's advantage by GAE from `values` (one per decision, in trajectory
/// order), normalised to zero mean and unit spread over the whole round, and returns the
/// un-normalised returns in the same order.
pub fn assign_advantages(
    trajectories: &mut [Trajectory],
    values: &[f32],
    options: &PpoOptions,
) -> Vec<f32> {
    let mut all_returns = Vec::with_capacity(values.len());
    let mut all_adv = Vec::with_capacity(values.len());
    let mut at = 0;
    for t in trajectories.iter() {
        let n = t.decisions.len();
        let rewards: Vec<f32> = t
            .decisions
            .iter()
            .map(|d| reward(d.succeeded, d.progress_gain, options.shaping))
            .collect();
        let (adv, ret) = gae(&rewards, &values[at..at + n], options.gamma, options.lambda);
        all_adv.extend(adv);
        all_returns.extend(ret);
        at += n;
    }
    let n = all_adv.len().max(1) as f32;
    let mean = all_adv.iter().sum::<f32>() / n;
    let std = (all_adv.iter().map(|a| (a - mean).powi(2)).sum::<f32>() / n)
        .sqrt()
        .max(1e-6);
    let mut k = 0;
    for t in trajectories.iter_mut() {
        for d in &mut t.decisions {
            d.advantage = (all_adv[k] - mean) / std;
            k += 1;
        }
    }
    all_returns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gae_with_lambda_one_is_the_discounted_return_minus_the_value() {
        let rewards = [0.1, 0.0, 1.0];
        let values = [0.5, 0.4, 0.9];
        let (adv, ret) = gae(&rewards, &values, 0.9, 1.0);
        let g2 = 1.0;
        let g1 = 0.0 + 0.9 * g2;
        let g0 = 0.1 + 0.9 * g1;
        for (i, g) in [g0, g1, g2].iter().enumerate() {
            assert!((ret[i] - g).abs() < 1e-5, "{ret:?}");
            assert!((adv[i] - (g - values[i])).abs() < 1e-5);
        }
    }

    #[test]
    fn gae_with_lambda_zero_is_the_one_step_error() {
        let rewards = [0.2, 0.3];
        let values = [1.0, 2.0];
        let (adv, _) = gae(&rewards, &values, 0.5, 0.0);
        assert!((adv[0] - (0.2 + 0.5 * 2.0 - 1.0)).abs() < 1e-6);
        assert!((adv[1] - (0.3 - 2.0)).abs() < 1e-6);
    }
}
