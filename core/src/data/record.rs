//! Records scripted-teacher demonstrations of a suite into a dataset (`praxis demos`).
//! Episodes run in parallel (rayon) and are written in order, so the same options always
//! give the same dataset. Demonstration seeds start at [`DEMO_SEED_OFFSET`], far from every
//! suite's evaluation seeds.

use std::path::PathBuf;

use rayon::prelude::*;

use super::error::DataError;
use super::format::{DatasetMeta, Episode, ImageShape};
use super::writer::{DatasetSpec, DatasetWriter};
use crate::sim::world::CONTROL_DT;
use crate::sim::{
    Action, Env, EnvConfig, Observation, SimError, StepInfo, Suite, Teacher, TeacherConfig,
};

/// Demonstration episode k uses seed `seed + DEMO_SEED_OFFSET + k`.
pub const DEMO_SEED_OFFSET: u64 = 1_000_000;

/// What to record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOptions {
    /// Built-in suite name or `.toml` path.
    pub suite: String,
    /// Episodes to write; tasks are taken round-robin.
    pub episodes: usize,
    pub out: PathBuf,
    /// Teacher action noise (standard deviation on normalised actions).
    pub noise_std: f32,
    /// The teacher's label smoothing radius, metres (see [`TeacherConfig::smoothing`]).
    pub teacher_smoothing: f32,
    pub image_size: u32,
    /// Base seed.
    pub seed: u64,
    /// Also keep episodes in which the teacher failed.
    pub keep_failures: bool,
    /// Held-out variations switched on while recording (e.g. `unseen_embodiment` records the
    /// 4-joint arm).
    pub variations: crate::sim::Variations,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            suite: "goal".into(),
            episodes: 10,
            out: PathBuf::from("demos"),
            noise_std: 0.0,
            teacher_smoothing: 0.0,
            image_size: 64,
            seed: 0,
            keep_failures: false,
            variations: Default::default(),
        }
    }
}

/// An episode with no frames yet, for `task` of `env` just reset with `seed` to `obs`.
pub fn start_episode(env: &Env, obs: &Observation, task: &str, seed: u64) -> Episode {
    Episode {
        task: task.to_string(),
        seed,
        instruction: env.task_instruction().to_string(),
        subgoal_instructions: env.subgoal_instructions().to_vec(),
        success: false,
        height: obs.height,
        width: obs.width,
        state_dim: env.proprio_dim() as u32,
        action_dim: env.action_dim() as u32,
        images: Vec::new(),
        states: Vec::new(),
        actions: Vec::new(),
        subtasks: Vec::new(),
        affordance: Vec::new(),
        affordance_px: Vec::new(),
        rewards: Vec::new(),
        plans: None,
    }
}

/// Appends one frame: what was seen, the action that labels it, and the step's privileged facts.
pub fn push_frame(ep: &mut Episode, obs: &Observation, action: &Action, info: &StepInfo) {
    ep.images.extend_from_slice(&obs.image);
    ep.states.extend_from_slice(&obs.proprio);
    ep.actions.extend_from_slice(&action.0);
    ep.subtasks.push(info.subtask_index as u32);
    ep.affordance.push(info.affordance);
    ep.affordance_px.push(info.affordance_px);
    ep.rewards.push(info.dense_reward);
}

/// Runs one teacher episode and returns its frames. The teacher's noise is seeded by
/// `teacher.seed`; [`record_suite_demos`] gives it the episode's own seed.
pub fn record_episode(
    suite: &Suite,
    task: &str,
    seed: u64,
    config: EnvConfig,
    teacher: TeacherConfig,
) -> Result<Episode, SimError> {
    let mut env = Env::new(suite, task, config)?;
    let mut teacher = Teacher::new(teacher);
    let mut obs = env.reset(seed)?;
    let mut info = env.info()?;
    let mut ep = start_episode(&env, &obs, task, seed);
    loop {
        let action = teacher.act(&env)?;
        push_frame(&mut ep, &obs, &action, &info);
        let r = env.step(&action)?;
        obs = r.obs;
        info = r.info;
        if r.terminated || r.truncated {
            ep.success = r.terminated;
            return Ok(ep);
        }
    }
}

