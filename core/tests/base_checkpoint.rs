//! The shipped base checkpoint loads, is the praxis-s preset, knows every instruction word the
//! simulator can say, and acts.

use std::path::Path;

use burn::tensor::Device;
use praxis_core::checkpoint;
use praxis_core::model::input::flow_noise;
use praxis_core::model::{HostBatch, Observation};
use praxis_core::sim::{Env, EnvConfig};
use rand::SeedableRng;

#[test]
fn the_shipped_base_checkpoint_loads_and_acts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/base/praxis-s-bins");
    let ckpt = checkpoint::load(&dir, &Device::flex()).unwrap();
    checkpoint::expect_preset(&dir, &ckpt.meta, "s").unwrap();
    assert!(
        ckpt.optimizer.is_none(),
        "a base checkpoint ships without optimizer state"
    );
    let known: Vec<&String> = ckpt.meta.tokenizer.words().iter().collect();
    for word in praxis_core::sim::vocabulary() {
        assert!(known.contains(&&word), "the base tokenizer lacks '{word}'");
    }

    let config = ckpt.meta.model.clone();
    let mut env = Env::from_names("goal", "reach-purple", EnvConfig::default()).unwrap();
    let obs = env.reset(0).unwrap();
    let mut batch = HostBatch::default();
    batch
        .push_observation(
            &config,
            &ckpt.meta.tokenizer,
            Observation {
                image: &obs.image,
                image_size: obs.width as usize,
                state: &obs.proprio,
                instruction: &obs.instruction,
            },
        )
        .unwrap();
    let device = Device::flex();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let encoding = ckpt.policy.encode(&batch.input(&config, &device), true);
    let actions = ckpt
        .policy
        .act(&encoding, flow_noise(&config, 1, &mut rng, &device))
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    assert_eq!(actions.len(), config.chunk_len * config.action_dim);
    assert!(actions.iter().all(|a| a.is_finite()));
    assert_eq!(encoding.attention.len(), config.depth);
}
