//! The auxiliary-loss recipes (affordance, distill, forward kinematics, inverse dynamics,
//! sub-task, future latent), on the xs preset: each term's loss falls when it is trained,
//! its gradients reach what it should, and `distill` keeps the encoder nearer the start.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use praxis_core::data::Dataset;
use praxis_core::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use praxis_core::train::loader::DataMix;
use praxis_core::train::recipes::auxiliary::AuxiliaryConfig;
use praxis_core::train::{Learner, OptimizerConfig};
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

fn policy(seed: u64) -> (Policy, Tokenizer) {
    let model = ModelConfig::preset("xs", HeadKind::L1).unwrap();
    let tokenizer = Tokenizer::new(praxis_core::sim::vocabulary());
    let device = Device::flex();
    let policy = praxis_core::device::seeded(&device, seed, || {
        Policy::new(&model, tokenizer.vocab_size(), &device)
    })
    .unwrap();
    (policy, tokenizer)
}

/// Trains `steps` updates with `aux`; returns each step's value of `term` (and the learner).
fn train(
    data: &Dataset,
    aux: AuxiliaryConfig,
    term: &str,
    steps: u64,
    lr: f64,
    clip: bool,
) -> (Vec<f32>, Learner, Policy) {
    let (start, tokenizer) = policy(1);
    let model = start.config().clone();
    let device = Device::flex();
    let optimizer = OptimizerConfig {
        clip_grad_norm: clip.then_some(1.0),
        ..OptimizerConfig::default()
    };
    let mut learner = Learner::new(start.clone(), &optimizer, &device)
        .with_auxiliary(aux, Some(start.clone()), 7)
        .unwrap();
    let mix = DataMix::new(vec![data.clone()], model.chunk_len)
        .unwrap()
        .with_auxiliary(learner.auxiliary_horizon());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut values = Vec::new();
    for step in 0..steps {
        let batch = mix.batch(&model, &tokenizer, 16, 3, step).unwrap();
        let outcome = learner.step(&batch, lr, &mut rng).unwrap();
        let value = if term == "action" {
            outcome.action_loss
        } else {
            outcome
                .auxiliary
                .iter()
                .find(|(name, _)| *name == term)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("no '{term}' term in {:?}", outcome.auxiliary))
        };
        values.push(value);
    }
    (values, learner, start)
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

fn only(term: &str) -> AuxiliaryConfig {
    let mut c = AuxiliaryConfig::default();
    match term {
        "affordance" => c.affordance = 1.0,
        "forward_kinematics" => c.forward_kinematics = 1.0,
        "inverse_dynamics" => c.inverse_dynamics = 1.0,
        "subtask" => c.subtask = 1.0,
        "future_latent" => c.future_latent = 1.0,
        other => panic!("{other}"),
    }
    c
}

#[test]
fn each_auxiliary_term_falls_when_trained() {
    let dir = tempfile::tempdir().unwrap();
    let data = demos(dir.path());
    for term in [
        "affordance",
        "forward_kinematics",
        "inverse_dynamics",
        "subtask",
        "future_latent",
    ] {
        let (values, _, _) = train(&data, only(term), term, 120, 4e-3, true);
        let (first, last) = (mean(&values[..5]), mean(&values[values.len() - 5..]));
        assert!(
            values.iter().all(|v| v.is_finite()),
            "{term}: non-finite loss in {values:?}"
        );
        assert!(
            last < 0.85 * first,
            "{term}: loss went from {first} to {last}, not below 85%"
        );
    }
}

/// Names of the policy parameters (by their shape's place in the visit order) whose values
/// differ between two policies.
struct Collect(Vec<Vec<f32>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(
            param
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap(),
        );
    }
}

fn params(policy: &Policy) -> Vec<Vec<f32>> {
    let mut c = Collect(Vec::new());
    policy.visit(&mut c);
    c.0
}

#[test]
fn kinematics_reaches_only_the_state_projection_and_distill_holds_the_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let data = demos(dir.path());
    // One update without gradient clipping (which would couple every tensor through the
    // global norm): with and without the FK term, only the state projection may differ.
    let (_, with_fk, _) = train(
        &data,
        only("forward_kinematics"),
        "forward_kinematics",
        1,
        1e-3,
        false,
    );
    let none = AuxiliaryConfig {
        subtask: 1e-12, // on (so the same code path runs), but without effect
        ..AuxiliaryConfig::default()
    };
    let (_, without, _) = train(&data, none, "subtask", 1, 1e-3, false);
    let (a, b) = (params(&with_fk.policy()), params(&without.policy()));
    let changed: Vec<usize> = (0..a.len())
        .filter(|&i| a[i].iter().zip(&b[i]).any(|(x, y)| (x - y).abs() > 1e-7))
        .collect();
    let (start, _) = policy(1);
    let model = start.config();
    let sizes: Vec<usize> = changed.iter().map(|&i| a[i].len()).collect();
    assert_eq!(
        sizes,
        vec![model.state_dim * model.width, model.width],
        "FK moved tensors of sizes {sizes:?}; expected only the state projection's weight and bias"
    );

    // distill: after 40 high-lr imitation updates the patch embeddings drift less from the
    // starting encoder's with the term on than without
    let drift = |weight: f64| {
        let c = AuxiliaryConfig {
            distill: weight,
            subtask: 1e-12,
            ..AuxiliaryConfig::default()
        };
        let (_, learner, start) = train(&data, c, "subtask", 40, 5e-3, true);
        let batch = DataMix::new(vec![data.clone()], start.config().chunk_len)
            .unwrap()
            .batch(start.config(), &policy(1).1, 16, 3, 999)
            .unwrap();
        let input = batch.input(start.config(), &Device::flex());
        let now = learner.policy().embed_patches(input.images.clone());
        let base = start.embed_patches(input.images);
        (now - base)
            .powi_scalar(2)
            .mean()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()[0]
    };
    let (free, held) = (drift(1e-12), drift(10.0));
    assert!(
        held < 0.5 * free,
        "distill: drift {held} with the term vs {free} without"
    );
}
