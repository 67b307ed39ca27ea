//! Batches from demonstration datasets, assembled on a background thread so the update never
//! waits on data (the trainer reports how long it did wait).
//!
//! The batch of update `k` depends only on the run's seed and `k` (its own ChaCha stream), so a
//! resumed run sees exactly the batches an uninterrupted one would.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{AuxiliarySample, HostBatch, ModelConfig, Observation, Tokenizer};
use crate::train::recipes::augment::AugmentConfig;

/// ChaCha stream of the data sampler (the trainer's flow noise uses another).
const DATA_STREAM: u64 = 1;
/// ChaCha stream of image augmentation.
const AUGMENT_STREAM: u64 = 3;

/// The random generator of update `step` for purpose `stream`.
pub fn step_rng(seed: u64, step: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng.set_word_pos(u128::from(step) << 20);
    rng
}

/// Several datasets sampled as one.
#[derive(Debug)]
pub struct DataMix {
    datasets: Vec<Dataset>,
    offsets: Vec<usize>,
    len: usize,
    /// Groups of datasets sampled with fixed probabilities: `(first dataset, end, cumulative
    /// probability)`. Empty when every sample is equally likely.
    groups: Vec<(usize, usize, f64)>,
    /// Image augmentation applied to every sample (off by default).
    augment: AugmentConfig,
    /// Frames ahead of the auxiliary targets' future image; `None`: no auxiliary targets.
    auxiliary_horizon: Option<usize>,
}

impl DataMix {
    /// Joins datasets (their action chunks set to `chunk_len`); fails when they hold no
    /// samples at all.
    pub fn new(datasets: Vec<Dataset>, chunk_len: usize) -> Result<Self> {
        let datasets: Vec<Dataset> = datasets
            .into_iter()
            .map(|d| d.with_chunk_len(chunk_len))
            .collect();
        let mut offsets = Vec::new();
        let mut len = 0;
        for d in &datasets {
            offsets.push(len);
            len += d.len();
        }
        if len == 0 {
            return Err(Error::invalid(
                "the training data holds no samples (empty dataset)",
            ));
        }
        Ok(DataMix {
            datasets,
            offsets,
            len,
            groups: Vec::new(),
            augment: AugmentConfig::default(),
            auxiliary_horizon: None,
        })
    }

    /// Joins groups of datasets, each drawn with probability proportional to its weight (a
    /// curriculum stage's signals: demonstrations, corrections, replay); within a group every
    /// sample is equally likely. Empty groups are left out and the others renormalised.
    pub fn weighted(groups: Vec<(Vec<Dataset>, f64)>, chunk_len: usize) -> Result<Self> {
        let groups: Vec<(Vec<Dataset>, f64)> = groups
            .into_iter()
            .filter(|(sets, w)| *w > 0.0 && sets.iter().any(|d| !d.is_empty()))
            .collect();
        let total: f64 = groups.iter().map(|(_, w)| w).sum();
        let mut bounds = Vec::new();
        let mut all = Vec::new();
        let mut cumulative = 0.0;
        for (sets, weight) in groups {
            let first = all.len();
            all.extend(sets);
            cumulative += weight / total;
            bounds.push((first, all.len(), cumulative));
        }
        let mut mix = DataMix::new(all, chunk_len)?;
        if bounds.len() > 1 {
            mix.groups = bounds;
        }
        Ok(mix)
    }

    /// Also serves the auxiliary losses' targets, with the frame `horizon` steps ahead
    /// (the `auxiliary` recipes); the same augmentation draw applies to both frames.
    pub fn with_auxiliary(mut self, horizon: Option<usize>) -> Self {
        self.auxiliary_horizon = horizon;
        self
    }

    /// Augments every image the mix serves (the `augment` recipe).
    pub fn with_augment(mut self, augment: AugmentConfig) -> Self {
        self.augment = augment;
        self
    }

