//! Reads a LeRobot v3.0 dataset: the episode index from `meta/episodes/`, rows from the data
//! files, and camera frames from PNG bytes in the data files or from MP4 video files (AV1 or
//! H.264), decoded on background threads. Every inconsistency (missing file, truncated file,
//! frame counts that disagree) is an error naming the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::meta::{EPISODES_DIR, Info, TASKS_PATH};
use super::table::Table;
use super::video::{self, DecodedVideo};
use crate::data::DataError;

/// Where one episode's frames sit in a video file.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoSpan {
    pub chunk: i64,
    pub file: i64,
    /// Seconds into the file where the episode starts.
    pub from_timestamp: f64,
    pub to_timestamp: f64,
}

/// One row of `meta/episodes/`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeEntry {
    pub index: u32,
    pub length: usize,
    /// Global `index` range [from, to) of the episode's rows.
    pub dataset_from_index: i64,
    pub dataset_to_index: i64,
    pub data_chunk: i64,
    pub data_file: i64,
    /// Per video feature.
    pub videos: BTreeMap<String, VideoSpan>,
}

/// One episode read into memory.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEpisode {
    pub index: u32,
    /// The instruction (the task of the episode's first frame).
    pub task: String,
    pub width: usize,
    pub height: usize,
    /// Row-major RGB frames of the chosen camera.
    pub frames: Vec<Vec<u8>>,
    /// `length × state_dim`, as stored.
    pub states: Vec<f32>,
    /// `length × action_dim`, as stored.
    pub actions: Vec<f32>,
    /// The `timestamp` column.
    pub timestamps: Vec<f64>,
}

impl RawEpisode {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether it has no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// Which features to read.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub camera: &'a str,
    pub state: &'a str,
    pub action: &'a str,
}

/// An opened dataset: metadata, tasks and the episode index (frames are read on demand).
#[derive(Debug, Clone)]
pub struct LeRobotDataset {
    root: PathBuf,
    info: Info,
    tasks: Vec<String>,
    episodes: Vec<EpisodeEntry>,
}

