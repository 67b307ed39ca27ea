//! Reads a dataset back, validating everything on open, and serves training samples with
//! action chunks (like LeRobot's `delta_timestamps`). Episodes stay in memory: datasets here
//! are tens of megabytes, and random access must be cheap.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::DataError;
use super::format::{DatasetMeta, Episode, FORMAT_VERSION, META_FILE};

/// Default number of actions per sample.
pub const DEFAULT_CHUNK_LEN: usize = 8;

/// One training sample: the observation at frame t and the actions t..t+H-1.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// RGB u8, `height * width * 3`, row-major HWC.
    pub image: Vec<u8>,
    pub height: u32,
    pub width: u32,
    pub state: Vec<f32>,
    pub instruction: String,
    /// H actions; past the episode end the last action is repeated.
    pub actions: Vec<Vec<f32>>,
    /// False for padded actions past the episode end.
    pub action_mask: Vec<bool>,
    /// Index of the current sub-goal.
    pub subtask: u32,
    /// Where the gripper should act next, world metres.
    pub affordance: [f32; 2],
    /// The same point in pixels.
    pub affordance_px: [f32; 2],
    /// Which episode and frame the sample comes from.
    pub episode: u32,
    pub frame: u32,
}

/// An opened, validated dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    dir: PathBuf,
    meta: DatasetMeta,
    episodes: Vec<Episode>,
    /// (episode, frame) of every sample.
    index: Vec<(u32, u32)>,
    chunk_len: usize,
}