/// Records `options.episodes` teacher episodes into `options.out`. `progress` is called with
/// the number of episodes written so far. Failed episodes are skipped unless
/// `keep_failures`; at most three times as many attempts are made.
pub fn record_demos(
    options: &RecordOptions,
    progress: &mut dyn FnMut(usize),
) -> Result<DatasetMeta, DataError> {
    let suite = Suite::resolve(&options.suite)?;
    record_suite_demos(&suite, options, progress)
}

/// Like [`record_demos`] for a suite already in memory (`options.suite` is ignored), e.g. a
/// suite narrowed to some of its tasks.
pub fn record_suite_demos(
    suite: &Suite,
    options: &RecordOptions,
    progress: &mut dyn FnMut(usize),
) -> Result<DatasetMeta, DataError> {
    let suite = suite.clone();
    if options.episodes == 0 {
        return Err(DataError::Shape("asked for 0 episodes".into()));
    }
    let config = EnvConfig {
        image_size: options.image_size,
        variations: options.variations,
        ..EnvConfig::default()
    };
    let probe = Env::new(&suite, &suite.tasks[0].name, config)?;
    let spec = DatasetSpec {
        suite: suite.name.clone(),
        embodiment: probe.embodiment().name().to_string(),
        action_space: probe.action_space().name().to_string(),
        image: ImageShape {
            height: options.image_size,
            width: options.image_size,
            channels: 3,
        },
        state_dim: probe.proprio_dim() as u32,
        action_dim: probe.action_dim() as u32,
        control_hz: 1.0 / CONTROL_DT,
        teacher_noise_std: options.noise_std,
        teacher_smoothing: options.teacher_smoothing,
    };
    let mut writer = DatasetWriter::create(&options.out, spec)?;
    let batch = 2 * rayon::current_num_threads().max(1);
    let max_attempts = options.episodes * 3;
    let mut attempt = 0;
    while writer.num_episodes() < options.episodes && attempt < max_attempts {
        let ids: Vec<usize> = (attempt..(attempt + batch).min(max_attempts)).collect();
        attempt += ids.len();
        let episodes: Vec<Result<Episode, SimError>> = ids
            .par_iter()
            .map(|&k| {
                let task = &suite.tasks[k % suite.tasks.len()].name;
                let seed = options.seed + DEMO_SEED_OFFSET + k as u64;
                let teacher = TeacherConfig {
                    noise_std: options.noise_std,
                    seed,
                    smoothing: options.teacher_smoothing,
                };
                record_episode(&suite, task, seed, config, teacher)
            })
            .collect();
        for ep in episodes {
            let ep = ep?;
            if (ep.success || options.keep_failures) && writer.num_episodes() < options.episodes {
                writer.add(&ep)?;
                progress(writer.num_episodes());
            }
        }
    }
    if writer.num_episodes() < options.episodes {
        return Err(DataError::Shape(format!(
            "the teacher succeeded in only {} of {max_attempts} attempts",
            writer.num_episodes()
        )));
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::format::FORMAT_VERSION;
    use crate::data::reader::Dataset;
    use crate::data::writer::DatasetSpec;

    fn tiny_episode(len: usize, seed: u64) -> Episode {
        let (h, w) = (4u32, 5u32);
        Episode {
            task: "t".into(),
            seed,
            instruction: "push the red block onto the green pad".into(),
            subgoal_instructions: Vec::new(),
            success: true,
            height: h,
            width: w,
            state_dim: 3,
            action_dim: 2,
            images: (0..len * 60).map(|i| (i * 7 % 251) as u8).collect(),
            states: (0..len * 3).map(|i| i as f32 * 0.5 - 1.0).collect(),
            actions: (0..len * 2).map(|i| (i as f32 * 0.37).sin()).collect(),
            subtasks: (0..len as u32).map(|t| t / 2).collect(),
            affordance: (0..len).map(|t| [t as f32 * 0.01, -0.2]).collect(),
            affordance_px: (0..len).map(|t| [t as f32, 3.5]).collect(),
            rewards: (0..len).map(|t| t as f32 / len as f32).collect(),
            plans: None,
        }
    }

    fn spec() -> DatasetSpec {
        DatasetSpec {
            suite: "test".into(),
            embodiment: "arm3".into(),
            action_space: "ee_delta".into(),
            image: ImageShape {
                height: 4,
                width: 5,
                channels: 3,
            },
            state_dim: 3,
            action_dim: 2,
            control_hz: 25.0,
            teacher_noise_std: 0.0,
            teacher_smoothing: 0.0,
        }
    }

    fn write(dir: &std::path::Path, episodes: &[Episode]) -> DatasetMeta {
        let mut w = DatasetWriter::create(dir, spec()).unwrap();
        for e in episodes {
            w.add(e).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn write_then_read_round_trips_exactly() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ds");
        let episodes = [tiny_episode(5, 1), tiny_episode(3, 2)];
        let meta = write(&dir, &episodes);
        assert_eq!((meta.num_episodes, meta.num_frames), (2, 8));
        let ds = Dataset::open(&dir).unwrap().with_chunk_len(4);
        assert_eq!(ds.len(), 8);
        assert_eq!(ds.episodes(), &episodes);
        // Stats over all 8 states, first dim: values -1.0, 0.5, ... from both episodes.
        let all: Vec<f32> = episodes
            .iter()
            .flat_map(|e| e.states.chunks(3).map(|r| r[0]))
            .collect();
        let mean = all.iter().sum::<f32>() / all.len() as f32;
        assert!((ds.meta().stats.state.mean[0] - mean).abs() < 1e-5);
        assert_eq!(ds.meta().stats.action.min.len(), 2);
        // Sample 3 = episode 0, frame 3: chunk of 4 runs past the end (len 5) by 2.
        let s = ds.get(3).unwrap();
        assert_eq!((s.episode, s.frame), (0, 3));
        assert_eq!(s.image, episodes[0].images[3 * 60..4 * 60]);
        assert_eq!(s.state, episodes[0].states[9..12]);
        assert_eq!(s.action_mask, vec![true, true, false, false]);
        assert_eq!(s.actions[0], episodes[0].actions[6..8]);
        assert_eq!(
            s.actions[3],
            episodes[0].actions[8..10],
            "padded with the last action"
        );
        assert_eq!(
            (s.subtask, s.affordance, s.affordance_px),
            (1, [0.03, -0.2], [3.0, 3.5])
        );
        let s = ds.get(5).unwrap();
        assert_eq!((s.episode, s.frame), (1, 0));
        assert!(matches!(ds.get(8), Err(DataError::IndexOutOfRange { .. })));
        assert_eq!(ds.iter().count(), 8);
    }

    /// `tiny_episode` with a plan of `len` actions for every frame, the last frame's cut at 2.
    fn planned_episode(frames: usize, seed: u64, len: u32) -> Episode {
        let mut e = tiny_episode(frames, seed);
        let mut steps = vec![len; frames];
        steps[frames - 1] = 2;
        let actions = (0..frames * len as usize * 2)
            .map(|i| i as f32 * -0.01)
            .collect();
        e.plans = Some(crate::data::format::Plans {
            len,
            steps,
            actions,
        });
        e
    }

    #[test]
    fn plans_round_trip_and_are_the_chunk_targets() {
        let root = tempfile::tempdir().unwrap();
        // Without plans a dataset stays version 1, byte for byte the old format.
        let plain = root.path().join("plain");
        assert_eq!(write(&plain, &[tiny_episode(5, 1)]).format_version, 1);
        let file = std::fs::read(plain.join("episodes/episode_000000.bin")).unwrap();
        assert_eq!(file[8..12], 1u32.to_le_bytes());

        let dir = root.path().join("planned");
        let episodes = [planned_episode(5, 1, 3), tiny_episode(3, 2)];
        assert_eq!(write(&dir, &episodes).format_version, FORMAT_VERSION);
        let ds = Dataset::open(&dir).unwrap().with_chunk_len(4);
        assert_eq!(ds.episodes(), &episodes);
        let plans = episodes[0].plans.as_ref().unwrap();
        // Frame 1: its own plan of 3, the chunk's 4th step masked, not the episode's next actions.
        let s = ds.get(1).unwrap();
        assert_eq!(s.action_mask, vec![true, true, true, false]);
        for k in 0..3 {
            assert_eq!(s.actions[k], plans.action(1, k, 2));
        }
        assert_eq!(
            s.actions[3],
            plans.action(1, 2, 2),
            "padded with the plan's last"
        );
        assert_ne!(s.actions[1], episodes[0].actions[4..6]);
        // The last frame's plan ends after 2 actions (the episode would have ended).
        let s = ds.get(4).unwrap();
        assert_eq!(s.action_mask, vec![true, true, false, false]);
        assert_eq!(s.actions[2], plans.action(4, 1, 2));
        // A plan-less episode of the same dataset keeps its next actions.
        let s = ds.get(5).unwrap();
        assert_eq!(s.actions[1], episodes[1].actions[2..4]);
        // A part of an episode keeps its frames' plans.
        let part = episodes[0].frames(3..5);
        assert_eq!(part.plans.as_ref().unwrap().steps, vec![3, 2]);
        assert_eq!(
            part.plans.as_ref().unwrap().action(0, 2, 2),
            plans.action(3, 2, 2)
        );

        // A plan step count of 0 is refused when read, naming the file.
        let path = dir.join("episodes/episode_000000.bin");
        let mut bad = episodes[0].clone();
        bad.plans.as_mut().unwrap().steps[0] = 0;
        let bytes = bad.encode();
        std::fs::write(&path, &bytes).unwrap();
        let meta_path = dir.join("meta.json");
        let text = std::fs::read_to_string(&meta_path).unwrap();
        let crc = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap());
        let good = ds.meta().episodes[0].crc32;
        std::fs::write(
            &meta_path,
            text.replace(&good.to_string(), &crc.to_string()),
        )
        .unwrap();
        let err = Dataset::open(&dir).unwrap_err().to_string();
        assert!(
            err.contains("episode_000000.bin") && err.contains("frame 0's plan"),
            "{err}"
        );
        std::fs::write(&path, episodes[0].encode()).unwrap();
        std::fs::write(&meta_path, &text).unwrap();
        assert!(Dataset::open(&dir).is_ok());

        // Plans under a meta.json of version 1 are refused.
        let old = text.replace(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 1",
        );
        std::fs::write(&meta_path, &old).unwrap();
        let err = Dataset::open(&dir).unwrap_err().to_string();
        assert!(err.contains("meta.json says format 1"), "{err}");

        // A header whose sizes overflow any machine word is a typed error, not a panic.
        let mut huge = episodes[0].encode();
        for word in [28, 32] {
            huge[word..word + 4].copy_from_slice(&u32::MAX.to_le_bytes()); // action_dim, plan length
        }
        let meta = crate::data::format::EpisodeMeta {
            length: 5,
            ..ds.meta().episodes[0].clone()
        };
        let err = Episode::decode(&huge, &meta, &path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("header implies"), "{err}");
    }

    #[test]
    fn damaged_datasets_are_typed_errors_naming_the_file() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(
            Dataset::open(&root.path().join("nope")),
            Err(DataError::NotFound(_))
        ));

        let dir = root.path().join("ds");
        write(&dir, &[tiny_episode(5, 1)]);
        assert!(matches!(
            DatasetWriter::create(&dir, spec()),
            Err(DataError::AlreadyExists(_))
        ));
        let file = dir.join("episodes/episode_000000.bin");
        let bytes = std::fs::read(&file).unwrap();

        // Truncated episode file.
        std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
        let err = Dataset::open(&dir).unwrap_err();
        assert!(
            matches!(err, DataError::Corrupt { .. })
                && err.to_string().contains("episode_000000.bin"),
            "{err}"
        );
        // Flipped byte: same length, CRC catches it.
        let mut flipped = bytes.clone();
        flipped[100] ^= 0xff;
        std::fs::write(&file, &flipped).unwrap();
        assert!(Dataset::open(&dir).unwrap_err().to_string().contains("CRC"));
        std::fs::write(&file, &bytes).unwrap();
        assert!(Dataset::open(&dir).is_ok());

        // Another format version.
        let meta_path = dir.join("meta.json");
        let text = std::fs::read_to_string(&meta_path).unwrap();
        let other = text.replace("\"format_version\": 1", "\"format_version\": 99");
        std::fs::write(&meta_path, other).unwrap();
        let err = Dataset::open(&dir).unwrap_err();
        assert!(matches!(err, DataError::UnsupportedVersion { .. }), "{err}");
        assert!(!err.to_string().contains('\n'));

        // Missing meta.json (a half-written dataset never has one).
        std::fs::remove_file(&meta_path).unwrap();
        assert!(matches!(
            Dataset::open(&dir),
            Err(DataError::MissingFile(_))
        ));
    }

    #[test]
    fn unfinished_writer_leaves_nothing_behind() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ds");
        {
            let mut w = DatasetWriter::create(&dir, spec()).unwrap();
            w.add(&tiny_episode(2, 0)).unwrap();
            let mut bad = tiny_episode(2, 0);
            bad.state_dim = 4;
            assert!(w.add(&bad).is_err());
            // Dropped without finish (as on a crash or error).
        }
        assert!(!dir.exists());
        assert_eq!(
            std::fs::read_dir(root.path()).unwrap().count(),
            0,
            "temporary directory removed"
        );
    }

    #[test]
    fn recorded_teacher_demos_open_and_match_the_suite() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("demos");
        let options = RecordOptions {
            suite: "goal".into(),
            episodes: 3,
            out: out.clone(),
            noise_std: 0.1,
            ..RecordOptions::default()
        };
        let mut calls = 0;
        let meta = record_demos(&options, &mut |_| calls += 1).unwrap();
        assert_eq!((meta.num_episodes, calls), (3, 3));
        assert!(meta.episodes.iter().all(|e| e.success));
        let ds = Dataset::open(&out).unwrap();
        let s = ds.get(0).unwrap();
        assert_eq!(s.image.len(), 64 * 64 * 3);
        assert_eq!((s.state.len(), s.actions[0].len()), (6, 3));
        assert!(s.actions.iter().flatten().all(|a| (-1.0..=1.0).contains(a)));
        assert!(matches!(
            record_demos(&options, &mut |_| {}),
            Err(DataError::AlreadyExists(_))
        ));
        let bad = RecordOptions {
            suite: "nope".into(),
            out: root.path().join("x"),
            ..RecordOptions::default()
        };
        assert!(matches!(
            record_demos(&bad, &mut |_| {}),
            Err(DataError::Sim(SimError::UnknownSuite { .. }))
        ));
    }

    /// Recorded under `subgoals`, each frame reads the instruction of the sub-goal it works
    /// on, and the episode keeps the whole task's.
    #[test]
    fn subgoal_recordings_give_each_frame_its_subgoal() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("demos");
        let options = RecordOptions {
            suite: "long".into(),
            episodes: 1,
            out: out.clone(),
            variations: "subgoals".parse().unwrap(),
            ..RecordOptions::default()
        };
        record_demos(&options, &mut |_| {}).unwrap();
        let ds = Dataset::open(&out).unwrap();
        let e = &ds.episodes()[0];
        assert!(e.instruction.contains("then"), "{}", e.instruction);
        let reached = *e.subtasks.last().unwrap() as usize + 1;
        assert!(
            e.subgoal_instructions.len() >= reached.max(2),
            "{:?}",
            e.subgoal_instructions
        );
        let last = ds.len() - 1;
        let (first, end) = (ds.get(0).unwrap(), ds.get(last).unwrap());
        assert_eq!(first.instruction, e.subgoal_instructions[0]);
        assert_ne!(first.instruction, end.instruction);
        assert!(!end.instruction.contains("then"), "{}", end.instruction);
    }
}
