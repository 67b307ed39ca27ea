//! GRPO (`recipes::grpo`) on the xs preset with the `bins` head: grouped rollouts from one
//! initial state get group-relative advantages, and a few clipped-surrogate steps make the
//! actions of the successful rollouts more likely and those of the failed ones less.

use burn::tensor::Device;
use praxis_core::data::Dataset;
use praxis_core::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use praxis_core::sim::Suite;
use praxis_core::train::recipes::grpo;
use praxis_core::train::recipes::rollouts::{self, Decision, RolloutOptions};
use praxis_core::train::{Chunks, Learner, OptimizerConfig, Surrogate};

mod common;

/// Mean log-probability of each decision's executed action values under `policy`.
fn log_likelihood(policy: &Policy, tokenizer: &Tokenizer, decisions: &[&Decision]) -> Vec<f32> {
    let (batch, actions, mask) = rollouts::update_inputs(policy, tokenizer, decisions).unwrap();
    let per = policy.config().chunk_len * policy.config().action_dim;
    rollouts::chunk_log_probs(policy, &batch, &actions, &mask)
        .unwrap()
        .iter()
        .zip(mask.chunks(per))
        .map(|(lp, m)| lp / m.iter().sum::<f32>().max(1.0))
        .collect()
}

#[test]
fn grpo_makes_successful_rollouts_more_likely_than_failed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::teacher_demos(&dir.path().join("demos"), "goal", 14, 0.05, 3);
    // a little imitation first, so that some rollouts of a group succeed and some fail
    let (mut learner, tokenizer) = common::imitated_xs_bins(Dataset::open(&out).unwrap());
    let device = Device::flex();
    let suite = Suite::builtin("goal").unwrap();
    let tasks = vec!["reach-purple".to_string(), "reach-yellow".to_string()];
    let options = RolloutOptions {
        group_size: 8,
        ..RolloutOptions::default()
    };
    let starts = rollouts::starts(&tasks, 6, 500);
    let round = grpo::collect(
        &learner.policy(),
        &tokenizer,
        &suite,
        &starts,
        &options,
        grpo::Reward::Success,
        9,
    )
    .unwrap();
    assert!(
        round.groups_used >= 1,
        "no group with mixed outcomes (success {:.2})",
        round.success_rate
    );
    assert_eq!(round.groups, 6);
    let decisions = round.decisions();
    assert!(round.steps > 0 && !decisions.is_empty());
    // advantages of a used group sum to zero per rollout; positive and negative both present
    assert!(decisions.iter().any(|d| d.advantage > 0.0));
    assert!(decisions.iter().any(|d| d.advantage < 0.0));

    let before = log_likelihood(&learner.policy(), &tokenizer, &decisions);
    let signal = round.with_signal();
    let (batch, actions, mask) =
        rollouts::update_inputs(&learner.policy(), &tokenizer, &signal).unwrap();
    let old: Vec<f32> = signal
        .iter()
        .flat_map(|d| d.value_log_probs.iter().copied())
        .collect();
    let advantages: Vec<f32> = signal.iter().map(|d| d.advantage).collect();
    let chunks = Chunks {
        batch: &batch,
        actions: &actions,
        mask: &mask,
    };
    let surrogate = Surrogate::new(&old, &advantages, 0.2, 1.0);
    let start = learner.policy();
    for _ in 0..8 {
        learner
            .clipped_policy_step(chunks, surrogate, 3e-3, None)
            .unwrap();
    }
    let after = log_likelihood(&learner.policy(), &tokenizer, &decisions);
    let change = |positive: bool| {
        let picked: Vec<f32> = decisions
            .iter()
            .enumerate()
            .filter(|(_, d)| (d.advantage > 0.0) == positive)
            .map(|(i, _)| after[i] - before[i])
            .collect();
        picked.iter().sum::<f32>() / picked.len() as f32
    };
    let (up, down) = (change(true), change(false));
    assert!(
        up > down + 0.05,
        "log-likelihood change: successful {up:+.3}, failed {down:+.3}"
    );

    // GRPO's KL penalty to the policy it started from (`rl.kl`) holds the same updates closer
    // to it: it is 0 at the first update and the credited values' log-probabilities move less
    let reference = rollouts::value_log_probs(&start, &batch, &actions, 1.0).unwrap();
    let drift = |beta: Option<f32>| {
        let mut learner = Learner::new(start.clone(), &OptimizerConfig::default(), &device);
        for k in 0..8 {
            let held = match beta {
                Some(beta) => surrogate.with_reference(&reference, beta),
                None => surrogate,
            };
            let out = learner
                .clipped_policy_step(chunks, held, 3e-3, None)
                .unwrap();
            let kl = out
                .auxiliary
                .iter()
                .find(|(name, _)| *name == "kl_reference");
            assert_eq!(kl.is_some(), beta.is_some());
            if let (0, Some((_, kl))) = (k, kl) {
                assert!(
                    kl.abs() < 1e-5,
                    "KL to the reference at the first update: {kl}"
                );
            }
        }
        let now = rollouts::value_log_probs(&learner.policy(), &batch, &actions, 1.0).unwrap();
        let moved: f32 = now
            .iter()
            .zip(&reference)
            .zip(&mask)
            .map(|((a, b), m)| m * (a - b).powi(2))
            .sum();
        moved / mask.iter().sum::<f32>()
    };
    let (free, held) = (drift(None), drift(Some(5.0)));
    assert!(
        held < 0.7 * free,
        "mean squared log-probability change: {free:.4} without the KL term, {held:.4} with it"
    );

    // the other heads have no density to climb
    let l1 = praxis_core::device::seeded(&device, 4, || {
        Policy::new(
            &ModelConfig::preset("xs", HeadKind::L1).unwrap(),
            tokenizer.vocab_size(),
            &device,
        )
    })
    .unwrap();
    let err = grpo::collect(
        &l1,
        &tokenizer,
        &suite,
        &starts,
        &options,
        grpo::Reward::Success,
        9,
    )
    .unwrap_err();
    assert!(err.to_string().contains("bins head"), "{err}");
}

