//! DAgger's corrected rollouts (`recipes::dagger`) on the xs preset: with `labels =
//! "takeover"` a round keeps only the takeovers of the very same rollouts — the straying steps
//! that triggered each and the steps the teacher drove — as short episodes of their own
//! (`"driven"`: the teacher's steps alone); with
//! `handback = "subgoal"` a takeover lasts until the sub-goal is reached; `label_budget` keeps
//! the round's first pieces that fit (of a first piece that does not, its first frames).

use burn::tensor::Device;
use praxis_core::data::Episode;
use praxis_core::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use praxis_core::sim::Suite;
use praxis_core::train::recipes::dagger::{self, ChunkLabels, DaggerOptions, Handback, Labels};

fn round(policy: &Policy, tokenizer: &Tokenizer, labels: Labels) -> dagger::DaggerRound {
    round_with(
        policy,
        tokenizer,
        DaggerOptions {
            labels,
            ..DaggerOptions::default()
        },
    )
}

fn round_with(
    policy: &Policy,
    tokenizer: &Tokenizer,
    options: DaggerOptions,
) -> dagger::DaggerRound {
    let suite = Suite::builtin("goal").unwrap();
    let tasks = vec!["reach-purple".to_string(), "push-red-to-green".to_string()];
    let options = DaggerOptions {
        episodes: 4,
        ..options
    };
    dagger::collect(
        policy,
        tokenizer,
        &suite,
        &tasks,
        70,
        Default::default(),
        &options,
    )
    .unwrap()
}

/// Whether `part` is a run of consecutive frames of `whole`.
fn is_slice_of(part: &Episode, whole: &Episode) -> bool {
    (0..=whole.len().saturating_sub(part.len()))
        .any(|start| whole.frames(start..start + part.len()) == *part)
}

/// An untrained xs policy: it strays often, so the teacher takes over in every rollout.
fn untrained() -> (Policy, Tokenizer) {
    let model = ModelConfig::preset("xs", HeadKind::Bins).unwrap();
    let tokenizer = Tokenizer::new(praxis_core::sim::vocabulary());
    let device = Device::flex();
    let policy = praxis_core::device::seeded(&device, 9, || {
        Policy::new(&model, tokenizer.vocab_size(), &device)
    })
    .unwrap();
    (policy, tokenizer)
}

#[test]
fn takeover_labels_keep_only_the_corrected_parts_of_the_same_rollouts() {
    let (policy, tokenizer) = untrained();
    let every = round(&policy, &tokenizer, Labels::Every);
    let takeover = round(&policy, &tokenizer, Labels::Takeover);

    // the same rollouts: labelling does not change what is executed
    assert_eq!(every.intervention_rate, takeover.intervention_rate);
    assert_eq!(every.success_rate, takeover.success_rate);
    assert!(every.intervention_rate > 0.0 && every.intervention_rate < 1.0);
    let steps: usize = every.episodes.iter().map(Episode::len).sum();
    assert_eq!(every.labelled, steps);

    // only the takeovers: at least the teacher's steps, fewer than all
    let kept: usize = takeover.episodes.iter().map(Episode::len).sum();
    assert_eq!(takeover.labelled, kept);
    let teacher_steps = (every.intervention_rate * steps as f64).round() as usize;
    assert!(
        kept > teacher_steps && kept < steps,
        "kept {kept} of {steps} steps, the teacher drove {teacher_steps}"
    );
    // each takeover is a run of frames (teacher labels included) of its rollout's episode
    for part in &takeover.episodes {
        let whole = every
            .episodes
            .iter()
            .find(|e| e.seed == part.seed)
            .expect("a takeover of a rollout of the round");
        assert!(is_slice_of(part, whole), "seed {}", part.seed);
        part.validate().unwrap();
    }
    assert!(takeover.episodes.len() > every.episodes.len() / 2);
    eprintln!(
        "{} rollouts, {steps} steps, teacher drove {teacher_steps}; kept {kept} in {} takeovers",
        every.episodes.len(),
        takeover.episodes.len()
    );
}