/// Parquet files directly under `dir/*/` in lexicographic order, as LeRobot lists them.
fn chunk_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    if !dir.is_dir() {
        return Err(DataError::MissingFile(dir.display().to_string()));
    }
    let mut files = Vec::new();
    let read = |d: &Path| std::fs::read_dir(d).map_err(|e| DataError::io(d, e));
    for chunk in read(dir)? {
        let chunk = chunk.map_err(|e| DataError::io(dir, e))?.path();
        if chunk.is_dir() {
            for f in read(&chunk)? {
                let f = f.map_err(|e| DataError::io(&chunk, e))?.path();
                if f.extension().is_some_and(|e| e == "parquet") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

impl LeRobotDataset {
    /// Opens the dataset at `root`: `meta/info.json` (version checked), `meta/tasks.parquet`
    /// and every `meta/episodes/*/*.parquet`, checked against each other.
    pub fn open(root: &Path) -> Result<LeRobotDataset, DataError> {
        if !root.is_dir() {
            return Err(DataError::NotFound(root.display().to_string()));
        }
        let info = Info::load(root)?;
        let tasks_table = Table::read(&root.join(TASKS_PATH))?;
        // pandas stores the task strings as the frame's index: a column named `task`, or
        // `__index_level_0__` when the index was unnamed (pandas 3), or whatever the index was
        // called; it is the one string column.
        let task_column = ["task", "__index_level_0__"]
            .into_iter()
            .map(String::from)
            .find(|c| tasks_table.has(c))
            .or_else(|| tasks_table.string_columns().into_iter().next())
            .ok_or_else(|| DataError::corrupt(tasks_table.path(), "has no task strings"))?;
        let names = tasks_table.strings(&task_column)?;
        let ids = tasks_table.i64s("task_index")?;
        let mut tasks = vec![String::new(); names.len()];
        for (name, id) in names.into_iter().zip(ids) {
            let slot = tasks.get_mut(id as usize).ok_or_else(|| {
                DataError::corrupt(tasks_table.path(), format!("task_index {id} out of range"))
            })?;
            *slot = name;
        }
        let video_keys: Vec<String> = info
            .features
            .iter()
            .filter(|(_, f)| f.is_video())
            .map(|(k, _)| k.clone())
            .collect();
        let mut episodes = Vec::new();
        for path in chunk_files(&root.join(EPISODES_DIR))? {
            let t = Table::read(&path)?;
            let index = t.i64s("episode_index")?;
            let length = t.i64s("length")?;
            let from = t.i64s("dataset_from_index")?;
            let to = t.i64s("dataset_to_index")?;
            let chunk = t.i64s("data/chunk_index")?;
            let file = t.i64s("data/file_index")?;
            let mut spans = Vec::new();
            for key in &video_keys {
                let col = |c: &str| format!("videos/{key}/{c}");
                spans.push((
                    key.clone(),
                    t.i64s(&col("chunk_index"))?,
                    t.i64s(&col("file_index"))?,
                    t.f64s(&col("from_timestamp"))?,
                    t.f64s(&col("to_timestamp"))?,
                ));
            }
            for r in 0..t.num_rows() {
                episodes.push(EpisodeEntry {
                    index: index[r] as u32,
                    length: length[r] as usize,
                    dataset_from_index: from[r],
                    dataset_to_index: to[r],
                    data_chunk: chunk[r],
                    data_file: file[r],
                    videos: spans
                        .iter()
                        .map(|(k, c, f, a, b)| {
                            (
                                k.clone(),
                                VideoSpan {
                                    chunk: c[r],
                                    file: f[r],
                                    from_timestamp: a[r],
                                    to_timestamp: b[r],
                                },
                            )
                        })
                        .collect(),
                });
            }
        }
        let info_path = root.join(super::meta::INFO_PATH);
        if episodes.is_empty() {
            return Err(DataError::corrupt(&root.join(EPISODES_DIR), "no episodes"));
        }
        for (i, e) in episodes.iter().enumerate() {
            if e.index as usize != i {
                return Err(DataError::corrupt(
                    &root.join(EPISODES_DIR),
                    format!("episode rows out of order: row {i} is episode {}", e.index),
                ));
            }
        }
        let frames: usize = episodes.iter().map(|e| e.length).sum();
        if episodes.len() as u64 != info.total_episodes || frames as u64 != info.total_frames {
            return Err(DataError::corrupt(
                &info_path,
                format!(
                    "says {} episodes and {} frames, meta/episodes has {} and {frames}",
                    info.total_episodes,
                    info.total_frames,
                    episodes.len()
                ),
            ));
        }
        Ok(LeRobotDataset {
            root: root.to_path_buf(),
            info,
            tasks,
            episodes,
        })
    }

    /// The dataset's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `meta/info.json`.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Task strings by `task_index`.
    pub fn tasks(&self) -> &[String] {
        &self.tasks
    }

    /// The episode index.
    pub fn episodes(&self) -> &[EpisodeEntry] {
        &self.episodes
    }

    /// Checks that `select` names a camera and two float vectors of the dataset, returning the
    /// state and action sizes.
    pub fn check(&self, select: Selection<'_>) -> Result<(usize, usize), DataError> {
        let info_path = self.root.join(super::meta::INFO_PATH);
        let feature = |key: &str| {
            self.info.features.get(key).ok_or_else(|| {
                DataError::corrupt(
                    &info_path,
                    format!(
                        "has no feature {key:?} (features: {})",
                        self.info
                            .features
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
        };
        let camera = feature(select.camera)?;
        if !(camera.is_video() || camera.is_image()) || camera.frame_size().is_none() {
            return Err(DataError::corrupt(
                &info_path,
                format!(
                    "feature {:?} is not an RGB camera (dtype {}, shape {:?})",
                    select.camera, camera.dtype, camera.shape
                ),
            ));
        }
        let mut dims = [0; 2];
        for (dim, key) in dims.iter_mut().zip([select.state, select.action]) {
            let f = feature(key)?;
            if !matches!(f.dtype.as_str(), "float32" | "float64") || f.shape.len() != 1 {
                return Err(DataError::corrupt(
                    &info_path,
                    format!(
                        "feature {key:?} is {} {:?}; the model needs a float vector",
                        f.dtype, f.shape
                    ),
                ));
            }
            *dim = f.shape[0];
        }
        Ok((dims[0], dims[1]))
    }

    /// Reads episodes `which` (indices into [`Self::episodes`]): rows from the data files and
    /// frames of the chosen camera, video files decoded in parallel.
    pub fn read_episodes(
        &self,
        which: &[u32],
        select: Selection<'_>,
    ) -> Result<Vec<RawEpisode>, DataError> {
        let (state_dim, action_dim) = self.check(select)?;
        let camera = &self.info.features[select.camera];
        let (height, width) = camera.frame_size().unwrap_or_default();
        let wanted: BTreeSet<u32> = which.iter().copied().collect();
        for &e in &wanted {
            if e as usize >= self.episodes.len() {
                return Err(DataError::IndexOutOfRange {
                    index: e as usize,
                    len: self.episodes.len(),
                });
            }
        }
        // Rows, file by file.
        let mut by_file: BTreeMap<(i64, i64), Vec<u32>> = BTreeMap::new();
        for &e in &wanted {
            let entry = &self.episodes[e as usize];
            by_file
                .entry((entry.data_chunk, entry.data_file))
                .or_default()
                .push(e);
        }
        let rows: Vec<Vec<RawEpisode>> = by_file
            .par_iter()
            .map(|(&(chunk, file), episodes)| {
                let path = self
                    .root
                    .join(Info::file_path(&self.info.data_path, "", chunk, file));
                self.read_rows(
                    &path,
                    episodes,
                    select,
                    state_dim,
                    action_dim,
                    (width, height),
                )
            })
            .collect::<Result<_, _>>()?;
        let mut episodes: BTreeMap<u32, RawEpisode> =
            rows.into_iter().flatten().map(|e| (e.index, e)).collect();
        if camera.is_video() {
            self.attach_video(&mut episodes, select.camera, (width, height))?;
        }
        Ok(which
            .iter()
            .filter_map(|e| episodes.get(e).cloned())
            .collect())
    }

    /// Reads the rows of `episodes` from one data file (frames too, for image cameras).
    fn read_rows(
        &self,
        path: &Path,
        episodes: &[u32],
        select: Selection<'_>,
        state_dim: usize,
        action_dim: usize,
        (width, height): (usize, usize),
    ) -> Result<Vec<RawEpisode>, DataError> {
        let t = Table::read(path)?;
        let episode = t.i64s("episode_index")?;
        let frame = t.i64s("frame_index")?;
        let time = t.f64s("timestamp")?;
        let task = t.i64s("task_index")?;
        let states = t.vectors(select.state, state_dim)?;
        let actions = t.vectors(select.action, action_dim)?;
        let images = if self.info.features[select.camera].is_image() {
            Some(t.image_bytes(select.camera)?)
        } else {
            None
        };
        let mut out = Vec::new();
        for &e in episodes {
            let entry = &self.episodes[e as usize];
            let mut rows: Vec<usize> = (0..t.num_rows())
                .filter(|r| episode[*r] == e as i64)
                .collect();
            rows.sort_by_key(|r| frame[*r]);
            if rows.len() != entry.length {
                return Err(DataError::corrupt(
                    path,
                    format!(
                        "episode {e} has {} rows but meta/episodes says {} frames",
                        rows.len(),
                        entry.length
                    ),
                ));
            }
            let task_of = |r: usize| {
                self.tasks.get(task[r] as usize).cloned().ok_or_else(|| {
                    DataError::corrupt(path, format!("task_index {} has no task", task[r]))
                })
            };
            let frames = match &images {
                Some(bytes) => rows
                    .par_iter()
                    .map(|r| decode_png(&bytes[*r], (width, height), path, frame[*r]))
                    .collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            };
            out.push(RawEpisode {
                index: e,
                task: task_of(rows[0])?,
                width,
                height,
                frames,
                states: rows
                    .iter()
                    .flat_map(|r| states[r * state_dim..(r + 1) * state_dim].iter().copied())
                    .collect(),
                actions: rows
                    .iter()
                    .flat_map(|r| {
                        actions[r * action_dim..(r + 1) * action_dim]
                            .iter()
                            .copied()
                    })
                    .collect(),
                timestamps: rows.iter().map(|r| time[*r]).collect(),
            });
        }
        Ok(out)
    }

    /// Decodes the video files the episodes live in (in parallel, each once) and picks each
    /// row's frame at `from_timestamp + timestamp`.
    fn attach_video(
        &self,
        episodes: &mut BTreeMap<u32, RawEpisode>,
        key: &str,
        (width, height): (usize, usize),
    ) -> Result<(), DataError> {
        let template = self.info.video_path.clone().unwrap_or_default();
        let files: BTreeSet<(i64, i64)> = episodes
            .keys()
            .filter_map(|e| self.episodes[*e as usize].videos.get(key))
            .map(|s| (s.chunk, s.file))
            .collect();
        let decoded: BTreeMap<(i64, i64), (PathBuf, DecodedVideo)> = files
            .par_iter()
            .map(|&(chunk, file)| {
                let path = self.root.join(Info::file_path(&template, key, chunk, file));
                if !path.is_file() {
                    return Err(DataError::MissingFile(path.display().to_string()));
                }
                let video = video::decode_file(&path)?;
                if (video.width, video.height) != (width, height) {
                    return Err(DataError::corrupt(
                        &path,
                        format!(
                            "frames are {}x{}, info.json says {width}x{height}",
                            video.width, video.height
                        ),
                    ));
                }
                Ok(((chunk, file), (path, video)))
            })
            .collect::<Result<_, _>>()?;
        let tolerance = 0.25 / self.info.fps as f64;
        for (e, raw) in episodes.iter_mut() {
            let span = self.episodes[*e as usize].videos.get(key).ok_or_else(|| {
                DataError::corrupt(
                    &self.root.join(EPISODES_DIR),
                    format!("episode {e} has no video span for {key}"),
                )
            })?;
            let (path, video) = &decoded[&(span.chunk, span.file)];
            raw.frames = raw
                .timestamps
                .iter()
                .map(|t| {
                    let at = span.from_timestamp + t;
                    video
                        .frame_at(at, tolerance)
                        .map(|i| video.frames[i].clone())
                        .ok_or_else(|| {
                            DataError::corrupt(
                                path,
                                format!(
                                    "episode {e} needs a frame at {at:.4} s but the video has {} frames ({:.4} s)",
                                    video.frames.len(),
                                    video.times.last().copied().unwrap_or(0.0)
                                ),
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }
}

/// Decodes one PNG image feature to RGB bytes of the expected size.
fn decode_png(
    bytes: &[u8],
    (width, height): (usize, usize),
    path: &Path,
    frame: i64,
) -> Result<Vec<u8>, DataError> {
    let bad = |why: String| DataError::corrupt(path, format!("image of frame {frame}: {why}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(e.to_string()))?;
    if (info.width as usize, info.height as usize) != (width, height) {
        return Err(bad(format!(
            "{}x{} but info.json says {width}x{height}",
            info.width, info.height
        )));
    }
    let pixels = &buf[..info.buffer_size()];
    let rgb = match info.color_type {
        png::ColorType::Rgb => pixels.to_vec(),
        png::ColorType::Rgba => pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        png::ColorType::Grayscale => pixels.iter().flat_map(|g| [*g, *g, *g]).collect(),
        png::ColorType::GrayscaleAlpha => pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0]])
            .collect(),
        other => return Err(bad(format!("unsupported PNG colour type {other:?}"))),
    };
    Ok(rgb)
}
