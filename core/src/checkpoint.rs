//! Checkpoints: model weights, optimizer state, model config, tokenizer, step and RNG state in
//! one directory, written atomically.
//!
//! Layout of a checkpoint directory:
//!
//! | file | content |
//! |---|---|
//! | `meta.json` | [`CheckpointMeta`]: format version, model config, tokenizer, step, seed, RNG position, backend, device, versions, and the size and CRC-32 of every other file |
//! | `model.bpk` | the policy's parameters (Burn's burnpack format) |
//! | `optimizer.bpk` | AdamW moments (absent in exported or shipped base checkpoints) |
//! | `training.bpk` | the weights being trained, when they differ from `model.bpk`: the raw weights of a run that saves their moving average, or the frozen bases and LoRA factors of an adapter run (only for `--resume`) |
//!
//! The directory is assembled under a temporary name and renamed into place, and every file is
//! checked against its recorded size and CRC before it is parsed, so a truncated or corrupted
//! checkpoint is reported in one line instead of crashing a run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::error::{Error, Result};
use crate::model::{ModelConfig, Policy, Tokenizer};

/// Name of the format in `meta.json`, so a stray JSON file is not mistaken for a checkpoint.
pub const FORMAT: &str = "praxis-checkpoint";
/// Current checkpoint format version.
pub const FORMAT_VERSION: u32 = 1;
const META: &str = "meta.json";
const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const TRAINING: &str = "training.bpk";

/// Size and checksum of one file of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Length in bytes.
    pub bytes: u64,
    /// CRC-32 (IEEE) of the content.
    pub crc32: u32,
}

impl FileDigest {
    fn of(content: &[u8]) -> Self {
        FileDigest {
            bytes: content.len() as u64,
            crc32: crc32fast::hash(content),
        }
    }
}

/// Position of a ChaCha random stream, enough to continue it exactly after a resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The stream's seed.
    pub seed: u64,
    /// Words consumed so far (`ChaCha8Rng::get_word_pos`).
    pub word_pos: u128,
}

/// Where and with what a checkpoint was produced (recorded with every run, DESIGN.md "Runs").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Backend name.
    pub backend: String,
    /// Device name.
    pub device: String,
    /// Praxis version.
    pub praxis_version: String,
    /// Burn version.
    pub burn_version: String,
    /// The CPU it ran on, one line ([`crate::cpu::CpuInfo::summary`]): results on the CPU
    /// backend are exact on one kind of CPU, not across kinds. Absent in checkpoints written
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
}

impl Provenance {
    /// Provenance for the current build on the given backend and device.
    pub fn current(backend: &str, device: &str) -> Self {
        Provenance {
            backend: backend.into(),
            device: device.into(),
            praxis_version: env!("CARGO_PKG_VERSION").into(),
            burn_version: crate::BURN_VERSION.into(),
            cpu: Some(crate::cpu::CpuInfo::current().summary()),
        }
    }
}

/// Everything in `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMeta {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] at the time of writing.
    pub format_version: u32,
    /// The network's configuration.
    pub model: ModelConfig,
    /// The instruction vocabulary.
    pub tokenizer: Tokenizer,
    /// Optimizer updates applied so far.
    pub step: u64,
    /// Seed of the run that produced the checkpoint.
    pub seed: u64,
    /// Position of the run's random stream.
    pub rng: RngState,
    /// Where it was produced.
    pub provenance: Provenance,
    /// Size and CRC of every other file in the directory.
    pub files: BTreeMap<String, FileDigest>,
    /// How an external dataset's features map onto the model (set when the policy was
    /// trained on a LeRobot dataset; inference applies the same transform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_mapping: Option<crate::data::lerobot::DataMapping>,
}

impl CheckpointMeta {
    /// Metadata for a checkpoint at `step` (the file digests are filled in by [`save`]).
    pub fn new(
        model: ModelConfig,
        tokenizer: Tokenizer,
        step: u64,
        seed: u64,
        rng: RngState,
        provenance: Provenance,
    ) -> Self {
        CheckpointMeta {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            model,
            tokenizer,
            step,
            seed,
            rng,
            provenance,
            files: BTreeMap::new(),
            data_mapping: None,
        }
    }
}

