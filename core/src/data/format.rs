//! The dataset format: `meta.json` (serde) and the binary episode files (see the module docs
//! of `data` for the byte layout). Encoding and decoding live here, next to each other.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::stats::FeatureStats;

/// The newest format version this build writes and reads: version 2 adds the teacher's
/// planned action chunks ([`Plans`]). A dataset without plans is written as version 1, byte for
/// byte as before, so recorded demonstrations and their fingerprints do not change.
pub const FORMAT_VERSION: u32 = 2;
/// The format version of a dataset (and an episode file) without plans.
pub const FORMAT_VERSION_WITHOUT_PLANS: u32 = 1;
/// Name of the metadata file.
pub const META_FILE: &str = "meta.json";
/// Folder of the episode files.
pub const EPISODES_DIR: &str = "episodes";
/// First bytes of every episode file.
pub const EPISODE_MAGIC: [u8; 8] = *b"PRXEPIS1";
const HEADER_LEN: usize = 8 + 6 * 4;
/// Version 2's header has one more word, the plan length.
const HEADER_LEN_WITH_PLANS: usize = HEADER_LEN + 4;

/// Image shape of every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageShape {
    pub height: u32,
    pub width: u32,
    pub channels: u32,
}

/// Normalisation statistics of the vector features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetStats {
    pub state: FeatureStats,
    pub action: FeatureStats,
}

/// One entry of the episode index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeMeta {
    pub index: u32,
    /// Path relative to the dataset directory.
    pub file: String,
    pub task: String,
    pub seed: u64,
    pub instruction: String,
    /// With sub-goal instructions: each sub-goal's, in order (frame t reads the one of its
    /// sub-task index); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subgoal_instructions: Vec<String>,
    pub length: u32,
    pub success: bool,
    /// Exact file size in bytes.
    pub bytes: u64,
    /// CRC-32 of the file without its trailing CRC.
    pub crc32: u32,
}

/// The contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetMeta {
    pub format_version: u32,
    pub suite: String,
    pub embodiment: String,
    pub action_space: String,
    pub image: ImageShape,
    pub state_dim: u32,
    pub action_dim: u32,
    /// Control steps per second of the recorded episodes.
    pub control_hz: f32,
    /// Standard deviation of the teacher's action noise.
    pub teacher_noise_std: f32,
    /// The teacher's label smoothing radius, metres ([`TeacherConfig::smoothing`]; absent
    /// for the plain teacher and in datasets written before it existed).
    ///
    /// [`TeacherConfig::smoothing`]: crate::sim::TeacherConfig::smoothing
    #[serde(default, skip_serializing_if = "crate::sim::TeacherConfig::is_plain")]
    pub teacher_smoothing: f32,
    pub num_episodes: u32,
    pub num_frames: u64,
    pub stats: DatasetStats,
    pub episodes: Vec<EpisodeMeta>,
}

/// One recorded episode in memory. Per-frame arrays are flat, frame-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub task: String,
    pub seed: u64,
    pub instruction: String,
    /// Recorded with sub-goal instructions: each sub-goal's instruction, in order.
    pub subgoal_instructions: Vec<String>,
    pub success: bool,
    pub height: u32,
    pub width: u32,
    pub state_dim: u32,
    pub action_dim: u32,
    /// `length × height × width × 3` RGB bytes.
    pub images: Vec<u8>,
    /// `length × state_dim`.
    pub states: Vec<f32>,
    /// `length × action_dim`; action t was taken after observation t.
    pub actions: Vec<f32>,
    pub subtasks: Vec<u32>,
    pub affordance: Vec<[f32; 2]>,
    pub affordance_px: Vec<[f32; 2]>,
    pub rewards: Vec<f32>,
    /// Per frame, the teacher's own action chunk from that frame's state, when the episode's
    /// next actions are not it: on a rollout the policy drove, the labels of the following
    /// states answer the policy's moves, not what the teacher would have done (DAgger).
    pub plans: Option<Plans>,
}

/// The teacher's planned action chunk of every frame of an episode: the chunk target of each
/// frame, in place of the episode's next actions. A model whose chunk is longer than the plans
/// sees the steps past them masked, as past an episode's end.
#[derive(Debug, Clone, PartialEq)]
pub struct Plans {
    /// Actions a plan holds at most.
    pub len: u32,
    /// Per frame, how many of its plan's actions are real (fewer than `len` where the episode
    /// would have ended first); the rest repeat the last.
    pub steps: Vec<u32>,
    /// `frames × len × action_dim`.
    pub actions: Vec<f32>,
}

impl Plans {
    /// Frames `range` of the plans.
    fn frames(&self, range: std::ops::Range<usize>, action_dim: usize) -> Plans {
        let per = self.len as usize * action_dim;
        Plans {
            len: self.len,
            steps: self.steps[range.clone()].to_vec(),
            actions: self.actions[range.start * per..range.end * per].to_vec(),
        }
    }

