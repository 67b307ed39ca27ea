//! `meta/info.json` and `meta/stats.json` of a LeRobot v3.0 dataset: parsing, the version
//! check (with LeRobot's own conversion command for v2.x datasets), and writing.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::DataError;

/// The codebase version this build reads and writes.
pub const CODEBASE_VERSION: &str = "v3.0";
/// `meta/info.json`.
pub const INFO_PATH: &str = "meta/info.json";
/// `meta/stats.json`.
pub const STATS_PATH: &str = "meta/stats.json";
/// `meta/tasks.parquet`.
pub const TASKS_PATH: &str = "meta/tasks.parquet";
/// Folder of the episode metadata files.
pub const EPISODES_DIR: &str = "meta/episodes";
/// Template of data file paths.
pub const DATA_PATH: &str = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
/// Template of video file paths.
pub const VIDEO_PATH: &str = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4";
/// Columns every LeRobot dataset has besides its own features.
pub const DEFAULT_COLUMNS: [&str; 5] = [
    "timestamp",
    "frame_index",
    "episode_index",
    "index",
    "task_index",
];

/// One entry of `info.json`'s `features`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub dtype: String,
    pub shape: Vec<usize>,
    #[serde(default)]
    pub names: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Value>,
}

impl Feature {
    /// A camera stored as video files.
    pub fn is_video(&self) -> bool {
        self.dtype == "video"
    }

    /// A camera stored as PNG bytes in the data files.
    pub fn is_image(&self) -> bool {
        self.dtype == "image"
    }

    /// Values of a vector feature.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the feature has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (height, width) of a camera feature (`shape` is height, width, channels).
    pub fn frame_size(&self) -> Option<(usize, usize)> {
        match self.shape.as_slice() {
            [h, w, 3] => Some((*h, *w)),
            _ => None,
        }
    }
}

/// `meta/info.json`. Unknown keys are kept (LeRobot itself ignores them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    pub codebase_version: String,
    pub fps: u32,
    pub features: BTreeMap<String, Feature>,
    #[serde(default)]
    pub total_episodes: u64,
    #[serde(default)]
    pub total_frames: u64,
    #[serde(default)]
    pub total_tasks: u64,
    #[serde(default = "default_chunks_size")]
    pub chunks_size: u64,
    #[serde(default = "default_data_mb")]
    pub data_files_size_in_mb: u64,
    #[serde(default = "default_video_mb")]
    pub video_files_size_in_mb: u64,
    #[serde(default = "default_data_path")]
    pub data_path: String,
    #[serde(default)]
    pub video_path: Option<String>,
    #[serde(default)]
    pub robot_type: Option<String>,
    #[serde(default)]
    pub splits: BTreeMap<String, String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

fn default_chunks_size() -> u64 {
    1000
}
fn default_data_mb() -> u64 {
    100
}
fn default_video_mb() -> u64 {
    200
}
fn default_data_path() -> String {
    DATA_PATH.into()
}

impl Info {
    /// Reads and checks `meta/info.json` under `root`.
    pub fn load(root: &Path) -> Result<Info, DataError> {
        let path = root.join(INFO_PATH);
        let value = read_json(&path)?;
        let version = value
            .get("codebase_version")
            .and_then(Value::as_str)
            .unwrap_or("(missing)")
            .to_string();
        if version != CODEBASE_VERSION {
            let hint = if version.starts_with("v2") || version.starts_with("v1") {
                format!(
                    "; convert it with LeRobot: python -m lerobot.scripts.convert_dataset_v21_to_v30 --repo-id=<id> --root={} --push-to-hub=false",
                    root.display()
                )
            } else {
                String::new()
            };
            return Err(DataError::LeRobotVersion {
                path: path.display().to_string(),
                found: version,
                hint,
            });
        }
        let info: Info =
            serde_json::from_value(value).map_err(|e| DataError::corrupt(&path, e.to_string()))?;
        if info.fps == 0 {
            return Err(DataError::corrupt(&path, "fps must be positive"));
        }
        Ok(info)
    }

    /// Camera features (video or image), in name order.
    pub fn cameras(&self) -> Vec<(&str, &Feature)> {
        self.features
            .iter()
            .filter(|(_, f)| f.is_video() || f.is_image())
            .map(|(k, f)| (k.as_str(), f))
            .collect()
    }

    /// The path of the data or video file `(chunk, file)` from a template.
    pub fn file_path(template: &str, video_key: &str, chunk: i64, file: i64) -> String {
        template
            .replace("{video_key}", video_key)
            .replace("{chunk_index:03d}", &format!("{chunk:03}"))
            .replace("{file_index:03d}", &format!("{file:03}"))
    }
}

/// Reads a JSON file of the dataset (missing or malformed: an error naming it).
fn read_json(path: &Path) -> Result<Value, DataError> {
    if !path.is_file() {
        return Err(DataError::MissingFile(path.display().to_string()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| DataError::corrupt(path, format!("invalid JSON: {e}")))
}

/// Statistics of one vector feature in `meta/stats.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub min: Vec<f32>,
    pub max: Vec<f32>,
}

/// Reads the statistics of the vector feature `key` from `meta/stats.json`.
pub fn load_stats(root: &Path, key: &str, dim: usize) -> Result<FeatureStats, DataError> {
    let path = root.join(STATS_PATH);
    let value = read_json(&path)?;
    let entry = value
        .get(key)
        .ok_or_else(|| DataError::corrupt(&path, format!("no statistics for {key:?}")))?;
    let vector = |stat: &str| -> Result<Vec<f32>, DataError> {
        let values: Option<Vec<f32>> = entry.get(stat).and_then(Value::as_array).and_then(|a| {
            a.iter()
                .map(|v| v.as_f64().map(|x| x as f32))
                .collect::<Option<Vec<f32>>>()
        });
        match values {
            Some(v) if v.len() == dim => Ok(v),
            Some(v) => Err(DataError::corrupt(
                &path,
                format!("{key}.{stat} has {} values, the feature has {dim}", v.len()),
            )),
            None => Err(DataError::corrupt(
                &path,
                format!("{key}.{stat} is missing or not a list of numbers"),
            )),
        }
    };
    Ok(FeatureStats {
        mean: vector("mean")?,
        std: vector("std")?,
        min: vector("min")?,
        max: vector("max")?,
    })
}