/// A checkpoint read back from disk.
#[derive(Debug)]
pub struct Checkpoint {
    /// Its metadata.
    pub meta: CheckpointMeta,
    /// The network, on the device it was loaded to.
    pub policy: Policy,
    /// Serialized optimizer state, if the checkpoint has one; apply with
    /// [`load_optimizer`].
    pub optimizer: Option<Vec<u8>>,
    /// The weights being trained, if they differ from `policy` (see the module docs); apply
    /// with [`load_training`].
    pub training: Option<Vec<u8>>,
}

/// Writes a checkpoint to `dir` atomically (an existing checkpoint there is replaced only once
/// the new one is complete).
pub fn save(
    dir: &Path,
    meta: &CheckpointMeta,
    policy: &Policy,
    optimizer: Option<&ModuleOptimizer>,
) -> Result<()> {
    save_with_training(dir, meta, policy, optimizer, None)
}

/// Like [`save`], with the weights being trained when they differ from `policy` (a moving
/// average or merged adapters were saved as the model).
pub fn save_with_training(
    dir: &Path,
    meta: &CheckpointMeta,
    policy: &Policy,
    optimizer: Option<&ModuleOptimizer>,
    training: Option<&Policy>,
) -> Result<()> {
    let model_bytes = policy
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| Error::checkpoint(dir, format!("cannot serialize the model: {e}")))?;
    let training_bytes = training
        .map(|t| t.clone().into_record().into_bytes())
        .transpose()
        .map_err(|e| Error::checkpoint(dir, format!("cannot serialize the training state: {e}")))?;
    let optimizer_bytes = optimizer
        .map(|o| o.into_bytes())
        .transpose()
        .map_err(|e| Error::checkpoint(dir, format!("cannot serialize the optimizer: {e}")))?;

    let mut meta = meta.clone();
    meta.format = FORMAT.into();
    meta.format_version = FORMAT_VERSION;
    meta.files.clear();
    let mut files: Vec<(&str, &[u8])> = vec![(MODEL, &model_bytes)];
    if let Some(bytes) = &optimizer_bytes {
        files.push((OPTIMIZER, bytes));
    }
    if let Some(bytes) = &training_bytes {
        files.push((TRAINING, bytes));
    }
    for (name, content) in &files {
        meta.files.insert(name.to_string(), FileDigest::of(content));
    }
    let meta_json = serde_json::to_vec_pretty(&meta)
        .map_err(|e| Error::checkpoint(dir, format!("cannot serialize metadata: {e}")))?;

    let staged = atomic::temporary_sibling(dir);
    let _ = fs::remove_dir_all(&staged);
    let result = (|| {
        fs::create_dir_all(&staged).map_err(|e| Error::io(&staged, e))?;
        for (name, content) in &files {
            atomic::write_file(&staged.join(name), content)?;
        }
        atomic::write_file(&staged.join(META), &meta_json)?;
        atomic::install_dir(&staged, dir)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staged);
    }
    result
}

/// Reads and validates `meta.json` of the checkpoint in `dir`.
pub fn load_meta(dir: &Path) -> Result<CheckpointMeta> {
    if !dir.is_dir() {
        return Err(Error::checkpoint(dir, "not found (no such directory)"));
    }
    let path = dir.join(META);
    let text =
        fs::read(&path).map_err(|e| Error::checkpoint(dir, format!("cannot read {META}: {e}")))?;
    let meta: CheckpointMeta = serde_json::from_slice(&text).map_err(|e| {
        Error::checkpoint(dir, format!("{META} is not valid checkpoint metadata: {e}"))
    })?;
    if meta.format != FORMAT {
        return Err(Error::checkpoint(
            dir,
            format!("{META} has format '{}', expected '{FORMAT}'", meta.format),
        ));
    }
    if meta.format_version != FORMAT_VERSION {
        return Err(Error::checkpoint(
            dir,
            format!(
                "format version {} is not supported (this build reads version {FORMAT_VERSION})",
                meta.format_version
            ),
        ));
    }
    meta.model
        .validate()
        .map_err(|e| Error::checkpoint(dir, e.to_string()))?;
    Ok(meta)
}

