//! Fine-tuning modes and the moving average on the xs preset: each mode's gradients reach
//! exactly the parameters it trains.

use burn::tensor::Device;
use praxis_core::bench::model::{bench_tokenizer, synthetic_batch};
use praxis_core::model::params::{NamedParam, named_params};
use praxis_core::model::{HeadKind, ModelConfig, Policy};
use praxis_core::train::ema::Ema;
use praxis_core::train::finetune::{FinetuneConfig, FinetuneMode};
use praxis_core::train::{Learner, OptimizerConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn base_policy() -> Policy {
    let device = Device::flex();
    let config = ModelConfig::preset("xs", HeadKind::L1).unwrap();
    praxis_core::device::seeded(&device, 11, || {
        Policy::new(&config, bench_tokenizer().vocab_size(), &device)
    })
    .unwrap()
}

/// Trains `policy` prepared for `finetune` for three steps; returns the dense weights
/// before and after, and the trainable / total parameter counts.
fn train_three_steps(
    finetune: &FinetuneConfig,
) -> (Vec<NamedParam>, Vec<NamedParam>, (usize, usize)) {
    let policy = base_policy();
    let before = named_params(&policy);
    let prepared = finetune.prepare(policy).unwrap();
    let mut learner = Learner::prepared(
        prepared,
        finetune,
        &OptimizerConfig::default(),
        &Device::flex(),
    );
    let counts = learner.trainable_params();
    let tokenizer = bench_tokenizer();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let config = learner.policy().config().clone();
    let batch = synthetic_batch(&config, &tokenizer, 4, &mut rng, true).unwrap();
    for _ in 0..3 {
        learner.step(&batch, 1e-2, &mut rng).unwrap();
    }
    (before, named_params(&learner.policy()), counts)
}

/// Names of the parameters whose values moved.
fn changed(before: &[NamedParam], after: &[NamedParam]) -> Vec<String> {
    assert_eq!(
        before.iter().map(|p| &p.name).collect::<Vec<_>>(),
        after.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "a trained policy must keep the dense structure"
    );
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.values != a.values)
        .map(|(b, _)| b.name.clone())
        .collect()
}

fn mode(mode: FinetuneMode) -> FinetuneConfig {
    FinetuneConfig {
        mode,
        ..FinetuneConfig::default()
    }
}

#[test]
fn full_fine_tuning_moves_every_weight() {
    let (before, after, (trainable, total)) = train_three_steps(&mode(FinetuneMode::Full));
    assert_eq!(trainable, total);
    let moved = changed(&before, &after);
    // word embeddings of unused ids get no gradient but still decay under AdamW
    assert_eq!(moved.len(), before.len(), "{moved:?}");
}

#[test]
fn head_only_moves_only_the_head() {
    let (before, after, (trainable, total)) = train_three_steps(&mode(FinetuneMode::HeadOnly));
    let moved = changed(&before, &after);
    assert!(!moved.is_empty());
    assert!(moved.iter().all(|n| n.starts_with("l1.")), "{moved:?}");
    let head: usize = before
        .iter()
        .filter(|p| p.name.starts_with("l1."))
        .map(|p| p.values.len())
        .sum();
    assert_eq!(trainable, head);
    assert!(trainable < total / 5);
}

#[test]
fn frozen_vision_keeps_the_patch_embedding() {
    let (before, after, (trainable, total)) = train_three_steps(&mode(FinetuneMode::FrozenVision));
    let moved = changed(&before, &after);
    assert!(
        moved.iter().all(|n| !n.starts_with("patch_embed.")),
        "{moved:?}"
    );
    assert!(moved.iter().any(|n| n.starts_with("blocks.")));
    assert!(moved.iter().any(|n| n.starts_with("l1.")));
    let vision: usize = before
        .iter()
        .filter(|p| p.name.starts_with("patch_embed."))
        .map(|p| p.values.len())
        .sum();
    assert_eq!(trainable, total - vision);
}

#[test]
fn lora_moves_the_adapted_weights_and_the_head_and_nothing_else() {
    let lora = FinetuneConfig {
        mode: FinetuneMode::Lora,
        rank: 2,
        trainable: vec!["state_embed".into()],
        ..FinetuneConfig::default()
    };
    let (before, after, (trainable, total)) = train_three_steps(&lora);
    let moved = changed(&before, &after);
    let allowed = |n: &str| {
        n.starts_with("l1.")
            || n.starts_with("state_embed.")
            || (n.starts_with("blocks.")
                && n.ends_with(".weight")
                && ["attention.qkv", "attention.out", "mlp_in", "mlp_out"]
                    .iter()
                    .any(|t| n.contains(t)))
    };
    assert!(moved.iter().all(|n| allowed(n)), "{moved:?}");
    assert!(moved.iter().any(|n| n.contains("attention.qkv.weight")));
    assert!(moved.iter().any(|n| n.starts_with("state_embed.")));
    // biases, norms, positions and the vision stem stay as they were
    assert!(
        moved.iter().all(|n| !n.ends_with(".bias")
            || n.starts_with("l1.")
            || n.starts_with("state_embed."))
    );
    assert!(trainable * 5 < total, "{trainable} of {total}");
}

