//! Cross-backend parity: one set of weights gives the same outputs on flex and on wgpu (Mesa
//! lavapipe on machines without a GPU), for every head, and one AdamW step gives the same
//! updated weights.
//!
//! Tolerances: outputs agree within 1e-4 absolute + 1e-3 relative; updated weights within
//! 1e-5 absolute. (Float sums run in another order on the GPU, so bit equality is not
//! expected. The step uses AdamW with epsilon 1e-3 so that gradients that are zero up to
//! rounding cannot flip the sign of an update.)
//!
//! Without a wgpu adapter the test says it was skipped; with `PRAXIS_REQUIRE_WGPU=1` (set by
//! CI) it fails instead.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use praxis_core::bench::model::{bench_tokenizer, synthetic_batch};
use praxis_core::device::{self, Backend};
use praxis_core::model::input::flow_noise;
use praxis_core::model::params::named_params;
use praxis_core::model::{HeadKind, ModelConfig, Policy};
use praxis_core::train::{Learner, OptimizerConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn wgpu_or_skip() -> Option<Device> {
    let required = std::env::var("PRAXIS_REQUIRE_WGPU").is_ok_and(|v| v == "1");
    match device::open(Backend::Wgpu) {
        Ok(d) => {
            eprintln!("parity: wgpu device is {}", d.name);
            Some(d.device)
        }
        Err(e) if required => panic!("PRAXIS_REQUIRE_WGPU=1 but wgpu is unusable: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: flex-vs-wgpu parity needs a wgpu adapter ({e})");
            None
        }
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn assert_close(what: &str, a: &[f32], b: &[f32], atol: f32, rtol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let mut worst = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        let diff = (x - y).abs();
        assert!(
            diff <= atol + rtol * y.abs(),
            "{what}: {x} vs {y} differ by {diff}"
        );
        worst = worst.max(diff);
    }
    eprintln!(
        "{what}: max |difference| {worst:.2e} over {} values",
        a.len()
    );
}

#[test]
fn flex_and_wgpu_agree_on_outputs_and_on_one_step() {
    let Some(gpu) = wgpu_or_skip() else { return };
    let cpu = Device::flex();
    let tokenizer = bench_tokenizer();
    for head in HeadKind::ALL {
        let config = ModelConfig::preset("xs", head).unwrap();
        let on_cpu = praxis_core::device::seeded(&cpu, 21, || {
            Policy::new(&config, tokenizer.vocab_size(), &cpu)
        })
        .unwrap();
        let on_gpu = on_cpu.clone().to_device(&gpu);

        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let batch = synthetic_batch(&config, &tokenizer, 4, &mut rng, true).unwrap();
        let run = |policy: &Policy, device: &Device| {
            let mut rng = ChaCha8Rng::seed_from_u64(22);
            let input = batch.input(&config, device);
            let targets = batch.targets(&config, &mut rng, device).unwrap();
            let encoding = policy.encode(&input, true);
            let actions = policy.act(&encoding, flow_noise(&config, 4, &mut rng, device));
            let log_probs = policy
                .action_log_probs(&encoding, targets.actions.clone())
                .map(values);
            (
                values(actions),
                values(policy.loss(&input, &targets)),
                values(encoding.attention[0].clone()),
                log_probs,
            )
        };
        let (a_cpu, l_cpu, w_cpu, lp_cpu) = run(&on_cpu, &cpu);
        let (a_gpu, l_gpu, w_gpu, lp_gpu) = run(&on_gpu, &gpu);
        if head == HeadKind::Bins {
            // decoded bins can differ where two logits tie; their log-probabilities must not
            let (lp_cpu, lp_gpu) = (lp_cpu.unwrap(), lp_gpu.unwrap());
            assert_close("bins log-probs", &lp_gpu, &lp_cpu, 1e-4, 1e-3);
        } else {
            assert_close(&format!("{head} actions"), &a_gpu, &a_cpu, 1e-4, 1e-3);
        }
        assert_close(&format!("{head} loss"), &l_gpu, &l_cpu, 1e-4, 1e-3);
        assert_close(&format!("{head} attention"), &w_gpu, &w_cpu, 1e-5, 1e-3);

        let optimizer = OptimizerConfig {
            epsilon: 1e-3,
            ..OptimizerConfig::default()
        };
        let step = |policy: Policy, device: &Device| {
            let mut learner = Learner::new(policy, &optimizer, device);
            let mut rng = ChaCha8Rng::seed_from_u64(23);
            learner.step(&batch, 1e-3, &mut rng).unwrap();
            named_params(&learner.policy())
        };
        let after_cpu = step(on_cpu, &cpu);
        let after_gpu = step(on_gpu, &gpu);
        let flat = |p: &[praxis_core::model::params::NamedParam]| {
            p.iter().flat_map(|p| p.values.clone()).collect::<Vec<_>>()
        };
        assert_close(
            &format!("{head} weights after one AdamW step"),
            &flat(&after_gpu),
            &flat(&after_cpu),
            1e-5,
            0.0,
        );
    }
}