    /// A sample index drawn per the group weights (uniform without groups).
    fn draw(&self, rng: &mut impl rand::Rng) -> usize {
        if self.groups.is_empty() {
            return rng.random_range(0..self.len);
        }
        let u: f64 = rng.random_range(0.0..1.0);
        let &(first, end, _) = self
            .groups
            .iter()
            .find(|g| u < g.2)
            .unwrap_or(&self.groups[self.groups.len() - 1]);
        let start = self.offsets[first];
        let stop = self.offsets.get(end).copied().unwrap_or(self.len);
        start + rng.random_range(0..stop - start)
    }

    /// Samples in all datasets.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no samples (never true for a constructed mix).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Assembles the batch of update `step`: `batch_size` samples drawn uniformly with
    /// replacement from the seed's stream for that step.
    pub fn batch(
        &self,
        config: &ModelConfig,
        tokenizer: &Tokenizer,
        batch_size: usize,
        seed: u64,
        step: u64,
    ) -> Result<HostBatch> {
        let mut rng = step_rng(seed, step, DATA_STREAM);
        let mut augment_rng = step_rng(seed, step, AUGMENT_STREAM);
        let mut batch = HostBatch::default();
        for _ in 0..batch_size {
            let index = self.draw(&mut rng);
            let which = self.offsets.partition_point(|&o| o <= index) - 1;
            let dataset = &self.datasets[which];
            let mut sample = dataset
                .get(index - self.offsets[which])
                .map_err(|e| Error::invalid(e.to_string()))?;
            let mut future = match self.auxiliary_horizon {
                Some(k) => Some(
                    dataset
                        .future_image(index - self.offsets[which], k)
                        .map_err(|e| Error::invalid(e.to_string()))?
                        .to_vec(),
                ),
                None => None,
            };
            if self.augment.is_active() {
                let side = sample.width as usize;
                if let Some(future) = future.as_mut() {
                    // the same shift and colour change on both frames
                    let mut same = augment_rng.clone();
                    self.augment.apply(future, side, &mut same);
                }
                self.augment
                    .apply(&mut sample.image, side, &mut augment_rng);
            }
            batch.push_observation(
                config,
                tokenizer,
                Observation {
                    image: &sample.image,
                    image_size: sample.width as usize,
                    state: &sample.state,
                    instruction: &sample.instruction,
                },
            )?;
            batch.push_target(config, &sample.actions, &sample.action_mask)?;
            if let Some(future) = &future {
                batch.push_auxiliary(
                    config,
                    AuxiliarySample {
                        subtask: sample.subtask,
                        affordance_px: sample.affordance_px,
                        future_image: future,
                    },
                )?;
            }
        }
        Ok(batch)
    }
}

/// A background thread producing the batches of updates `start..end` in order.
pub struct Loader {
    receiver: Receiver<Result<HostBatch>>,
    worker: Option<JoinHandle<()>>,
}

impl Loader {
    /// Starts producing batches `start..end`, keeping up to `prefetch` ready.
    pub fn spawn(
        data: Arc<DataMix>,
        config: ModelConfig,
        tokenizer: Tokenizer,
        batch_size: usize,
        seed: u64,
        steps: std::ops::Range<u64>,
        prefetch: usize,
    ) -> Self {
        let (sender, receiver): (SyncSender<Result<HostBatch>>, _) = sync_channel(prefetch.max(1));
        let worker = std::thread::Builder::new()
            .name("praxis-loader".into())
            .spawn(move || {
                for step in steps {
                    let batch = data.batch(&config, &tokenizer, batch_size, seed, step);
                    if sender.send(batch).is_err() {
                        return; // the trainer stopped
                    }
                }
            })
            .ok();
        Loader { receiver, worker }
    }

    /// The next batch (blocks until it is ready).
    pub fn next_batch(&mut self) -> Result<HostBatch> {
        self.receiver
            .recv()
            .map_err(|_| Error::invalid("the data loader stopped early"))?
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Unblock the worker by dropping the receiver first, then wait for it.
        let (_, dummy) = sync_channel(1);
        drop(std::mem::replace(&mut self.receiver, dummy));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
