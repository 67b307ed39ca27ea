//! Checkpoints round-trip exactly, bad ones fail with one line and damage nothing, and the
//! SafeTensors export reads back with the safetensors crate.

use std::fs;
use std::path::Path;

use burn::tensor::{Device, Tensor};
use praxis_core::bench::model::{bench_tokenizer, synthetic_batch};
use praxis_core::checkpoint::{self, CheckpointMeta, Provenance, RngState};
use praxis_core::export;
use praxis_core::model::input::flow_noise;
use praxis_core::model::params::named_params;
use praxis_core::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use praxis_core::train::{Learner, OptimizerConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn meta(config: &ModelConfig, tokenizer: &Tokenizer, step: u64) -> CheckpointMeta {
    CheckpointMeta::new(
        config.clone(),
        tokenizer.clone(),
        step,
        7,
        RngState {
            seed: 7,
            word_pos: 1234,
        },
        Provenance::current("flex", "cpu"),
    )
}

fn trained(head: HeadKind, preset: &str) -> (Learner, ModelConfig, Tokenizer) {
    let tokenizer = bench_tokenizer();
    let config = ModelConfig::preset(preset, head).unwrap();
    let device = Device::flex();
    let policy = praxis_core::device::seeded(&device, 9, || {
        Policy::new(&config, tokenizer.vocab_size(), &device)
    })
    .unwrap();
    let mut learner = Learner::new(policy, &OptimizerConfig::default(), &device);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let batch = synthetic_batch(&config, &tokenizer, 4, &mut rng, true).unwrap();
    for _ in 0..3 {
        learner.step(&batch, 1e-3, &mut rng).unwrap();
    }
    (learner, config, tokenizer)
}

fn outputs(policy: &Policy, config: &ModelConfig, tokenizer: &Tokenizer) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let device = Device::flex();
    let batch = synthetic_batch(config, tokenizer, 2, &mut rng, false).unwrap();
    let encoding = policy.encode(&batch.input(config, &device), false);
    let actions: Tensor<3> = policy.act(&encoding, flow_noise(config, 2, &mut rng, &device));
    actions
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn round_trip_gives_identical_outputs_for_every_head() {
    for head in HeadKind::ALL {
        let (learner, config, tokenizer) = trained(head, "xs");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt");
        checkpoint::save(
            &path,
            &meta(&config, &tokenizer, 3),
            &learner.policy(),
            Some(learner.optimizer()),
        )
        .unwrap();
        let loaded = checkpoint::load(&path, &Device::flex()).unwrap();
        assert_eq!(loaded.meta.step, 3);
        assert_eq!(loaded.meta.rng.word_pos, 1234);
        assert_eq!(loaded.meta.tokenizer, tokenizer);
        assert!(loaded.optimizer.is_some());
        assert_eq!(
            outputs(&learner.policy(), &config, &tokenizer),
            outputs(&loaded.policy, &config, &tokenizer),
            "{head}"
        );
        assert_eq!(
            named_params(&learner.policy()),
            named_params(&loaded.policy)
        );
        // the staged temporary directory is gone
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

#[test]
fn bad_checkpoints_give_one_line_errors_and_stay_untouched() {
    let (learner, config, tokenizer) = trained(HeadKind::L1, "xs");
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    checkpoint::save(
        &good,
        &meta(&config, &tokenizer, 3),
        &learner.policy(),
        None,
    )
    .unwrap();
    let device = Device::flex();
    let err = |path: &Path| {
        let e = checkpoint::load(path, &device).unwrap_err().to_string();
        assert!(!e.contains('\n'), "multi-line error: {e}");
        e
    };

    assert!(err(&dir.path().join("missing")).contains("not found"));

    let truncated = dir.path().join("truncated");
    fs::create_dir(&truncated).unwrap();
    for (name, bytes) in snapshot(&good) {
        let keep = if name == "model.bpk" {
            bytes.len() / 2
        } else {
            bytes.len()
        };
        fs::write(truncated.join(&name), &bytes[..keep]).unwrap();
    }
    let before = snapshot(&truncated);
    assert!(err(&truncated).contains("truncated"));
    assert_eq!(snapshot(&truncated), before, "loading changed the files");

    let corrupted = dir.path().join("corrupted");
    fs::create_dir(&corrupted).unwrap();
    for (name, mut bytes) in snapshot(&good) {
        if name == "model.bpk" {
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0xff;
        }
        fs::write(corrupted.join(&name), &bytes).unwrap();
    }
    assert!(err(&corrupted).contains("corrupted"));

    let garbage = dir.path().join("garbage");
    fs::create_dir(&garbage).unwrap();
    fs::write(garbage.join("meta.json"), b"{ not json").unwrap();
    assert!(err(&garbage).contains("meta.json"));

    // A checkpoint whose weights belong to another preset than its metadata says.
    let (other, other_config, _) = trained(HeadKind::L1, "s");
    let mixed = dir.path().join("mixed");
    checkpoint::save(
        &mixed,
        &meta(&other_config, &tokenizer, 1),
        &other.policy(),
        None,
    )
    .unwrap();
    let mut m: serde_json::Value =
        serde_json::from_slice(&fs::read(mixed.join("meta.json")).unwrap()).unwrap();
    m["model"] = serde_json::to_value(&config).unwrap();
    fs::write(mixed.join("meta.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    assert!(err(&mixed).contains("does not fit"), "{}", err(&mixed));

    // Asking for another preset than the checkpoint's.
    let meta_good = checkpoint::load_meta(&good).unwrap();
    let e = checkpoint::expect_preset(&good, &meta_good, "s")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("preset 'xs'") && e.contains("'s' was requested"),
        "{e}"
    );
}

#[test]
fn safetensors_export_reads_back_with_pytorch_layouts() {
    let (learner, config, tokenizer) = trained(HeadKind::L1, "xs");
    let policy = learner.policy();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.safetensors");
    export::write_safetensors(&policy, &tokenizer, &file).unwrap();

    let bytes = fs::read(&file).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().as_ref().unwrap();
    let vocab: Vec<String> = serde_json::from_str(&meta["praxis.vocabulary"]).unwrap();
    assert_eq!(vocab, tokenizer.words());
    let read = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let burn_params = named_params(&policy);
    assert_eq!(read.len(), burn_params.len());

    let w = config.width;
    let p = config.patch_size;
    let qkv = read.tensor("blocks.0.attention.qkv.weight").unwrap();
    assert_eq!(qkv.shape(), &[3 * w, w], "Linear weights are [out, in]");
    let conv = read.tensor("patch_embed.weight").unwrap();
    assert_eq!(
        conv.shape(),
        &[w, 3, p, p],
        "patch embedding is a Conv2d kernel"
    );
    assert!(read.tensor("final_norm.weight").is_ok());
    assert!(read.tensor("final_norm.gamma").is_err());

    // values: the exported [out, in] matrix is the transpose of Burn's [in, out]
    let burn_qkv = burn_params
        .iter()
        .find(|p| p.name == "blocks.0.attention.qkv.weight")
        .unwrap();
    let exported: Vec<f32> = qkv
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let (rows, cols) = (burn_qkv.shape[0], burn_qkv.shape[1]);
    for r in [0, rows / 2, rows - 1] {
        for c in [0, cols / 3, cols - 1] {
            assert_eq!(exported[c * rows + r], burn_qkv.values[r * cols + c]);
        }
    }
    let positions = read.tensor("positions").unwrap();
    assert_eq!(positions.shape(), &[config.num_tokens(), w]);
}