fn read_checked(dir: &Path, meta: &CheckpointMeta, name: &str) -> Result<Option<Vec<u8>>> {
    let Some(digest) = meta.files.get(name) else {
        return Ok(None);
    };
    let content = fs::read(dir.join(name))
        .map_err(|e| Error::checkpoint(dir, format!("cannot read {name}: {e}")))?;
    if content.len() as u64 != digest.bytes {
        return Err(Error::checkpoint(
            dir,
            format!(
                "{name} is truncated or padded: {} bytes, expected {}",
                content.len(),
                digest.bytes
            ),
        ));
    }
    if crc32fast::hash(&content) != digest.crc32 {
        return Err(Error::checkpoint(
            dir,
            format!("{name} is corrupted (CRC mismatch)"),
        ));
    }
    Ok(Some(content))
}

/// A policy of `meta`'s shape whose weights are about to be overwritten (by the model record,
/// or by the training record on resume): initialised under the seeding lock so that its
/// throwaway draws cannot interleave with another thread's seeded initialisation.
pub fn blank_policy(meta: &CheckpointMeta, device: &Device) -> Result<Policy> {
    crate::device::unseeded(|| Policy::new(&meta.model, meta.tokenizer.vocab_size(), device))
}

/// Loads the checkpoint in `dir` onto `device`.
pub fn load(dir: &Path, device: &Device) -> Result<Checkpoint> {
    let meta = load_meta(dir)?;
    let model_bytes = read_checked(dir, &meta, MODEL)?
        .ok_or_else(|| Error::checkpoint(dir, format!("{META} lists no {MODEL}")))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(model_bytes))
        .map_err(|e| Error::checkpoint(dir, format!("{MODEL} cannot be parsed: {e}")))?;
    let policy = blank_policy(&meta, device)
        .map_err(|e| Error::checkpoint(dir, e.to_string()))?
        .try_load_record(record)
        .map_err(|e| {
            Error::checkpoint(
                dir,
                format!("{MODEL} does not fit its own model config: {e}")
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            )
        })?;
    let optimizer = read_checked(dir, &meta, OPTIMIZER)?;
    let training = read_checked(dir, &meta, TRAINING)?;
    Ok(Checkpoint {
        meta,
        policy,
        optimizer,
        training,
    })
}

/// Loads the training state saved by [`save_with_training`] into `structure`, a policy
/// prepared the same way as the one that was saved (same fine-tuning mode).
pub fn load_training(dir: &Path, structure: Policy, bytes: Vec<u8>) -> Result<Policy> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| Error::checkpoint(dir, format!("{TRAINING} cannot be parsed: {e}")))?;
    structure.try_load_record(record).map_err(|e| {
        Error::checkpoint(
            dir,
            format!("{TRAINING} does not fit the run's fine-tuning mode: {e}")
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    })
}

/// Restores optimizer state saved by [`save`] into a freshly built optimizer.
pub fn load_optimizer(
    dir: &Path,
    optimizer: ModuleOptimizer,
    bytes: Vec<u8>,
) -> Result<ModuleOptimizer> {
    optimizer
        .from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| Error::checkpoint(dir, format!("{OPTIMIZER} cannot be parsed: {e}")))
}

/// Fails unless the checkpoint is of the preset the caller expects.
pub fn expect_preset(dir: &Path, meta: &CheckpointMeta, preset: &str) -> Result<()> {
    let wanted = ModelConfig::preset(preset, meta.model.head)?;
    if meta.model.preset != wanted.preset || meta.model != wanted {
        return Err(Error::checkpoint(
            dir,
            format!(
                "is preset '{}' (width {}, depth {}), but preset '{}' was requested",
                meta.model.preset, meta.model.width, meta.model.depth, wanted.preset
            ),
        ));
    }
    Ok(())
}

/// The `checkpoints/` directory of a run directory.
pub fn run_checkpoints(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}