    /// Action `k` of frame `t`'s plan.
    pub fn action(&self, t: usize, k: usize, action_dim: usize) -> &[f32] {
        let start = (t * self.len as usize + k) * action_dim;
        &self.actions[start..start + action_dim]
    }
}

impl Episode {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.subtasks.len()
    }

    /// The instruction the policy read at frame `t`: the episode's, or with sub-goal
    /// instructions that of the frame's sub-goal.
    pub fn instruction_at(&self, t: usize) -> &str {
        crate::sim::language::current_instruction(
            &self.instruction,
            &self.subgoal_instructions,
            self.subtasks[t] as usize,
        )
    }

    /// Whether the episode has no frames.
    pub fn is_empty(&self) -> bool {
        self.subtasks.is_empty()
    }

    /// Bytes of one image.
    pub fn image_bytes(&self) -> usize {
        self.height as usize * self.width as usize * 3
    }

    /// Frames `range` as an episode of their own (same task, seed and outcome): a part of a
    /// rollout kept as training data. Its chunk targets end where the part ends, unless its
    /// frames carry plans, which it keeps whole.
    pub fn frames(&self, range: std::ops::Range<usize>) -> Episode {
        let per = |n: usize| range.start * n..range.end * n;
        Episode {
            images: self.images[per(self.image_bytes())].to_vec(),
            states: self.states[per(self.state_dim as usize)].to_vec(),
            actions: self.actions[per(self.action_dim as usize)].to_vec(),
            subtasks: self.subtasks[range.clone()].to_vec(),
            affordance: self.affordance[range.clone()].to_vec(),
            affordance_px: self.affordance_px[range.clone()].to_vec(),
            rewards: self.rewards[range.clone()].to_vec(),
            plans: self
                .plans
                .as_ref()
                .map(|p| p.frames(range, self.action_dim as usize)),
            task: self.task.clone(),
            seed: self.seed,
            instruction: self.instruction.clone(),
            subgoal_instructions: self.subgoal_instructions.clone(),
            success: self.success,
            height: self.height,
            width: self.width,
            state_dim: self.state_dim,
            action_dim: self.action_dim,
        }
    }

    /// Checks that every array has the length its header implies.
    pub fn validate(&self) -> Result<(), DataError> {
        let t = self.len();
        let checks = [
            ("images", self.images.len(), t * self.image_bytes()),
            ("states", self.states.len(), t * self.state_dim as usize),
            ("actions", self.actions.len(), t * self.action_dim as usize),
            ("affordance", self.affordance.len(), t),
            ("affordance_px", self.affordance_px.len(), t),
            ("rewards", self.rewards.len(), t),
        ];
        if let Some(p) = &self.plans {
            let per = p.len as usize * self.action_dim as usize;
            if p.len == 0 || p.steps.len() != t || p.actions.len() != t * per {
                return Err(DataError::Shape(format!(
                    "plans of {} actions hold {} step counts and {} values for {t} frames",
                    p.len,
                    p.steps.len(),
                    p.actions.len()
                )));
            }
            if let Some(frame) = p.steps.iter().position(|&n| n == 0 || n > p.len) {
                return Err(DataError::Shape(format!(
                    "frame {frame}'s plan counts {} real actions, not 1 to {}",
                    p.steps[frame], p.len
                )));
            }
        }
        for (name, got, want) in checks {
            if got != want {
                return Err(DataError::Shape(format!(
                    "{name} has {got} values, expected {want}"
                )));
            }
        }
        if t == 0 {
            return Err(DataError::Shape(
                "an episode needs at least one frame".into(),
            ));
        }
        Ok(())
    }

    /// Encodes the episode file (including the trailing CRC).
    pub fn encode(&self) -> Vec<u8> {
        let t = self.len();
        let mut out = Vec::with_capacity(
            HEADER_LEN
                + self.images.len()
                + t * 4 * (self.state_dim + self.action_dim + 7) as usize
                + 4,
        );
        out.extend_from_slice(&EPISODE_MAGIC);
        let version = match self.plans {
            Some(_) => FORMAT_VERSION,
            None => FORMAT_VERSION_WITHOUT_PLANS,
        };
        for v in [
            version,
            t as u32,
            self.height,
            self.width,
            self.state_dim,
            self.action_dim,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        if let Some(p) = &self.plans {
            out.extend_from_slice(&p.len.to_le_bytes());
        }
        out.extend_from_slice(&self.images);
        let mut put = |values: &mut dyn Iterator<Item = f32>| {
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        };
        put(&mut self.states.iter().copied());
        put(&mut self.actions.iter().copied());
        for s in &self.subtasks {
            out.extend_from_slice(&s.to_le_bytes());
        }
        let mut put = |values: &mut dyn Iterator<Item = f32>| {
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        };
        put(&mut self.affordance.iter().flatten().copied());
        put(&mut self.affordance_px.iter().flatten().copied());
        put(&mut self.rewards.iter().copied());
        if let Some(p) = &self.plans {
            for n in &p.steps {
                out.extend_from_slice(&n.to_le_bytes());
            }
            for v in &p.actions {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes an episode file; `meta` supplies the fields kept only in `meta.json`.
    /// Truncation, a bad magic, a version mismatch or a CRC mismatch is an error naming `path`.
    pub fn decode(bytes: &[u8], meta: &EpisodeMeta, path: &Path) -> Result<Episode, DataError> {
        if bytes.len() < HEADER_LEN + 4 {
            return Err(DataError::corrupt(
                path,
                format!(
                    "truncated: {} bytes is shorter than the header",
                    bytes.len()
                ),
            ));
        }
        if bytes[..8] != EPISODE_MAGIC {
            return Err(DataError::corrupt(
                path,
                "not a praxis episode file (bad magic)",
            ));
        }
        let word = |i: usize| {
            u32::from_le_bytes([
                bytes[8 + 4 * i],
                bytes[9 + 4 * i],
                bytes[10 + 4 * i],
                bytes[11 + 4 * i],
            ])
        };
        let (version, t, height, width, state_dim, action_dim) =
            (word(0), word(1), word(2), word(3), word(4), word(5));
        let with_plans = match version {
            FORMAT_VERSION_WITHOUT_PLANS => false,
            FORMAT_VERSION => true,
            _ => {
                return Err(DataError::UnsupportedVersion {
                    path: path.display().to_string(),
                    found: version.to_string(),
                    supported: FORMAT_VERSION,
                });
            }
        };
        let (header_len, plan_len) = match with_plans {
            true if bytes.len() >= HEADER_LEN_WITH_PLANS + 4 => (HEADER_LEN_WITH_PLANS, word(6)),
            true => return Err(DataError::corrupt(path, "truncated: no plan length")),
            false => (HEADER_LEN, 0),
        };
        // In u128 every product of these u32 header words is exact, so no header, however
        // damaged, overflows here; once the length matches, every part fits in memory.
        let wide = u128::from;
        let plan_floats = match with_plans {
            true => 1 + wide(plan_len) * wide(action_dim),
            false => 0,
        };
        let expected = wide(header_len as u32)
            + wide(t) * wide(height) * wide(width) * 3
            + wide(t) * 4 * (wide(state_dim) + wide(action_dim) + 1 + 2 + 2 + 1 + plan_floats)
            + 4;
        if bytes.len() as u128 != expected {
            return Err(DataError::corrupt(
                path,
                format!(
                    "truncated or padded: {} bytes, header implies {expected}",
                    bytes.len()
                ),
            ));
        }
        let body = &bytes[..bytes.len() - 4];
        let stored = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap_or([0; 4]));
        if crc32fast::hash(body) != stored {
            return Err(DataError::corrupt(path, "CRC mismatch"));
        }
        if t != meta.length {
            return Err(DataError::corrupt(
                path,
                format!("has {t} frames, meta.json says {}", meta.length),
            ));
        }
        let tu = t as usize;
        let image_bytes = height as usize * width as usize * 3;
        let mut pos = header_len;
        let mut take = |n: usize| {
            let s = &bytes[pos..pos + n];
            pos += n;
            s
        };
        let images = take(tu * image_bytes).to_vec();
        let floats = |s: &[u8]| -> Vec<f32> {
            s.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let states = floats(take(tu * 4 * state_dim as usize));
        let actions = floats(take(tu * 4 * action_dim as usize));
        let subtasks = take(tu * 4)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let pairs =
            |v: Vec<f32>| -> Vec<[f32; 2]> { v.chunks_exact(2).map(|c| [c[0], c[1]]).collect() };
        let affordance = pairs(floats(take(tu * 8)));
        let affordance_px = pairs(floats(take(tu * 8)));
        let rewards = floats(take(tu * 4));
        let plans = match with_plans {
            false => None,
            true => {
                let steps = take(tu * 4)
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let actions = floats(take(tu * 4 * plan_len as usize * action_dim as usize));
                Some(Plans {
                    len: plan_len,
                    steps,
                    actions,
                })
            }
        };
        Ok(Episode {
            plans,
            task: meta.task.clone(),
            seed: meta.seed,
            instruction: meta.instruction.clone(),
            subgoal_instructions: meta.subgoal_instructions.clone(),
            success: meta.success,
            height,
            width,
            state_dim,
            action_dim,
            images,
            states,
            actions,
            subtasks,
            affordance,
            affordance_px,
            rewards,
        })
    }
}
