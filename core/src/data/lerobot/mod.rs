//! LeRobotDataset v3.0, the format robot-learning people keep demonstrations in: read it
//! (Parquet rows, PNG or AV1/H.264 video frames, statistics, tasks), map it onto the model's
//! inputs, train and evaluate on it, and write Praxis's own episodes in it.
//!
//! ```text
//! ROOT/meta/info.json                       codebase_version "v3.0", fps, features, paths
//! ROOT/meta/stats.json                      per-feature min/max/mean/std/count/quantiles
//! ROOT/meta/tasks.parquet                   task strings by task_index
//! ROOT/meta/episodes/chunk-*/file-*.parquet one row per episode: length, data file, video spans
//! ROOT/data/chunk-*/file-*.parquet          one row per frame: state, action, timestamp, ...
//! ROOT/videos/<camera>/chunk-*/file-*.mp4   several episodes per file, from/to timestamps
//! ```

pub mod mapping;
pub mod meta;
pub mod reader;
pub mod table;
pub mod video;
pub mod writer;

use std::path::Path;

pub use mapping::{DataMapping, Fit, LeRobotSource, Normalize};
pub use reader::{LeRobotDataset, RawEpisode, Selection};
pub use writer::{CameraStorage, WriteOptions, WriteSummary};

use super::format::FORMAT_VERSION_WITHOUT_PLANS;
use super::format::{DatasetMeta, DatasetStats, EpisodeMeta, ImageShape};
use super::stats::StatsAccumulator;
use super::{DataError, Dataset, Episode};
use crate::model::ModelConfig;
use mapping::Affine;

/// Which episodes of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The episodes training uses.
    Train,
    /// The episodes kept out of training.
    HeldOut,
    /// Every episode.
    All,
}

impl Split {
    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::HeldOut => "held-out",
            Split::All => "all",
        }
    }
}

impl std::str::FromStr for Split {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "train" => Ok(Split::Train),
            "held-out" => Ok(Split::HeldOut),
            "all" => Ok(Split::All),
            other => Err(crate::Error::invalid(format!(
                "unknown episode split {other:?} (expected train, held-out or all)"
            ))),
        }
    }
}

/// Episode indices of `split` given the held-out ones.
pub fn split_episodes(total: usize, held_out: &[u32], split: Split) -> Vec<u32> {
    (0..total as u32)
        .filter(|e| match split {
            Split::Train => !held_out.contains(e),
            Split::HeldOut => held_out.contains(e),
            Split::All => true,
        })
        .collect()
}

/// The default held-out episodes: the last 10% (at least one, and never all of them).
fn held_out_of(total: usize, requested: Option<usize>) -> Vec<u32> {
    let n = requested
        .unwrap_or_else(|| total.div_ceil(10).max(1))
        .min(total.saturating_sub(1));
    ((total - n) as u32..total as u32).collect()
}

/// Converts raw episodes into Praxis episodes through `mapping`.
pub fn to_episodes(raw: &[RawEpisode], mapping: &DataMapping) -> Vec<Episode> {
    raw.iter()
        .map(|r| {
            let t = r.len();
            let images: Vec<u8> = r
                .frames
                .iter()
                .flat_map(|f| mapping.image(f, r.width, r.height))
                .collect();
            let states = r
                .states
                .chunks_exact(mapping.state_dim)
                .flat_map(|s| mapping.state_in(s))
                .collect();
            let actions = r
                .actions
                .chunks_exact(mapping.action_dim)
                .flat_map(|a| mapping.action_in(a))
                .collect();
            Episode {
                task: mapping.dataset.clone(),
                seed: r.index as u64,
                instruction: r.task.clone(),
                subgoal_instructions: Vec::new(),
                success: true,
                height: mapping.image_size as u32,
                width: mapping.image_size as u32,
                state_dim: mapping.state_dim as u32,
                action_dim: mapping.action_dim as u32,
                images,
                states,
                actions,
                subtasks: vec![0; t],
                affordance: vec![[0.0; 2]; t],
                affordance_px: vec![[0.0; 2]; t],
                rewards: vec![0.0; t],
                plans: None,
            }
        })
        .collect()
}

/// Statistics computed from the episodes themselves (when `stats.json` lacks a feature).
fn computed_stats(rows: &[f32], dim: usize) -> meta::FeatureStats {
    let mut acc = StatsAccumulator::new(dim);
    acc.add_rows(rows);
    let s = acc.finish();
    meta::FeatureStats {
        mean: s.mean,
        std: s.std,
        min: s.min,
        max: s.max,
    }
}

/// Opens the dataset `source` names, resolves the mapping for `model`, and reads the
/// training episodes as an in-memory [`Dataset`].
pub fn load_for_training(
    source: &LeRobotSource,
    model: &ModelConfig,
) -> Result<(Dataset, DataMapping), DataError> {
    let ds = LeRobotDataset::open(&source.dir)?;
    let mapping = resolve_mapping(&ds, source, model)?;
    let train = split_episodes(ds.episodes().len(), &mapping.held_out, Split::Train);
    let raw = ds.read_episodes(&train, selection(&mapping))?;
    let dataset = in_memory(
        &source.dir,
        &mapping,
        to_episodes(&raw, &mapping),
        ds.info().fps,
    );
    Ok((dataset, mapping))
}

