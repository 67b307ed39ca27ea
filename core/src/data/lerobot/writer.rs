//! Writes Praxis episodes as a LeRobot v3.0 dataset that LeRobot itself loads: camera frames
//! as PNG-in-Parquet image features or as one MP4 (AV1 or H.264) per chunk with every
//! episode starting on a key frame, `meta/` with info, statistics (with LeRobot's quantiles),
//! tasks (with pandas' index metadata, which LeRobot's task lookup needs) and episodes.
//! Written into a temporary directory and renamed into place when complete.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use serde_json::{Value, json};

use super::meta::{
    CODEBASE_VERSION, DATA_PATH, EPISODES_DIR, INFO_PATH, STATS_PATH, TASKS_PATH, VIDEO_PATH,
};
use super::table::{self, Column};
use super::video::{self, VideoCodec};
use crate::data::{DataError, Episode};

/// Feature name of the camera Praxis writes.
pub const CAMERA_KEY: &str = "observation.images.front";
/// Quantiles LeRobot records in its statistics.
const QUANTILES: [(f64, &str); 5] = [
    (0.01, "q01"),
    (0.10, "q10"),
    (0.50, "q50"),
    (0.90, "q90"),
    (0.99, "q99"),
];

/// How camera frames are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraStorage {
    /// PNG bytes in the data files (`dtype: image`).
    Png,
    /// MP4 video files (`dtype: video`).
    Video(VideoCodec),
}

/// What to write.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub camera: CameraStorage,
    /// Frames per second of the episodes.
    pub fps: u32,
    /// `robot_type` in `info.json`.
    pub robot_type: String,
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSummary {
    pub episodes: usize,
    pub frames: usize,
    pub tasks: usize,
    pub bytes: u64,
}