#[test]
fn a_subgoal_handback_finishes_the_subgoal_and_a_budget_keeps_the_first_pieces() {
    let (policy, tokenizer) = untrained();
    let options = |handback, labels, label_budget| DaggerOptions {
        handback,
        labels,
        label_budget,
        ..DaggerOptions::default()
    };
    let fixed = round_with(
        &policy,
        &tokenizer,
        options(Handback::Steps, Labels::Takeover, None),
    );
    let whole = round_with(
        &policy,
        &tokenizer,
        options(Handback::Subgoal, Labels::Every, None),
    );
    let subgoal = round_with(
        &policy,
        &tokenizer,
        options(Handback::Subgoal, Labels::Takeover, None),
    );

    // Both tasks have one sub-goal, so once the teacher has taken over it drives to the end:
    // each rollout's takeover is one piece, a tail of its episode, and the teacher completes
    // the task in at least the rollouts where it had time to.
    assert!(!subgoal.episodes.is_empty());
    for part in &subgoal.episodes {
        let rollout = whole.episodes.iter().find(|e| e.seed == part.seed).unwrap();
        let tail = rollout.frames(rollout.len() - part.len()..rollout.len());
        assert!(tail == *part, "seed {}: not the episode's tail", part.seed);
        assert_eq!(part.success, rollout.success);
    }
    let seeds: std::collections::BTreeSet<u64> = subgoal.episodes.iter().map(|e| e.seed).collect();
    assert_eq!(
        seeds.len(),
        subgoal.episodes.len(),
        "one takeover a rollout"
    );
    assert!(subgoal.intervention_rate > fixed.intervention_rate);
    assert!(subgoal.episodes.iter().all(|piece| piece.success));
    // a fixed takeover hands back after 6 steps, so some rollouts need several
    assert!(fixed.episodes.len() > subgoal.episodes.len());

    // A budget keeps the leading pieces whose labels fit, and nothing else changes.
    let first = subgoal.episodes[0].len();
    let budget = first + subgoal.episodes[1].len() - 1;
    let capped = round_with(
        &policy,
        &tokenizer,
        options(Handback::Subgoal, Labels::Takeover, Some(budget)),
    );
    assert_eq!(capped.episodes.len(), 1);
    assert_eq!(capped.labelled, first);
    assert!(capped.episodes[0] == subgoal.episodes[0]);
    assert_eq!(capped.intervention_rate, subgoal.intervention_rate);

    // A budget below the first piece keeps that piece's first frames, not nothing.
    let short = round_with(
        &policy,
        &tokenizer,
        options(Handback::Subgoal, Labels::Takeover, Some(first - 1)),
    );
    assert_eq!(short.labelled, first - 1);
    assert!(short.episodes[0] == subgoal.episodes[0].frames(0..first - 1));
}

#[test]
fn a_zero_step_takeover_labels_the_straying_but_leaves_the_policy_driving() {
    let (policy, tokenizer) = untrained();
    let zero = round_with(
        &policy,
        &tokenizer,
        DaggerOptions {
            takeover_steps: 0,
            labels: Labels::Takeover,
            ..DaggerOptions::default()
        },
    );
    assert_eq!(zero.intervention_rate, 0.0);
    // the straying steps before each would-be takeover are still labelled
    assert!(zero.labelled > 0);
}

