//! Writes a dataset so that it is either complete or absent: everything goes to
//! `DIR.tmp-<pid>`, `meta.json` is written last, and the directory is renamed to `DIR` only
//! then. Dropping an unfinished writer removes the temporary directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::DataError;
use super::format::{
    DatasetMeta, DatasetStats, EPISODES_DIR, Episode, EpisodeMeta, FORMAT_VERSION,
    FORMAT_VERSION_WITHOUT_PLANS, ImageShape, META_FILE,
};
use super::stats::StatsAccumulator;

/// Dataset-wide facts fixed before the first episode.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSpec {
    pub suite: String,
    pub embodiment: String,
    pub action_space: String,
    pub image: ImageShape,
    pub state_dim: u32,
    pub action_dim: u32,
    pub control_hz: f32,
    pub teacher_noise_std: f32,
    /// The teacher's label smoothing radius, metres (0 for the plain teacher).
    pub teacher_smoothing: f32,
}

/// An open dataset being written.
pub struct DatasetWriter {
    final_dir: PathBuf,
    tmp_dir: PathBuf,
    spec: DatasetSpec,
    episodes: Vec<EpisodeMeta>,
    state_stats: StatsAccumulator,
    action_stats: StatsAccumulator,
    num_frames: u64,
    /// Whether any episode carries plans (the dataset is then version 2).
    with_plans: bool,
    finished: bool,
}

impl DatasetWriter {
    /// Starts a dataset that will appear at `dir` when [`finish`](Self::finish) succeeds.
    pub fn create(dir: &Path, spec: DatasetSpec) -> Result<DatasetWriter, DataError> {
        if dir.exists() {
            return Err(DataError::AlreadyExists(dir.display().to_string()));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dataset".into());
        let tmp_dir = dir.with_file_name(format!("{name}.tmp-{}", std::process::id()));
        if tmp_dir.exists() {
            fs::remove_dir_all(&tmp_dir).map_err(|e| DataError::io(&tmp_dir, e))?;
        }
        let episodes_dir = tmp_dir.join(EPISODES_DIR);
        fs::create_dir_all(&episodes_dir).map_err(|e| DataError::io(&episodes_dir, e))?;
        Ok(DatasetWriter {
            final_dir: dir.to_path_buf(),
            tmp_dir,
            state_stats: StatsAccumulator::new(spec.state_dim as usize),
            action_stats: StatsAccumulator::new(spec.action_dim as usize),
            spec,
            episodes: Vec::new(),
            num_frames: 0,
            with_plans: false,
            finished: false,
        })
    }

    /// Number of episodes written so far.
    pub fn num_episodes(&self) -> usize {
        self.episodes.len()
    }

    /// Appends one episode.
    pub fn add(&mut self, episode: &Episode) -> Result<(), DataError> {
        episode.validate()?;
        let s = &self.spec;
        if (
            episode.height,
            episode.width,
            episode.state_dim,
            episode.action_dim,
        ) != (s.image.height, s.image.width, s.state_dim, s.action_dim)
        {
            return Err(DataError::Shape(format!(
                "episode is {}x{} with state {} and action {}, dataset is {}x{} with state {} and action {}",
                episode.height,
                episode.width,
                episode.state_dim,
                episode.action_dim,
                s.image.height,
                s.image.width,
                s.state_dim,
                s.action_dim
            )));
        }
        let index = self.episodes.len() as u32;
        let file = format!("{EPISODES_DIR}/episode_{index:06}.bin");
        let bytes = episode.encode();
        let path = self.tmp_dir.join(&file);
        fs::write(&path, &bytes).map_err(|e| DataError::io(&path, e))?;
        self.state_stats.add_rows(&episode.states);
        self.action_stats.add_rows(&episode.actions);
        self.num_frames += episode.len() as u64;
        self.with_plans |= episode.plans.is_some();
        let crc = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap_or([0; 4]));
        self.episodes.push(EpisodeMeta {
            index,
            file,
            task: episode.task.clone(),
            seed: episode.seed,
            instruction: episode.instruction.clone(),
            subgoal_instructions: episode.subgoal_instructions.clone(),
            length: episode.len() as u32,
            success: episode.success,
            bytes: bytes.len() as u64,
            crc32: crc,
        });
        Ok(())
    }

    /// Writes `meta.json` and moves the dataset into place.
    pub fn finish(mut self) -> Result<DatasetMeta, DataError> {
        if self.episodes.is_empty() {
            return Err(DataError::Shape(
                "a dataset needs at least one episode".into(),
            ));
        }
        let s = &self.spec;
        let meta = DatasetMeta {
            format_version: match self.with_plans {
                true => FORMAT_VERSION,
                false => FORMAT_VERSION_WITHOUT_PLANS,
            },
            suite: s.suite.clone(),
            embodiment: s.embodiment.clone(),
            action_space: s.action_space.clone(),
            image: s.image,
            state_dim: s.state_dim,
            action_dim: s.action_dim,
            control_hz: s.control_hz,
            teacher_noise_std: s.teacher_noise_std,
            teacher_smoothing: s.teacher_smoothing,
            num_episodes: self.episodes.len() as u32,
            num_frames: self.num_frames,
            stats: DatasetStats {
                state: self.state_stats.finish(),
                action: self.action_stats.finish(),
            },
            episodes: std::mem::take(&mut self.episodes),
        };
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| DataError::io(&self.tmp_dir.join(META_FILE), e))?;
        let meta_path = self.tmp_dir.join(META_FILE);
        let mut f = fs::File::create(&meta_path).map_err(|e| DataError::io(&meta_path, e))?;
        f.write_all(&json)
            .and_then(|_| f.sync_all())
            .map_err(|e| DataError::io(&meta_path, e))?;
        if self.final_dir.exists() {
            return Err(DataError::AlreadyExists(
                self.final_dir.display().to_string(),
            ));
        }
        fs::rename(&self.tmp_dir, &self.final_dir)
            .map_err(|e| DataError::io(&self.final_dir, e))?;
        self.finished = true;
        Ok(meta)
    }
}

impl Drop for DatasetWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_dir_all(&self.tmp_dir);
        }
    }
}
