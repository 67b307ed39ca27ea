//! DAgger's corrected rollouts (`recipes::dagger`) on the xs preset: with `labels =
//! "takeover"` a round keeps only the takeovers of the very same rollouts — the straying steps
//! that triggered each and the steps the teacher drove — as short episodes of their own.

use burn::tensor::Device;
use praxis_core::data::Episode;
use praxis_core::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use praxis_core::sim::Suite;
use praxis_core::train::recipes::dagger::{self, DaggerOptions, Labels};

fn round(policy: &Policy, tokenizer: &Tokenizer, labels: Labels) -> dagger::DaggerRound {
    let suite = Suite::builtin("goal").unwrap();
    let tasks = vec!["reach-purple".to_string(), "push-red-to-green".to_string()];
    let options = DaggerOptions {
        episodes: 4,
        labels,
        ..DaggerOptions::default()
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

#[test]
fn takeover_labels_keep_only_the_corrected_parts_of_the_same_rollouts() {
    let model = ModelConfig::preset("xs", HeadKind::Bins).unwrap();
    let tokenizer = Tokenizer::new(praxis_core::sim::vocabulary());
    let device = Device::flex();
    // untrained: it strays often, so the teacher takes over in every rollout
    let policy = praxis_core::device::seeded(&device, 9, || {
        Policy::new(&model, tokenizer.vocab_size(), &device)
    })
    .unwrap();
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
