//! Fixtures the integration tests share: scripted-teacher demonstrations, and an xs `bins`-head
//! learner after a little imitation (so that rollouts of the reach tasks have mixed outcomes).
//! Each test file is its own crate and uses part of this, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use praxis_core::data::{Dataset, RecordOptions, record_demos};
use praxis_core::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use praxis_core::train::loader::DataMix;
use praxis_core::train::{Learner, OptimizerConfig};
use rand::SeedableRng;

/// Records `episodes` successful teacher episodes of `suite` at 64×64 pixels, with action
/// noise `noise_std` and seed `seed`, into `out`, and returns `out`.
pub fn teacher_demos(
    out: &Path,
    suite: &str,
    episodes: usize,
    noise_std: f32,
    seed: u64,
) -> PathBuf {
    record_demos(
        &RecordOptions {
            suite: suite.into(),
            episodes,
            out: out.to_path_buf(),
            noise_std,
            teacher_smoothing: 0.0,
            image_size: 64,
            seed,
            keep_failures: false,
            variations: Default::default(),
        },
        &mut |_| {},
    )
    .unwrap();
    out.to_path_buf()
}

/// An xs `bins`-head policy (weights drawn from seed 4) after 150 imitation updates on `data`
/// (batch 16, learning rate 3e-3, flow noise from seed 0), with its tokenizer.
pub fn imitated_xs_bins(data: Dataset) -> (Learner, Tokenizer) {
    let model = ModelConfig::preset("xs", HeadKind::Bins).unwrap();
    let tokenizer = Tokenizer::new(praxis_core::sim::vocabulary());
    let device = Device::flex();
    let policy = praxis_core::device::seeded(&device, 4, || {
        Policy::new(&model, tokenizer.vocab_size(), &device)
    })
    .unwrap();
    let mut learner = Learner::new(policy, &OptimizerConfig::default(), &device);
    let mix = DataMix::new(vec![data], model.chunk_len).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for step in 0..150 {
        let batch = mix.batch(&model, &tokenizer, 16, 1, step).unwrap();
        learner.step(&batch, 3e-3, &mut rng).unwrap();
    }
    (learner, tokenizer)
}