#[test]
fn driven_labels_keep_the_takeovers_without_their_straying_steps() {
    let (policy, tokenizer) = untrained();
    let takeover = round(&policy, &tokenizer, Labels::Takeover);
    let driven = round(&policy, &tokenizer, Labels::Driven);
    // The same rollouts: only which frames are kept differs.
    assert_eq!(driven.intervention_rate, takeover.intervention_rate);
    assert_eq!(driven.triggers, takeover.triggers);
    // Exactly the frames the teacher drove, each a part of one takeover piece.
    let every = round(&policy, &tokenizer, Labels::Every);
    let steps: usize = every.episodes.iter().map(|e| e.len()).sum();
    let teacher_steps = (driven.intervention_rate * steps as f64).round() as usize;
    assert_eq!(driven.labelled, teacher_steps);
    assert!(driven.labelled < takeover.labelled);
    for piece in &driven.episodes {
        assert!(takeover.episodes.iter().any(|t| is_slice_of(piece, t)));
    }
}

#[test]
fn triggers_count_every_straying_streak_that_reaches_the_takeover_length() {
    let (policy, tokenizer) = untrained();
    let options = |takeover_steps| DaggerOptions {
        takeover_steps,
        labels: Labels::Takeover,
        ..DaggerOptions::default()
    };
    // The teacher never drives: each would-be takeover is its two straying steps, the third
    // (the trigger) driven on by the policy and not flagged, so each is a piece of its own.
    let zero = round_with(&policy, &tokenizer, options(0));
    assert!(zero.triggers.count > 0);
    assert_eq!(zero.triggers.count, zero.episodes.len());
    assert!(zero.episodes.iter().all(|piece| piece.len() == 2));
    // Driving, the teacher's takeovers run on into the next streak's steps, so pieces merge.
    let driven = round_with(&policy, &tokenizer, options(6));
    assert!(driven.triggers.count >= driven.episodes.len());
    assert!(!driven.episodes.is_empty());
    for t in [zero.triggers, driven.triggers] {
        assert!(t.grip_only <= t.count);
        assert!(t.rollouts > 0 && t.rollouts <= 4 && t.rollouts <= t.count);
        assert!(t.rollouts_succeeded <= t.rollouts);
    }
}

#[test]
fn each_labelled_state_gets_the_teachers_own_chunk_from_it() {
    let (policy, tokenizer) = untrained();
    let options = |chunk_labels| DaggerOptions {
        handback: Handback::Subgoal,
        labels: Labels::Takeover,
        chunk_labels,
        ..DaggerOptions::default()
    };
    let plan = round_with(&policy, &tokenizer, options(ChunkLabels::Plan));
    let visited = round_with(&policy, &tokenizer, options(ChunkLabels::Visited));

    // The same rollouts and one-step labels; only the chunk targets differ.
    assert_eq!(plan.intervention_rate, visited.intervention_rate);
    assert_eq!(plan.episodes.len(), visited.episodes.len());
    let chunk = ModelConfig::preset("xs", HeadKind::Bins).unwrap().chunk_len;
    let mut differ = 0;
    for (p, v) in plan.episodes.iter().zip(&visited.episodes) {
        assert!(v.plans.is_none());
        assert_eq!((&p.states, &p.actions), (&v.states, &v.actions));
        let plans = p.plans.as_ref().expect("plan labels carry plans");
        let dims = p.action_dim as usize;
        let next = |t: usize| v.actions[t * dims..(t + chunk).min(v.len()) * dims].to_vec();
        let planned = |t: usize| -> Vec<f32> {
            (0..plans.steps[t] as usize)
                .flat_map(|k| plans.action(t, k, dims).to_vec())
                .collect()
        };
        // Every plan starts with the state's own label.
        for t in 0..p.len() {
            assert_eq!(
                plans.action(t, 0, dims),
                &p.actions[t * dims..(t + 1) * dims]
            );
        }
        // A one-sub-goal task's takeover is two straying steps, then the teacher to the end:
        // from there on the rollout *is* the teacher's plan, so the two agree exactly ...
        for t in 2..p.len() {
            assert_eq!(planned(t), next(t), "seed {}, frame {t}", p.seed);
        }
        // ... while from a straying state the rollout went where the policy's moves led.
        differ += usize::from(planned(0) != next(0));
    }
    assert!(
        differ > 0,
        "no straying state's plan differs from what followed"
    );
}
