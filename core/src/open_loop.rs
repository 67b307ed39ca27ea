//! Open-loop evaluation on recorded data: for every frame of a dataset's held-out episodes,
//! the policy's predicted action chunk against the actions the robot actually took, in the
//! dataset's own units. Closed-loop success needs the dataset's robot; this is what can be
//! measured without it.

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::data::lerobot::{self, DataMapping, LeRobotDataset, Split};
use crate::error::{Error, Result};
use crate::eval::act_inputs;
use crate::model::{Observation, Policy, Tokenizer};

/// Action error per dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionError {
    /// Mean absolute error per action dimension.
    pub l1: Vec<f64>,
    /// Mean squared error per action dimension.
    pub mse: Vec<f64>,
    /// Mean of `l1` over dimensions.
    pub mean_l1: f64,
    /// Mean of `mse` over dimensions.
    pub mean_mse: f64,
    /// Predicted actions compared.
    pub count: usize,
}

/// The report of `praxis eval --dataset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenLoopReport {
    pub dataset: String,
    pub split: String,
    pub episodes: Vec<u32>,
    pub frames: usize,
    /// Names of the action dimensions (from `info.json`, or `action_k`).
    pub dimensions: Vec<String>,
    /// The first action of each predicted chunk (what a robot executes next).
    pub next_action: ActionError,
    /// Every action of each chunk that lies inside its episode.
    pub chunk: ActionError,
}

#[derive(Default)]
struct Accumulator {
    abs: Vec<f64>,
    sq: Vec<f64>,
    count: usize,
}

impl Accumulator {
    fn add(&mut self, predicted: &[f32], actual: &[f32]) {
        if self.abs.is_empty() {
            self.abs = vec![0.0; actual.len()];
            self.sq = vec![0.0; actual.len()];
        }
        for (k, (p, a)) in predicted.iter().zip(actual).enumerate() {
            let d = (*p - *a) as f64;
            self.abs[k] += d.abs();
            self.sq[k] += d * d;
        }
        self.count += 1;
    }

    fn finish(&self) -> ActionError {
        let n = self.count.max(1) as f64;
        let l1: Vec<f64> = self.abs.iter().map(|v| v / n).collect();
        let mse: Vec<f64> = self.sq.iter().map(|v| v / n).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        ActionError {
            mean_l1: mean(&l1),
            mean_mse: mean(&mse),
            l1,
            mse,
            count: self.count,
        }
    }
}

/// Evaluates `policy` open-loop on `split` of the dataset at `root`, through the mapping
/// saved with the checkpoint. `progress(done, total)` is called per batch of frames.
pub fn evaluate(
    policy: &Policy,
    tokenizer: &Tokenizer,
    mapping: &DataMapping,
    root: &std::path::Path,
    split: Split,
    mut progress: impl FnMut(usize, usize),
) -> Result<OpenLoopReport> {
    let invalid = |e: crate::data::DataError| Error::invalid(e.to_string());
    let ds = LeRobotDataset::open(root).map_err(invalid)?;
    let episodes = lerobot::split_episodes(ds.episodes().len(), &mapping.held_out, split);
    if episodes.is_empty() {
        return Err(Error::invalid(format!(
            "{} has no {} episodes to evaluate",
            root.display(),
            split.name()
        )));
    }
    let raw = ds
        .read_episodes(&episodes, lerobot::selection(mapping))
        .map_err(invalid)?;
    let mapped = lerobot::to_episodes(&raw, mapping);
    let config = policy.config();
    let (h, ad) = (config.chunk_len, config.action_dim);
    let total: usize = raw.iter().map(|r| r.len()).sum();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let (mut next, mut chunk) = (Accumulator::default(), Accumulator::default());
    let mut done = 0;
    const BATCH: usize = 32;
    for (r, e) in raw.iter().zip(&mapped) {
        let img = e.image_bytes();
        let sd = mapping.state_dim;
        let frames: Vec<usize> = (0..r.len()).collect();
        for batch in frames.chunks(BATCH) {
            let inputs: Vec<Observation<'_>> = batch
                .iter()
                .map(|&t| Observation {
                    image: &e.images[t * img..(t + 1) * img],
                    image_size: mapping.image_size,
                    state: &e.states[t * sd..(t + 1) * sd],
                    instruction: &e.instruction,
                })
                .collect();
            let chunks = act_inputs(policy, tokenizer, &inputs, &mut rng)?;
            for (i, &t) in batch.iter().enumerate() {
                for k in 0..h {
                    if t + k >= r.len() {
                        break;
                    }
                    let at = (i * h + k) * ad;
                    let predicted = mapping.action_out(&chunks[at..at + ad]);
                    let da = mapping.action_dim;
                    let actual = &r.actions[(t + k) * da..(t + k + 1) * da];
                    if k == 0 {
                        next.add(&predicted, actual);
                    }
                    chunk.add(&predicted, actual);
                }
            }
            done += batch.len();
            progress(done, total);
        }
    }
    let dimensions = ds
        .info()
        .features
        .get(&mapping.action)
        .and_then(|f| f.names.as_array().cloned())
        .map(|names| {
            names
                .iter()
                .map(|n| n.as_str().unwrap_or("?").to_string())
                .collect()
        })
        .filter(|n: &Vec<String>| n.len() == mapping.action_dim)
        .unwrap_or_else(|| {
            (0..mapping.action_dim)
                .map(|k| format!("action_{k}"))
                .collect()
        });
    Ok(OpenLoopReport {
        dataset: root.display().to_string(),
        split: split.name().to_string(),
        episodes,
        frames: total,
        dimensions,
        next_action: next.finish(),
        chunk: chunk.finish(),
    })
}

impl OpenLoopReport {
    /// The report as a markdown table.
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# Open-loop action error: {}\n\n{} split, {} episodes, {} frames.\n\n| dimension | next L1 | next MSE | chunk L1 | chunk MSE |\n|---|---|---|---|---|\n",
            self.dataset,
            self.split,
            self.episodes.len(),
            self.frames
        );
        for (k, name) in self.dimensions.iter().enumerate() {
            md.push_str(&format!(
                "| {name} | {:.4} | {:.5} | {:.4} | {:.5} |\n",
                self.next_action.l1[k],
                self.next_action.mse[k],
                self.chunk.l1[k],
                self.chunk.mse[k]
            ));
        }
        md.push_str(&format!(
            "| **mean** | **{:.4}** | **{:.5}** | **{:.4}** | **{:.5}** |\n",
            self.next_action.mean_l1,
            self.next_action.mean_mse,
            self.chunk.mean_l1,
            self.chunk.mean_mse
        ));
        md
    }
}