/// numpy's default (linear) quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Per-dimension statistics of `rows` (each `dim` values) as LeRobot writes them.
fn stats(rows: &[f64], dim: usize) -> Vec<(&'static str, Vec<f64>)> {
    let n = rows.len() / dim.max(1);
    let column = |k: usize| {
        let mut c: Vec<f64> = rows.iter().skip(k).step_by(dim).copied().collect();
        c.sort_by(f64::total_cmp);
        c
    };
    let columns: Vec<Vec<f64>> = (0..dim).map(column).collect();
    let mean: Vec<f64> = columns
        .iter()
        .map(|c| c.iter().sum::<f64>() / n.max(1) as f64)
        .collect();
    let std = columns
        .iter()
        .zip(&mean)
        .map(|(c, m)| (c.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt())
        .collect();
    let mut out = vec![
        (
            "min",
            columns
                .iter()
                .map(|c| c.first().copied().unwrap_or(0.0))
                .collect(),
        ),
        (
            "max",
            columns
                .iter()
                .map(|c| c.last().copied().unwrap_or(0.0))
                .collect(),
        ),
        ("mean", mean),
        ("std", std),
    ];
    for (q, name) in QUANTILES {
        out.push((name, columns.iter().map(|c| quantile(c, q)).collect()));
    }
    out
}

fn stats_json(rows: &[f64], dim: usize, nest: bool) -> Value {
    let n = rows.len() / dim.max(1);
    let mut map = serde_json::Map::new();
    for (name, values) in stats(rows, dim) {
        let value = if nest {
            // Camera statistics have shape (channels, 1, 1).
            json!(values.iter().map(|v| json!([[v]])).collect::<Vec<_>>())
        } else {
            json!(values)
        };
        map.insert(name.into(), value);
    }
    map.insert("count".into(), json!([n]));
    Value::Object(map)
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn vector_feature(dim: usize, prefix: &str) -> Value {
    let names: Vec<String> = (0..dim).map(|k| format!("{prefix}_{k}")).collect();
    json!({"dtype": "float32", "shape": [dim], "names": names})
}

/// Writes `episodes` (all of one image size and state/action size) as a LeRobot v3.0
/// dataset at `dir`, which must not exist.
pub fn write(
    dir: &Path,
    episodes: &[Episode],
    options: &WriteOptions,
) -> Result<WriteSummary, DataError> {
    if dir.exists() {
        return Err(DataError::AlreadyExists(dir.display().to_string()));
    }
    let first = episodes
        .first()
        .ok_or_else(|| DataError::Shape("no episodes to write".into()))?;
    let (w, h) = (first.width as usize, first.height as usize);
    let (sd, ad) = (first.state_dim as usize, first.action_dim as usize);
    if let Some(e) = episodes.iter().find(|e| {
        (
            e.width as usize,
            e.height as usize,
            e.state_dim as usize,
            e.action_dim as usize,
        ) != (w, h, sd, ad)
    }) {
        return Err(DataError::Shape(format!(
            "episode {} is {}x{} with {}/{} state/action values, the first is {w}x{h} with {sd}/{ad}",
            e.seed, e.width, e.height, e.state_dim, e.action_dim
        )));
    }
    let tmp = dir.with_file_name(format!(
        "{}.tmp-{}",
        dir.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = write_into(&tmp, episodes, options, (w, h, sd, ad));
    match result {
        Ok(summary) => {
            std::fs::rename(&tmp, dir).map_err(|e| DataError::io(dir, e))?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

fn write_into(
    root: &Path,
    episodes: &[Episode],
    options: &WriteOptions,
    (w, h, sd, ad): (usize, usize, usize, usize),
) -> Result<WriteSummary, DataError> {
    let fps = options.fps.max(1);
    let mut tasks: Vec<String> = Vec::new();
    let task_of: Vec<usize> = episodes
        .iter()
        .map(|e| match tasks.iter().position(|t| *t == e.instruction) {
            Some(i) => i,
            None => {
                tasks.push(e.instruction.clone());
                tasks.len() - 1
            }
        })
        .collect();
    let lengths: Vec<usize> = episodes.iter().map(Episode::len).collect();
    let total: usize = lengths.iter().sum();
    let starts: Vec<usize> = lengths
        .iter()
        .scan(0, |acc, l| {
            let s = *acc;
            *acc += l;
            Some(s)
        })
        .collect();
    let frames: Vec<&[u8]> = episodes
        .iter()
        .flat_map(|e| e.images.chunks_exact(e.image_bytes()))
        .collect();

    // Per-row columns.
    let mut frame_index = Vec::with_capacity(total);
    let mut episode_index = Vec::with_capacity(total);
    let mut task_index = Vec::with_capacity(total);
    for (i, e) in episodes.iter().enumerate() {
        frame_index.extend(0..e.len() as i64);
        episode_index.extend(std::iter::repeat_n(i as i64, e.len()));
        task_index.extend(std::iter::repeat_n(task_of[i] as i64, e.len()));
    }
    let timestamp: Vec<f32> = frame_index.iter().map(|f| *f as f32 / fps as f32).collect();
    let states: Vec<f32> = episodes
        .iter()
        .flat_map(|e| e.states.iter().copied())
        .collect();
    let actions: Vec<f32> = episodes
        .iter()
        .flat_map(|e| e.actions.iter().copied())
        .collect();

    let camera_dtype = match options.camera {
        CameraStorage::Png => "image",
        CameraStorage::Video(_) => "video",
    };
    let mut columns = Vec::new();
    if options.camera == CameraStorage::Png {
        let pngs = frames
            .par_iter()
            .enumerate()
            .map(|(i, rgb)| {
                let name = format!("frame-{:06}.png", frame_index[i]);
                encode_png(rgb, w as u32, h as u32).map(|b| (b, name))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DataError::io(root, format!("PNG encoding failed: {e}")))?;
        columns.push((CAMERA_KEY.to_string(), Column::Images(pngs)));
    }
    columns.extend([
        (
            "observation.state".to_string(),
            Column::FixedF32 {
                dim: sd,
                values: states.clone(),
            },
        ),
        (
            "action".to_string(),
            Column::FixedF32 {
                dim: ad,
                values: actions.clone(),
            },
        ),
        ("timestamp".to_string(), Column::F32(timestamp.clone())),
        ("frame_index".to_string(), Column::I64(frame_index.clone())),
        (
            "episode_index".to_string(),
            Column::I64(episode_index.clone()),
        ),
        (
            "index".to_string(),
            Column::I64((0..total as i64).collect()),
        ),
        ("task_index".to_string(), Column::I64(task_index.clone())),
    ]);
    let hf_features = json!({"info": {"features": {
        CAMERA_KEY: {"_type": "Image"},
        "observation.state": {"feature": {"dtype": "float32", "_type": "Value"}, "length": sd, "_type": "List"},
        "action": {"feature": {"dtype": "float32", "_type": "Value"}, "length": ad, "_type": "List"},
        "timestamp": {"dtype": "float32", "_type": "Value"},
        "frame_index": {"dtype": "int64", "_type": "Value"},
        "episode_index": {"dtype": "int64", "_type": "Value"},
        "index": {"dtype": "int64", "_type": "Value"},
        "task_index": {"dtype": "int64", "_type": "Value"},
    }}});
    let mut hf_features = hf_features;
    if options.camera != CameraStorage::Png {
        hf_features["info"]["features"]
            .as_object_mut()
            .map(|f| f.remove(CAMERA_KEY));
    }
    let data_file = root.join(super::meta::Info::file_path(DATA_PATH, "", 0, 0));
    table::write(
        &data_file,
        columns,
        HashMap::from([("huggingface".to_string(), hf_features.to_string())]),
    )?;

    // Video.
    let mut camera_info = json!({"is_depth_map": false});
    if let CameraStorage::Video(codec) = options.camera {
        let owned: Vec<Vec<u8>> = frames.iter().map(|f| f.to_vec()).collect();
        let bytes = video::encode(&owned, w, h, fps, &lengths, codec)
            .map_err(|e| DataError::io(root, format!("video encoding failed: {e}")))?;
        let path = root.join(super::meta::Info::file_path(VIDEO_PATH, CAMERA_KEY, 0, 0));
        std::fs::create_dir_all(path.parent().unwrap_or(root))
            .map_err(|e| DataError::io(&path, e))?;
        std::fs::write(&path, bytes).map_err(|e| DataError::io(&path, e))?;
        camera_info = json!({
            "is_depth_map": false, "video.height": h, "video.width": w,
            "video.codec": codec.name(), "video.pix_fmt": "yuv420p", "video.fps": fps,
            "video.channels": 3, "has_audio": false,
        });
    }

    // Episodes.
    let n = episodes.len();
    let as_f64 = |v: &[f32]| v.iter().map(|x| *x as f64).collect::<Vec<f64>>();
    let mut ep_columns: Vec<(String, Column)> = vec![
        ("episode_index".into(), Column::I64((0..n as i64).collect())),
        (
            "tasks".into(),
            Column::StringLists(task_of.iter().map(|t| vec![tasks[*t].clone()]).collect()),
        ),
        (
            "length".into(),
            Column::I64(lengths.iter().map(|l| *l as i64).collect()),
        ),
        ("data/chunk_index".into(), Column::I64(vec![0; n])),
        ("data/file_index".into(), Column::I64(vec![0; n])),
        (
            "dataset_from_index".into(),
            Column::I64(starts.iter().map(|s| *s as i64).collect()),
        ),
        (
            "dataset_to_index".into(),
            Column::I64(
                starts
                    .iter()
                    .zip(&lengths)
                    .map(|(s, l)| (s + l) as i64)
                    .collect(),
            ),
        ),
    ];
    if let CameraStorage::Video(_) = options.camera {
        let col = |c: &str| format!("videos/{CAMERA_KEY}/{c}");
        ep_columns.extend([
            (col("chunk_index"), Column::I64(vec![0; n])),
            (col("file_index"), Column::I64(vec![0; n])),
            (
                col("from_timestamp"),
                Column::F64(starts.iter().map(|s| *s as f64 / fps as f64).collect()),
            ),
            (
                col("to_timestamp"),
                Column::F64(
                    starts
                        .iter()
                        .zip(&lengths)
                        .map(|(s, l)| (s + l) as f64 / fps as f64)
                        .collect(),
                ),
            ),
        ]);
    }
    for (key, dim, values) in [
        ("observation.state", sd, as_f64(&states)),
        ("action", ad, as_f64(&actions)),
    ] {
        let per_episode: Vec<Vec<(&str, Vec<f64>)>> = starts
            .iter()
            .zip(&lengths)
            .map(|(s, l)| stats(&values[s * dim..(s + l) * dim], dim))
            .collect();
        for (k, (name, _)) in per_episode[0].iter().enumerate() {
            ep_columns.push((
                format!("stats/{key}/{name}"),
                Column::F64Lists(per_episode.iter().map(|st| st[k].1.clone()).collect()),
            ));
        }
        ep_columns.push((
            format!("stats/{key}/count"),
            Column::I64Lists(lengths.iter().map(|l| vec![*l as i64]).collect()),
        ));
    }
    ep_columns.extend([
        ("meta/episodes/chunk_index".into(), Column::I64(vec![0; n])),
        ("meta/episodes/file_index".into(), Column::I64(vec![0; n])),
    ]);
    table::write(
        &root.join(EPISODES_DIR).join("chunk-000/file-000.parquet"),
        ep_columns,
        HashMap::new(),
    )?;

    // Tasks, with the pandas index LeRobot's lookup relies on.
    let pandas = json!({
        "index_columns": ["task"],
        "column_indexes": [{"name": null, "field_name": null, "pandas_type": "unicode", "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64", "metadata": null},
            {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object", "metadata": null}
        ],
        "attributes": {}, "creator": {"library": "praxis", "version": env!("CARGO_PKG_VERSION")},
        "pandas_version": "2.3.3"
    });
    table::write(
        &root.join(TASKS_PATH),
        vec![
            (
                "task_index".into(),
                Column::I64((0..tasks.len() as i64).collect()),
            ),
            ("task".into(), Column::Strings(tasks.clone())),
        ],
        HashMap::from([("pandas".to_string(), pandas.to_string())]),
    )?;

    // Statistics.
    let camera_values: Vec<f64> = frames
        .iter()
        .flat_map(|f| f.iter().map(|b| *b as f64 / 255.0))
        .collect();
    let ints = |v: &[i64]| v.iter().map(|x| *x as f64).collect::<Vec<f64>>();
    let index: Vec<i64> = (0..total as i64).collect();
    let stats_file = json!({
        CAMERA_KEY: stats_json(&camera_values, 3, true),
        "observation.state": stats_json(&as_f64(&states), sd, false),
        "action": stats_json(&as_f64(&actions), ad, false),
        "timestamp": stats_json(&as_f64(&timestamp), 1, false),
        "frame_index": stats_json(&ints(&frame_index), 1, false),
        "episode_index": stats_json(&ints(&episode_index), 1, false),
        "index": stats_json(&ints(&index), 1, false),
        "task_index": stats_json(&ints(&task_index), 1, false),
    });
    write_json(&root.join(STATS_PATH), &stats_file)?;

    let scalar = |dtype: &str| json!({"dtype": dtype, "shape": [1], "names": null});
    let info = json!({
        "codebase_version": CODEBASE_VERSION,
        "fps": fps,
        "features": {
            CAMERA_KEY: {"dtype": camera_dtype, "shape": [h, w, 3], "names": ["height", "width", "channels"], "info": camera_info},
            "observation.state": vector_feature(sd, "state"),
            "action": vector_feature(ad, "action"),
            "timestamp": scalar("float32"),
            "frame_index": scalar("int64"),
            "episode_index": scalar("int64"),
            "index": scalar("int64"),
            "task_index": scalar("int64"),
        },
        "total_episodes": n,
        "total_frames": total,
        "total_tasks": tasks.len(),
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "data_path": DATA_PATH,
        "video_path": if camera_dtype == "video" { json!(VIDEO_PATH) } else { Value::Null },
        "robot_type": options.robot_type,
        "splits": {"train": format!("0:{n}")},
    });
    write_json(&root.join(INFO_PATH), &info)?;
    Ok(WriteSummary {
        episodes: n,
        frames: total,
        tasks: tasks.len(),
        bytes: dir_size(root),
    })
}

fn write_json(path: &Path, value: &Value) -> Result<(), DataError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    }
    let text = serde_json::to_string_pretty(value).map_err(|e| DataError::io(path, e))?;
    std::fs::write(path, text).map_err(|e| DataError::io(path, e))
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}