impl Dataset {
    /// Opens and validates the dataset at `dir`: version, every file's presence, length and
    /// CRC, and shapes. Each failure is a typed error naming the file.
    pub fn open(dir: &Path) -> Result<Dataset, DataError> {
        if !dir.is_dir() {
            return Err(DataError::NotFound(dir.display().to_string()));
        }
        let meta_path = dir.join(META_FILE);
        if !meta_path.is_file() {
            return Err(DataError::MissingFile(meta_path.display().to_string()));
        }
        let text = fs::read_to_string(&meta_path).map_err(|e| DataError::io(&meta_path, e))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| DataError::corrupt(&meta_path, format!("invalid JSON: {e}")))?;
        let readable = |v: &serde_json::Value| {
            v.as_u64()
                .is_some_and(|n| (1..=u64::from(FORMAT_VERSION)).contains(&n))
        };
        match value.get("format_version") {
            Some(v) if readable(v) => {}
            other => {
                return Err(DataError::UnsupportedVersion {
                    path: meta_path.display().to_string(),
                    found: other.map_or_else(|| "(missing)".to_string(), |v| v.to_string()),
                    supported: FORMAT_VERSION,
                });
            }
        }
        let meta: DatasetMeta = serde_json::from_value(value)
            .map_err(|e| DataError::corrupt(&meta_path, e.to_string()))?;
        if meta.image.channels != 3 || meta.episodes.len() != meta.num_episodes as usize {
            return Err(DataError::corrupt(
                &meta_path,
                "inconsistent image channels or episode count",
            ));
        }
        let mut episodes = Vec::with_capacity(meta.episodes.len());
        let mut index = Vec::new();
        for em in &meta.episodes {
            let path = dir.join(&em.file);
            if !path.is_file() {
                return Err(DataError::MissingFile(path.display().to_string()));
            }
            let bytes = fs::read(&path).map_err(|e| DataError::io(&path, e))?;
            if bytes.len() as u64 != em.bytes {
                return Err(DataError::corrupt(
                    &path,
                    format!(
                        "truncated: {} bytes, meta.json says {}",
                        bytes.len(),
                        em.bytes
                    ),
                ));
            }
            let episode = Episode::decode(&bytes, em, &path)?;
            episode
                .validate()
                .map_err(|e| DataError::corrupt(&path, e.to_string()))?;
            if episode.plans.is_some() && meta.format_version < FORMAT_VERSION {
                return Err(DataError::corrupt(
                    &path,
                    format!(
                        "holds plans (format {FORMAT_VERSION}) but meta.json says format {}",
                        meta.format_version
                    ),
                ));
            }
            if (
                episode.height,
                episode.width,
                episode.state_dim,
                episode.action_dim,
            ) != (
                meta.image.height,
                meta.image.width,
                meta.state_dim,
                meta.action_dim,
            ) {
                return Err(DataError::corrupt(&path, "shapes differ from meta.json"));
            }
            index.extend((0..episode.len() as u32).map(|t| (em.index, t)));
            episodes.push(episode);
        }
        Ok(Dataset {
            dir: dir.to_path_buf(),
            meta,
            episodes,
            index,
            chunk_len: DEFAULT_CHUNK_LEN,
        })
    }

    /// A dataset held only in memory (e.g. a LeRobot dataset mapped onto the model's inputs);
    /// `meta` must describe `episodes`.
    pub fn from_memory(dir: &Path, meta: DatasetMeta, episodes: Vec<Episode>) -> Dataset {
        let index = episodes
            .iter()
            .enumerate()
            .flat_map(|(i, e)| (0..e.len() as u32).map(move |t| (i as u32, t)))
            .collect();
        Dataset {
            dir: dir.to_path_buf(),
            meta,
            episodes,
            index,
            chunk_len: DEFAULT_CHUNK_LEN,
        }
    }

    /// Sets the action-chunk length H of samples (at least 1).
    pub fn with_chunk_len(mut self, chunk_len: usize) -> Dataset {
        self.chunk_len = chunk_len.max(1);
        self
    }

    /// The action-chunk length.
    pub fn chunk_len(&self) -> usize {
        self.chunk_len
    }

    /// The directory the dataset was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The metadata, including normalisation statistics.
    pub fn meta(&self) -> &DatasetMeta {
        &self.meta
    }

    /// The episodes.
    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    /// Number of samples (= frames).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the dataset has no samples.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Sample `i`.
    pub fn get(&self, i: usize) -> Result<Sample, DataError> {
        let &(ep, t) = self.index.get(i).ok_or(DataError::IndexOutOfRange {
            index: i,
            len: self.index.len(),
        })?;
        let e = &self.episodes[ep as usize];
        let (t, len) = (t as usize, e.len());
        let img = e.image_bytes();
        let sd = e.state_dim as usize;
        let ad = e.action_dim as usize;
        let action = |k: usize| e.actions[k * ad..(k + 1) * ad].to_vec();
        let (actions, action_mask) = match &e.plans {
            // The teacher's own chunk from this state (a rollout the policy drove).
            Some(plans) => {
                // at least 1: `open` refuses a count of 0, `from_memory` may not have checked
                let real = (plans.steps[t] as usize).clamp(1, plans.len as usize);
                (0..self.chunk_len)
                    .map(|k| (plans.action(t, k.min(real - 1), ad).to_vec(), k < real))
                    .unzip()
            }
            None => (t..t + self.chunk_len)
                .map(|k| {
                    if k < len {
                        (action(k), true)
                    } else {
                        (action(len - 1), false)
                    }
                })
                .unzip(),
        };
        Ok(Sample {
            image: e.images[t * img..(t + 1) * img].to_vec(),
            height: e.height,
            width: e.width,
            state: e.states[t * sd..(t + 1) * sd].to_vec(),
            instruction: e.instruction_at(t).to_string(),
            actions,
            action_mask,
            subtask: e.subtasks[t],
            affordance: e.affordance[t],
            affordance_px: e.affordance_px[t],
            episode: ep,
            frame: t as u32,
        })
    }

    /// The image `k` frames after sample `i`'s (the episode's last frame when that is past
    /// its end): the look-ahead target of the inverse-dynamics and future-latent losses.
    pub fn future_image(&self, i: usize, k: usize) -> Result<&[u8], DataError> {
        let &(ep, t) = self.index.get(i).ok_or(DataError::IndexOutOfRange {
            index: i,
            len: self.index.len(),
        })?;
        let e = &self.episodes[ep as usize];
        let img = e.image_bytes();
        let t = (t as usize + k).min(e.len() - 1);
        Ok(&e.images[t * img..(t + 1) * img])
    }

    /// Every sample in order.
    pub fn iter(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..self.len()).filter_map(|i| self.get(i).ok())
    }
}