#[test]
fn lora_settings_naming_no_layer_are_refused() {
    let bad = FinetuneConfig {
        mode: FinetuneMode::Lora,
        targets: vec!["convolution".into()],
        ..FinetuneConfig::default()
    };
    let e = bad.prepare(base_policy()).unwrap_err().to_string();
    assert!(e.contains("convolution") && !e.contains('\n'), "{e}");
}

#[test]
fn the_moving_average_lags_the_weights() {
    let policy = base_policy();
    let start = named_params(&policy);
    let mut ema = Ema::new(policy.clone(), 0.9);
    let mut learner = Learner::new(policy, &OptimizerConfig::default(), &Device::flex());
    let tokenizer = bench_tokenizer();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let config = learner.policy().config().clone();
    let batch = synthetic_batch(&config, &tokenizer, 4, &mut rng, true).unwrap();
    for _ in 0..20 {
        learner.step(&batch, 1e-2, &mut rng).unwrap();
        ema.update(&learner.policy());
    }
    let current = named_params(&learner.policy());
    let average = named_params(ema.policy());
    let distance = |a: &[NamedParam], b: &[NamedParam]| -> f64 {
        a.iter()
            .zip(b)
            .flat_map(|(x, y)| x.values.iter().zip(&y.values))
            .map(|(x, y)| f64::from(x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let travelled = distance(&start, &current);
    let lag = distance(&average, &current);
    let from_start = distance(&average, &start);
    assert!(
        lag > 0.01 * travelled,
        "the average must lag: {lag} vs {travelled}"
    );
    assert!(
        lag < travelled && from_start < travelled,
        "{lag} {from_start} {travelled}"
    );
    assert_eq!(ema.updates(), 20);
}

/// A new body: the proprioception projection is drawn afresh, then trained with the head
/// and the adapters; nothing else moves.
#[test]
fn reinit_draws_a_new_state_projection_and_trains_it_with_lora() {
    let finetune = FinetuneConfig {
        mode: FinetuneMode::Lora,
        rank: 2,
        targets: vec!["attention.qkv".into()],
        reinit: vec!["state_embed".into()],
        ..FinetuneConfig::default()
    };
    let policy = base_policy();
    let before = named_params(&policy);
    let fresh =
        praxis_core::device::seeded(&Device::flex(), 5, || finetune.reinitialize(policy)).unwrap();
    let redrawn = named_params(&fresh);
    let moved_by_reinit = changed(&before, &redrawn);
    assert_eq!(
        moved_by_reinit,
        vec![
            "state_embed.weight".to_string(),
            "state_embed.bias".to_string()
        ],
        "only the named layer is redrawn"
    );
    let weight = redrawn
        .iter()
        .find(|p| p.name == "state_embed.weight")
        .unwrap();
    let bound = 1.0 / (weight.shape[0] as f32).sqrt();
    assert!(weight.values.iter().all(|v| v.abs() <= bound));
    // drawn as a Linear's weight (uniform up to the bound), not as a small normal
    assert!(weight.values.iter().any(|v| v.abs() > 0.6 * bound));
    assert!(
        redrawn
            .iter()
            .find(|p| p.name == "state_embed.bias")
            .unwrap()
            .values
            .iter()
            .all(|v| *v == 0.0)
    );

    let mut learner = Learner::prepared(
        finetune.prepare(fresh).unwrap(),
        &finetune,
        &OptimizerConfig::default(),
        &Device::flex(),
    );
    let tokenizer = bench_tokenizer();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let config = learner.policy().config().clone();
    let batch = synthetic_batch(&config, &tokenizer, 4, &mut rng, true).unwrap();
    for _ in 0..3 {
        learner.step(&batch, 1e-2, &mut rng).unwrap();
    }
    let moved = changed(&redrawn, &named_params(&learner.policy()));
    assert!(
        moved.iter().any(|n| n.starts_with("state_embed")),
        "{moved:?}"
    );
    assert!(
        moved.iter().all(|n| n.starts_with("state_embed")
            || n.starts_with("l1.")
            || n.contains("attention.qkv")),
        "{moved:?}"
    );
    let bad = FinetuneConfig {
        reinit: vec!["elbow".into()],
        ..FinetuneConfig::default()
    };
    let err = bad.reinitialize(base_policy()).unwrap_err().to_string();
    assert!(
        err.contains("finetune.reinit") && err.contains("elbow"),
        "{err}"
    );
}

/// With `train_head = false` the head is frozen unless `targets` adapts it.
#[test]
fn lora_can_adapt_the_head_instead_of_training_it() {
    let finetune = FinetuneConfig {
        mode: FinetuneMode::Lora,
        rank: 2,
        targets: vec!["attention.qkv".into(), "l1.out".into()],
        train_head: false,
        ..FinetuneConfig::default()
    };
    let (before, after, (trainable, total)) = train_three_steps(&finetune);
    let moved = changed(&before, &after);
    assert!(moved.contains(&"l1.out.weight".to_string()), "{moved:?}");
    assert!(
        !moved.iter().any(|n| n.starts_with("l1.hidden")),
        "{moved:?}"
    );
    assert!(!moved.contains(&"l1.out.bias".to_string()), "{moved:?}");
    assert!(
        moved
            .iter()
            .all(|n| n.contains("attention.qkv") || n == "l1.out.weight"),
        "{moved:?}"
    );
    assert!(trainable * 10 < total, "{trainable} of {total}");
}
