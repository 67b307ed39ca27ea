//! **Multi-component integration → RL fine-tuning.** GRPO (group relative policy
//! optimisation; Shao et al., 2024, "DeepSeekMath"), as VLA post-training applies it with a
//! binary task reward (e.g. SimpleVLA-RL, 2025): from one initial state, a group of rollouts
//! samples actions from the policy ([`rollouts::sample`]); each rollout's 0/1 success, minus
//! the group's mean and divided by its standard deviation, is the advantage of every action it
//! took; groups that all succeeded or all failed carry no signal and are skipped. The update
//! is GRPO's clipped surrogate over the chunk's executed action values (its "tokens"):
//! `min(ρ·A, clip(ρ, 1-ε, 1+ε)·A)` averaged per decision, `ρ` the ratio of each value's
//! probability now to its probability when sampled
//! ([`Learner::clipped_policy_step`](crate::train::Learner::clipped_policy_step)), so several
//! updates can learn from one round without running away. There is no value network: the
//! group is the baseline.
//!
//! The reward is the 0/1 success by default. `reward = "progress"` uses instead the task's
//! progress at the episode's end (completed sub-goals plus progress in the current one, over
//! the number of sub-goals; 1 on success), the shaped outcome reward of multi-step VLA RL: on
//! long tasks most groups then carry a signal, where with 0/1 success a group in which no
//! rollout finishes every sub-goal teaches nothing.
//!
//! It needs a policy with a tractable action density: the `bins` head (every action value is
//! a categorical over bins), whose samples and log-probabilities are exact.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Policy, Tokenizer};
use crate::sim::Suite;
use crate::train::recipes::rollouts::{self, Decision, RolloutOptions, Trajectory};

/// What a rollout's outcome is worth, compared within its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reward {
    /// 1 when the task was completed, else 0.
    #[default]
    Success,
    /// The task's progress at the end, in [0, 1] (1 on success).
    Progress,
}

impl Reward {
    /// The name in configs.
    pub fn name(self) -> &'static str {
        match self {
            Reward::Success => "success",
            Reward::Progress => "progress",
        }
    }

    /// `trajectory`'s reward.
    pub fn of(self, trajectory: &Trajectory) -> f32 {
        match (self, trajectory.success) {
            (_, true) => 1.0,
            (Reward::Success, false) => 0.0,
            (Reward::Progress, false) => trajectory.final_progress.clamp(0.0, 1.0),
        }
    }
}

/// What a round of grouped rollouts collected.
#[derive(Debug, Clone)]
pub struct GrpoRound {
    /// Every rollout, its decisions carrying their group-relative advantage (0 in groups
    /// without signal).
    pub trajectories: Vec<Trajectory>,
    /// Share of rollouts that succeeded (all groups).
    pub success_rate: f64,
    /// Groups with mixed outcomes (used).
    pub groups_used: usize,
    /// Groups run.
    pub groups: usize,
    /// Control steps simulated.
    pub steps: usize,
}

impl GrpoRound {
    /// Every decision of every rollout.
    pub fn decisions(&self) -> Vec<&Decision> {
        self.trajectories
            .iter()
            .flat_map(|t| t.decisions.iter())
            .collect()
    }

    /// The decisions that carry a learning signal (non-zero advantage).
    pub fn with_signal(&self) -> Vec<&Decision> {
        self.decisions()
            .into_iter()
            .filter(|d| d.advantage != 0.0)
            .collect()
    }
}

/// Group-relative advantages of `rewards`: `(r - mean) / std`, or `None` when the group
/// has no spread (all successes or all failures).
pub fn advantages(rewards: &[f32]) -> Option<Vec<f32>> {
    let n = rewards.len() as f32;
    let mean = rewards.iter().sum::<f32>() / n;
    let var = rewards.iter().map(|r| (r - mean).powi(2)).sum::<f32>() / n;
    (var > 1e-8).then(|| rewards.iter().map(|r| (r - mean) / var.sqrt()).collect())
}

/// Sets every decision's advantage to its rollout's group-relative `reward` advantage (0 in
/// groups without spread); returns how many of the `groups` groups had a signal.
pub fn assign_advantages(trajectories: &mut [Trajectory], groups: usize, reward: Reward) -> usize {
    let mut used = 0;
    for group in 0..groups {
        let members: Vec<usize> = (0..trajectories.len())
            .filter(|&i| trajectories[i].group == group)
            .collect();
        let rewards: Vec<f32> = members
            .iter()
            .map(|&i| reward.of(&trajectories[i]))
            .collect();
        let adv = match advantages(&rewards) {
            Some(adv) => {
                used += 1;
                adv
            }
            None => vec![0.0; rewards.len()],
        };
        for (&i, advantage) in members.iter().zip(adv) {
            for d in &mut trajectories[i].decisions {
                d.advantage = advantage;
            }
        }
    }
    used
}

/// Runs `options.group_size` rollouts from each `(task, seed)` start of `suite`, sampling
/// actions from `policy`'s bins head, all in lockstep; every decision gets its rollout's
/// group-relative advantage of `reward`.
pub fn collect(
    policy: &Policy,
    tokenizer: &Tokenizer,
    suite: &Suite,
    starts: &[(String, u64)],
    options: &RolloutOptions,
    reward: Reward,
    seed: u64,
) -> Result<GrpoRound> {
    if options.group_size < 2 {
        return Err(crate::error::Error::invalid(
            "GRPO needs groups of at least 2 rollouts",
        ));
    }
    let mut trajectories = rollouts::sample(policy, tokenizer, suite, starts, options, seed)?;
    let groups_used = assign_advantages(&mut trajectories, starts.len(), reward);
    let stats = rollouts::stats(&trajectories);
    Ok(GrpoRound {
        trajectories,
        success_rate: stats.success_rate,
        groups_used,
        groups: starts.len(),
        steps: stats.steps,
    })
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
    fn a_progress_reward_finds_a_signal_where_no_rollout_succeeded() {
        let t = |group, success, final_progress| Trajectory {
            group,
            task: String::new(),
            seed: 0,
            decisions: Vec::new(),
            success,
            final_progress,
            steps: 10,
        };
        // group 0: no success, different progress; group 1: one success among failures
        let mut round = vec![
            t(0, false, 0.5),
            t(0, false, 0.25),
            t(1, true, 1.0),
            t(1, false, 0.5),
        ];
        assert_eq!(assign_advantages(&mut round, 2, Reward::Success), 1);
        assert_eq!(assign_advantages(&mut round, 2, Reward::Progress), 2);
        assert_eq!(Reward::Progress.of(&round[0]), 0.5);
        assert_eq!(Reward::Success.of(&round[0]), 0.0);
        // success is worth 1 whatever the progress reading at the end
        assert_eq!(Reward::Progress.of(&t(0, true, 0.9)), 1.0);
    }
}