/// Rollouts sampled below temperature 1 carry their log-probabilities at that temperature,
/// and the clipped update compares against the policy at the same temperature: before any
/// step the ratio is 1 (no clipping, no divergence), where comparing against the untempered
/// policy would not be.
#[test]
fn tempered_rollouts_start_the_update_at_ratio_one() {
    let model = ModelConfig::preset("xs", HeadKind::Bins).unwrap();
    let tokenizer = Tokenizer::new(praxis_core::sim::vocabulary());
    let device = Device::flex();
    let policy = praxis_core::device::seeded(&device, 5, || {
        Policy::new(&model, tokenizer.vocab_size(), &device)
    })
    .unwrap();
    let suite = Suite::builtin("goal").unwrap();
    let tasks = vec!["reach-purple".to_string()];
    let options = RolloutOptions {
        group_size: 2,
        temperature: 0.25,
        ..RolloutOptions::default()
    };
    let starts = rollouts::starts(&tasks, 1, 700);
    let trajectories = rollouts::sample(&policy, &tokenizer, &suite, &starts, &options, 3).unwrap();
    let decisions: Vec<&Decision> = trajectories
        .iter()
        .flat_map(|t| t.decisions.iter())
        .take(16)
        .collect();
    let (batch, actions, mask) = rollouts::update_inputs(&policy, &tokenizer, &decisions).unwrap();
    let old: Vec<f32> = decisions
        .iter()
        .flat_map(|d| d.value_log_probs.iter().copied())
        .collect();
    let advantages: Vec<f32> = (0..decisions.len())
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let chunks = Chunks {
        batch: &batch,
        actions: &actions,
        mask: &mask,
    };
    let kl_at = |temperature: f32| {
        let mut learner = Learner::new(policy.clone(), &OptimizerConfig::default(), &device);
        let surrogate = Surrogate::new(&old, &advantages, 0.2, temperature);
        let outcome = learner
            .clipped_policy_step(chunks, surrogate, 1e-3, None)
            .unwrap();
        let get = |name: &str| {
            outcome
                .auxiliary
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .unwrap()
        };
        (get("approx_kl"), get("clip_fraction"))
    };
    let (kl, clipped) = kl_at(0.25);
    assert!(
        kl.abs() < 1e-4 && clipped == 0.0,
        "same temperature: kl {kl}, clipped {clipped}"
    );
    let (kl, clipped) = kl_at(1.0);
    eprintln!("temperature 1 against T = 0.25 samples: kl {kl}, clipped {clipped}");
    assert!(
        kl > 1e-3 && clipped > 0.05,
        "temperature 1 against T = 0.25 samples: kl {kl}, clipped {clipped}"
    );
}
