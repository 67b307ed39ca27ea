//! **Task comprehension → preference learning.** Trajectory preference optimisation in the
//! form of DPO (direct preference optimisation; Rafailov et al., 2023), as GRAPE (Zhang et
//! al., 2024) applies it to VLA policies: the policy's own rollouts from one initial state are
//! ranked by task reward ([`Trajectory::score`]: success, then progress, then speed); the
//! best and the worst of a group form a (chosen, rejected) pair when their scores differ; the
//! loss `-log σ(β·[(log π(τ⁺) - log π_ref(τ⁺)) - (log π(τ⁻) - log π_ref(τ⁻))])` makes the
//! chosen trajectory more likely than the rejected one *relative to the reference policy*
//! (the policy at the start of preference training), which keeps it from drifting far.
//!
//! A trajectory's log-probability is its decisions' mean log-probability of the executed
//! values (length-normalised, so long failures do not dominate), estimated each update from
//! `decisions_per_trajectory` decisions drawn at random: the estimate is unbiased and an
//! update costs a fixed number of forward passes whatever the episode lengths.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::train::recipes::rollouts::Trajectory;

/// DPO's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpoOptions {
    /// Inverse temperature β of the preference model.
    pub beta: f32,
    /// Decisions drawn from each trajectory per update.
    pub decisions_per_trajectory: usize,
    /// Least score difference for a pair to count (see [`Trajectory::score`]).
    pub margin: f32,
}

impl Default for DpoOptions {
    fn default() -> Self {
        DpoOptions {
            beta: 0.5,
            decisions_per_trajectory: 4,
            margin: 0.05,
        }
    }
}

/// A preference: indices of the chosen and the rejected trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// The better-scored trajectory.
    pub chosen: usize,
    /// The worse-scored one.
    pub rejected: usize,
}

/// One pair per group whose best and worst rollouts differ by more than `margin`.
pub fn pairs(trajectories: &[Trajectory], groups: usize, margin: f32) -> Vec<Pair> {
    let mut out = Vec::new();
    for group in 0..groups {
        let members: Vec<usize> = (0..trajectories.len())
            .filter(|&i| trajectories[i].group == group && !trajectories[i].decisions.is_empty())
            .collect();
        let by_score = |&i: &usize| trajectories[i].score();
        let best = members
            .iter()
            .copied()
            .max_by(|a, b| by_score(a).total_cmp(&by_score(b)));
        let worst = members
            .iter()
            .copied()
            .min_by(|a, b| by_score(a).total_cmp(&by_score(b)));
        if let (Some(chosen), Some(rejected)) = (best, worst)
            && trajectories[chosen].score() - trajectories[rejected].score() > margin
        {
            out.push(Pair { chosen, rejected });
        }
    }
    out
}

/// The decisions one update looks at: for each pair, `per` decisions drawn from the chosen
/// trajectory then `per` from the rejected one, as `(trajectory, decision)` indices, in
/// that order (pair-major).
pub fn draw_decisions(
    trajectories: &[Trajectory],
    pairs: &[Pair],
    per: usize,
    rng: &mut impl rand::Rng,
) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(pairs.len() * 2 * per);
    for pair in pairs {
        for t in [pair.chosen, pair.rejected] {
            let n = trajectories[t].decisions.len();
            for _ in 0..per {
                out.push((t, rng.random_range(0..n)));
            }
        }
    }
    out
}

/// The `[pairs × decisions]` matrix that turns per-decision log-ratios into each pair's
/// margin: `+1/per` on its chosen decisions, `-1/per` on its rejected ones (the layout of
/// [`draw_decisions`]).
pub fn pair_matrix(pairs: usize, per: usize) -> Vec<f32> {
    let cols = pairs * 2 * per;
    let mut m = vec![0.0; pairs * cols];
    for p in 0..pairs {
        for k in 0..per {
            m[p * cols + p * 2 * per + k] = 1.0 / per as f32;
            m[p * cols + p * 2 * per + per + k] = -1.0 / per as f32;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trajectory(group: usize, success: bool, progress: f32) -> Trajectory {
        Trajectory {
            group,
            task: "t".into(),
            seed: 0,
            decisions: vec![crate::train::recipes::rollouts::Decision {
                image: Vec::new(),
                image_size: 0,
                state: Vec::new(),
                instruction: String::new(),
                bins: Vec::new(),
                executed: 1,
                action_dims: 1,
                value_log_probs: Vec::new(),
                progress_gain: 0.0,
                succeeded: success,
                advantage: 0.0,
            }],
            success,
            final_progress: progress,
            steps: 10,
        }
    }

    #[test]
    fn pairs_take_the_best_and_worst_of_each_group_when_they_differ() {
        let ts = vec![
            trajectory(0, false, 0.2),
            trajectory(0, true, 1.0),
            trajectory(0, false, 0.5),
            trajectory(1, false, 0.3),
            trajectory(1, false, 0.31), // within the margin: no pair
        ];
        let p = pairs(&ts, 2, 0.05);
        assert_eq!(
            p,
            vec![Pair {
                chosen: 1,
                rejected: 0
            }]
        );
    }

    #[test]
    fn the_pair_matrix_averages_chosen_minus_rejected() {
        let m = pair_matrix(2, 2);
        let log_ratios = [1.0, 3.0, 0.0, 2.0, 5.0, 5.0, 1.0, 1.0];
        let margins: Vec<f32> = (0..2)
            .map(|p| (0..8).map(|b| m[p * 8 + b] * log_ratios[b]).sum())
            .collect();
        assert_eq!(margins, vec![2.0 - 1.0, 5.0 - 1.0]);
    }
}
