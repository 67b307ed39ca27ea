//! The `augment` recipe (random shift and colour jitter): it changes the images a batch
//! serves, and nothing else, reproducibly per (seed, step); and training with it still learns.

use std::sync::atomic::AtomicBool;

use burn::tensor::Device;
use praxis_core::data::Dataset;
use praxis_core::device::{self, Backend};
use praxis_core::model::{HeadKind, ModelConfig, Tokenizer};
use praxis_core::train::loader::DataMix;
use praxis_core::train::recipes::augment::AugmentConfig;
use praxis_core::train::{self, TrainConfig};
use rand::SeedableRng;

mod common;

fn demos(dir: &std::path::Path) -> Dataset {
    Dataset::open(&common::teacher_demos(
        &dir.join("demos"),
        "goal",
        8,
        0.05,
        5,
    ))
    .unwrap()
}

const ON: AugmentConfig = AugmentConfig {
    shift: 4,
    brightness: 0.1,
    contrast: 0.2,
    gain: 0.2,
    gradient: 0.2,
};

#[test]
fn augmentation_changes_only_the_images_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let data = demos(dir.path());
    let model = ModelConfig::preset("xs", HeadKind::L1).unwrap();
    let tokenizer = Tokenizer::new(praxis_core::sim::vocabulary());
    let plain = DataMix::new(vec![data.clone()], model.chunk_len).unwrap();
    let augmented = DataMix::new(vec![data], model.chunk_len)
        .unwrap()
        .with_augment(ON);
    for step in [0, 7] {
        let a = plain.batch(&model, &tokenizer, 16, 3, step).unwrap();
        let b = augmented.batch(&model, &tokenizer, 16, 3, step).unwrap();
        let again = augmented.batch(&model, &tokenizer, 16, 3, step).unwrap();
        assert_eq!(b.images(), again.images(), "same seed and step, same batch");
        assert_eq!(a.states(), b.states());
        assert_eq!(a.actions(), b.actions());
        let per_image = a.images().len() / 16;
        let changed = (0..16)
            .filter(|i| {
                let r = i * per_image..(i + 1) * per_image;
                a.images()[r.clone()] != b.images()[r]
            })
            .count();
        assert!(changed >= 14, "only {changed} of 16 images were augmented");
    }
}

/// Mean training loss of a checkpoint over batches `steps` of `mix`.
fn loss_on(checkpoint: &std::path::Path, mix: &DataMix, steps: std::ops::Range<u64>) -> f32 {
    let ckpt = praxis_core::checkpoint::load(checkpoint, &Device::flex()).unwrap();
    let config = ckpt.policy.config().clone();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let n = steps.end - steps.start;
    let total: f32 = steps
        .map(|step| {
            let batch = mix
                .batch(&config, &ckpt.meta.tokenizer, 32, 99, step)
                .unwrap();
            let input = batch.input(&config, &Device::flex());
            let targets = batch.targets(&config, &mut rng, &Device::flex()).unwrap();
            ckpt.policy
                .loss(&input, &targets)
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap()[0]
        })
        .sum();
    total / n as f32
}

#[test]
fn a_policy_trained_with_augmentation_is_more_robust_to_shifted_and_relit_images() {
    let dir = tempfile::tempdir().unwrap();
    let data = demos(dir.path());
    let flex = device::open(Backend::Flex).unwrap();
    let run = |name: &str, augment: &str| {
        let config = TrainConfig::from_toml(
            &format!(
                "seed = 1\nsteps = 300\nbatch_size = 16\ncheckpoint_every = 300\nlog_every = 10\n\
                 [model]\npreset = \"xs\"\n[data]\ndatasets = [\"demos\"]\n\
                 [schedule]\nlr = 0.002\nwarmup_steps = 10\n{augment}"
            ),
            "augment.toml",
            dir.path(),
        )
        .unwrap();
        let out = dir.path().join(name);
        train::train(&out, &config, &flex, &AtomicBool::new(false), |_| {})
            .unwrap()
            .checkpoint
    };
    let plain = run("plain", "");
    let augmented = run("augmented", "[augment]\nshift = 6\nbrightness = 0.15\n");
    let saved = std::fs::read_to_string(dir.path().join("augmented/config.toml")).unwrap();
    assert!(saved.contains("[augment]"), "{saved}");

    let model = ModelConfig::preset("xs", HeadKind::L1).unwrap();
    let perturbed = DataMix::new(vec![data], model.chunk_len)
        .unwrap()
        .with_augment(AugmentConfig {
            shift: 6,
            brightness: 0.15,
            contrast: 0.0,
            gain: 0.0,
            gradient: 0.0,
        });
    let (plain_loss, augmented_loss) = (
        loss_on(&plain, &perturbed, 0..8),
        loss_on(&augmented, &perturbed, 0..8),
    );
    eprintln!(
        "loss on shifted, relit images: plain {plain_loss:.4}, augmented {augmented_loss:.4}"
    );
    assert!(
        augmented_loss < 0.9 * plain_loss,
        "augmented {augmented_loss} vs plain {plain_loss}"
    );
}

#[test]
fn bad_augmentation_settings_are_refused() {
    let bad = TrainConfig::from_toml(
        "steps = 1\n[model]\npreset = \"xs\"\n[data]\ndatasets = [\"demos\"]\n[augment]\ncontrast = 1.5\n",
        "bad.toml",
        std::path::Path::new("/tmp"),
    )
    .unwrap_err();
    assert!(bad.to_string().contains("augment.contrast"), "{bad}");
}