/// The features `mapping` reads.
pub fn selection(mapping: &DataMapping) -> Selection<'_> {
    Selection {
        camera: &mapping.camera,
        state: &mapping.state,
        action: &mapping.action,
    }
}

/// Resolves `source` against the dataset and the model: camera, sizes, normalisation from
/// `meta/stats.json`, held-out episodes.
pub fn resolve_mapping(
    ds: &LeRobotDataset,
    source: &LeRobotSource,
    model: &ModelConfig,
) -> Result<DataMapping, DataError> {
    let camera = match &source.camera {
        Some(c) => c.clone(),
        None => ds
            .info()
            .cameras()
            .first()
            .map(|(k, _)| k.to_string())
            .ok_or_else(|| {
                DataError::corrupt(&ds.root().join(meta::INFO_PATH), "has no camera feature")
            })?,
    };
    let select = Selection {
        camera: &camera,
        state: &source.state,
        action: &source.action,
    };
    let (state_dim, action_dim) = ds.check(select)?;
    for (what, key, dim, max) in [
        ("state", &source.state, state_dim, model.state_dim),
        ("action", &source.action, action_dim, model.action_dim),
    ] {
        if dim > max || dim == 0 {
            return Err(DataError::Shape(format!(
                "{what} feature {key:?} has {dim} values; the model takes 1 to {max}"
            )));
        }
    }
    let held_out = held_out_of(ds.episodes().len(), source.held_out_episodes);
    let stats = |key: &str, dim: usize| -> Result<meta::FeatureStats, DataError> {
        match meta::load_stats(ds.root(), key, dim) {
            Ok(s) => Ok(s),
            Err(DataError::MissingFile(_)) => {
                let train = split_episodes(ds.episodes().len(), &held_out, Split::Train);
                let raw = ds.read_episodes(&train, select)?;
                let rows: Vec<f32> = raw
                    .iter()
                    .flat_map(|r| {
                        if key == source.state {
                            r.states.clone()
                        } else {
                            r.actions.clone()
                        }
                    })
                    .collect();
                Ok(computed_stats(&rows, dim))
            }
            Err(e) => Err(e),
        }
    };
    // A bins head can only represent -1..1; mean-std values beyond one standard deviation
    // would be clipped into the end bins.
    let normalize = source.normalize.unwrap_or(match model.head {
        crate::model::HeadKind::Bins => Normalize::MinMax,
        _ => Normalize::MeanStd,
    });
    Ok(DataMapping {
        source: format!("lerobot {}", meta::CODEBASE_VERSION),
        dataset: ds
            .root()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lerobot".into()),
        state_norm: Affine::from_stats(&stats(&source.state, state_dim)?, normalize),
        action_norm: Affine::from_stats(&stats(&source.action, action_dim)?, normalize),
        camera,
        state: source.state.clone(),
        action: source.action.clone(),
        state_dim,
        action_dim,
        image_size: model.image_size,
        fit: source.fit,
        normalize,
        held_out,
    })
}

/// Wraps mapped episodes as a [`Dataset`] the trainer samples from.
fn in_memory(dir: &Path, mapping: &DataMapping, episodes: Vec<Episode>, fps: u32) -> Dataset {
    let mut state = StatsAccumulator::new(mapping.state_dim);
    let mut action = StatsAccumulator::new(mapping.action_dim);
    for e in &episodes {
        state.add_rows(&e.states);
        action.add_rows(&e.actions);
    }
    let meta = DatasetMeta {
        format_version: FORMAT_VERSION_WITHOUT_PLANS,
        suite: format!("lerobot:{}", mapping.dataset),
        embodiment: "lerobot".into(),
        action_space: mapping.action.clone(),
        image: ImageShape {
            height: mapping.image_size as u32,
            width: mapping.image_size as u32,
            channels: 3,
        },
        state_dim: mapping.state_dim as u32,
        action_dim: mapping.action_dim as u32,
        control_hz: fps as f32,
        teacher_noise_std: 0.0,
        teacher_smoothing: 0.0,
        num_episodes: episodes.len() as u32,
        num_frames: episodes.iter().map(|e| e.len() as u64).sum(),
        stats: DatasetStats {
            state: state.finish(),
            action: action.finish(),
        },
        episodes: episodes
            .iter()
            .enumerate()
            .map(|(i, e)| EpisodeMeta {
                index: i as u32,
                file: format!("lerobot episode {}", e.seed),
                task: e.task.clone(),
                seed: e.seed,
                instruction: e.instruction.clone(),
                subgoal_instructions: Vec::new(),
                length: e.len() as u32,
                success: true,
                bytes: 0,
                crc32: 0,
            })
            .collect(),
    };
    Dataset::from_memory(dir, meta, episodes)
}
