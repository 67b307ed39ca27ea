//! The Gymnasium-style environment: one task instance of a suite, reset with a seed and
//! stepped with actions. This is the only door the trainer and evaluators use.

use serde::{Deserialize, Serialize};

use super::embodiment::{ActionSpace, ArmConfig, EmbodimentKind};
use super::error::SimError;
use super::language;
use super::render::{Appearance, Renderer};
use super::scene::{self, episode_rng};
use super::suite::{Suite, TaskSpec, Variations};
use super::task::TaskProgress;
use super::teacher::Teacher;
use super::world::World;

/// RNG streams of an episode, so each random choice is independent of the others.
mod stream {
    pub const DISTRACTORS: u64 = 2;
    pub const INSTRUCTION: u64 = 3;
    pub const APPEARANCE: u64 = 4;
    /// Sub-goal instructions use streams from here up, one per sub-goal.
    pub const SUBGOAL_INSTRUCTIONS: u64 = 16;
}

/// How an environment is run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnvConfig {
    /// Side of the square camera image, pixels (16..=256; default 64).
    pub image_size: u32,
    /// Whether observations carry an image (off for fast state-only rollouts).
    pub render: bool,
    /// Reward = dense progress in `[0, 1]` instead of sparse success (0 or 1).
    pub dense_reward: bool,
    /// Held-out variations to switch on.
    pub variations: Variations,
    /// Overrides the suite's action space.
    pub action_space: Option<ActionSpace>,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            image_size: 64,
            render: true,
            dense_reward: false,
            variations: Variations::default(),
            action_space: None,
        }
    }
}

/// A normalised action vector; see the `sim` module docs for the layout per embodiment and
/// action space. Every component must be finite and within `[-1, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action(pub Vec<f32>);

/// What the policy sees.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// RGB u8, row-major HWC, `height * width * 3` bytes (empty when rendering is off).
    pub image: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Proprioception: `[q1..qn, gripper, ee_x, ee_y]` for arms, `[ee_x, ee_y]` for the pusher.
    pub proprio: Vec<f32>,
    /// The task in words.
    pub instruction: String,
}

/// Privileged facts about the current step, for rewards, logging and auxiliary losses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepInfo {
    /// Whether every sub-goal has been reached.
    pub success: bool,
    /// Index of the current sub-goal (= `num_subtasks` when complete).
    pub subtask_index: usize,
    pub num_subtasks: usize,
    /// Where the gripper should act next, world metres.
    pub affordance: [f32; 2],
    /// The same point in image pixel coordinates (u right, v down).
    pub affordance_px: [f32; 2],
    /// Dense progress in `[0, 1]`, whatever the reward mode.
    pub dense_reward: f32,
    /// Control steps taken in this episode.
    pub step: u32,
}

/// The result of one step, as in Gymnasium.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    pub obs: Observation,
    pub reward: f32,
    /// The task succeeded (the episode is over).
    pub terminated: bool,
    /// The step limit was reached without success.
    pub truncated: bool,
    pub info: StepInfo,
}

#[derive(Clone)]
struct Episode {
    world: World,
    progress: TaskProgress,
    instruction: String,
    /// With the `subgoals` variation: the instruction of each sub-goal alone, in order.
    subgoal_instructions: Vec<String>,
    seed: u64,
    steps: u32,
}

impl Episode {
    /// Applies `action` for one control step; returns (success, truncated).
    fn advance(
        &mut self,
        action: &Action,
        space: ActionSpace,
        max_steps: u32,
    ) -> Result<(bool, bool), SimError> {
        let cmd = self.world.body().command(&action.0, space)?;
        self.world.apply(cmd);
        self.steps += 1;
        let success = self.progress.update(&self.world);
        Ok((success, !success && self.steps >= max_steps))
    }

    /// The instruction the policy reads now: the whole task's, or with the `subgoals`
    /// variation the current sub-goal's (the last one's once all are done).
    fn current_instruction(&self) -> &str {
        language::current_instruction(
            &self.instruction,
            &self.subgoal_instructions,
            self.progress.index(),
        )
    }
}

/// One task instance with its world. Build with [`Env::new`], then [`Env::reset`].
pub struct Env {
    suite_name: String,
    task: TaskSpec,
    jitter: f32,
    embodiment: EmbodimentKind,
    arm: Option<ArmConfig>,
    action_space: ActionSpace,
    config: EnvConfig,
    renderer: Renderer,
    episode: Option<Episode>,
}

impl Env {
    /// An environment for task `task_name` of `suite`.
    pub fn new(suite: &Suite, task_name: &str, config: EnvConfig) -> Result<Env, SimError> {
        let task = suite.task(task_name)?.clone();
        let (embodiment, arm) = if config.variations.unseen_embodiment {
            if !suite.embodiment.has_gripper() {
                return Err(SimError::InvalidConfig(format!(
                    "variation unseen-embodiment needs an arm suite, `{}` uses {}",
                    suite.name,
                    suite.embodiment.name()
                )));
            }
            (EmbodimentKind::Arm4, None)
        } else {
            (suite.embodiment, suite.arm.clone())
        };
        let action_space = config.action_space.unwrap_or(suite.action_space);
        embodiment.action_dim(action_space)?;
        let renderer = Renderer::new(config.image_size, config.image_size)?;
        Ok(Env {
            suite_name: suite.name.clone(),
            task,
            jitter: suite.jitter,
            embodiment,
            arm,
            action_space,
            config,
            renderer,
            episode: None,
        })
    }

    /// Shorthand for a built-in suite (or a `.toml` path) and a task name.
    pub fn from_names(suite: &str, task: &str, config: EnvConfig) -> Result<Env, SimError> {
        Env::new(&Suite::resolve(suite)?, task, config)
    }

    /// Starts an episode: samples the layout, instruction and appearance from `seed`.
    pub fn reset(&mut self, seed: u64) -> Result<Observation, SimError> {
        let mut scene = scene::sample_layout(&self.task.layout_request(self.jitter), seed)
            .ok_or_else(|| SimError::Layout {
                task: self.task.name.clone(),
                seed,
            })?;
        let task_objects = scene.objects.len();
        let v = self.config.variations;
        if v.distractors {
            scene::add_distractors(&mut scene, 2, &mut episode_rng(seed, stream::DISTRACTORS));
        }
        let instruction = language::instruction(
            &self.task.goals,
            self.task.phrasing,
            &scene.objects[..task_objects],
            &scene.pads,
            v.paraphrase,
            &mut episode_rng(seed, stream::INSTRUCTION),
        );
        let subgoal_instructions = match v.subgoals {
            false => Vec::new(),
            true => (0..self.task.goals.len())
                .map(|i| {
                    language::instruction(
                        &self.task.goals[i..=i],
                        language::Phrasing::Steps,
                        &scene.objects[..task_objects],
                        &scene.pads,
                        v.paraphrase,
                        &mut episode_rng(seed, stream::SUBGOAL_INSTRUCTIONS + i as u64),
                    )
                })
                .collect(),
        };
        let world = World::new(&scene, self.embodiment, self.arm.clone());
        if self.config.render {
            let appearance = Appearance::sample(
                v.colour_shift,
                v.lighting,
                v.camera_jitter,
                &mut episode_rng(seed, stream::APPEARANCE),
            );
            self.renderer.prepare(&world, appearance);
        }
        let mut progress = TaskProgress::new(self.task.goals.clone());
        progress.update(&world);
        self.episode = Some(Episode {
            world,
            progress,
            instruction,
            subgoal_instructions,
            seed,
            steps: 0,
        });
        self.observe()
    }

    /// Applies one action for one control step.
    pub fn step(&mut self, action: &Action) -> Result<StepResult, SimError> {
        let (space, max_steps) = (self.action_space, self.task.max_steps());
        let episode = self.episode.as_mut().ok_or(SimError::NotReset)?;
        let (success, truncated) = episode.advance(action, space, max_steps)?;
        let info = self.info()?;
        let reward = if self.config.dense_reward {
            info.dense_reward
        } else if success {
            1.0
        } else {
            0.0
        };
        Ok(StepResult {
            obs: self.observe()?,
            reward,
            terminated: success,
            truncated,
            info,
        })
    }

    /// The teacher's next `len` actions from the current state: a copy of `teacher` drives a
    /// copy of the episode, nothing rendered. This is the action chunk the teacher would
    /// execute from here, what labels a state the policy reached (DAgger) the way a
    /// demonstration's next actions label its own states. Shorter than `len` when the episode
    /// would end first.
    pub fn teacher_plan(&self, teacher: &Teacher, len: usize) -> Result<Vec<Action>, SimError> {
        let mut episode = self.episode.clone().ok_or(SimError::NotReset)?;
        let mut teacher = teacher.clone();
        let mut plan = Vec::with_capacity(len);
        while plan.len() < len {
            let action = teacher.act_in(&episode.world, &episode.progress, self.action_space);
            let (success, truncated) =
                episode.advance(&action, self.action_space, self.task.max_steps())?;
            plan.push(action);
            if success || truncated {
                break;
            }
        }
        Ok(plan)
    }

    /// The current observation (renders a fresh frame).
    pub fn observe(&mut self) -> Result<Observation, SimError> {
        let episode = self.episode.as_ref().ok_or(SimError::NotReset)?;
        let mut image = Vec::new();
        if self.config.render {
            self.renderer.render(&episode.world, &mut image);
        }
        Ok(Observation {
            image,
            width: self.renderer.width(),
            height: self.renderer.height(),
            proprio: episode.world.body().proprio(),
            instruction: episode.current_instruction().to_string(),
        })
    }

    /// Facts about the current state (as returned in the last [`StepResult`]).
    pub fn info(&self) -> Result<StepInfo, SimError> {
        let episode = self.episode.as_ref().ok_or(SimError::NotReset)?;
        let affordance = episode.progress.affordance(&episode.world);
        Ok(StepInfo {
            success: episode.progress.is_complete(),
            subtask_index: episode.progress.index(),
            num_subtasks: episode.progress.goals().len(),
            affordance: affordance.into(),
            affordance_px: self.renderer.to_pixel(affordance),
            dense_reward: episode.progress.dense_reward(&episode.world),
            step: episode.steps,
        })
    }

    /// Where a world point (metres) appears in this episode's camera image (pixels, u right,
    /// v down), for drawing paths over the image.
    pub fn world_to_pixel(&self, p: [f32; 2]) -> [f32; 2] {
        self.renderer.to_pixel(super::geometry::V2::new(p[0], p[1]))
    }

    /// The world of the current episode (privileged state, for the teacher and tests).
    pub fn world(&self) -> Option<&World> {
        self.episode.as_ref().map(|e| &e.world)
    }

    /// Sub-goal progress of the current episode.
    pub fn progress(&self) -> Option<&TaskProgress> {
        self.episode.as_ref().map(|e| &e.progress)
    }

    /// The instruction the policy reads now (empty before the first reset; with the
    /// `subgoals` variation, the current sub-goal's).
    pub fn instruction(&self) -> &str {
        self.episode
            .as_ref()
            .map_or("", |e| e.current_instruction())
    }

    /// The whole task's instruction, whatever the policy reads now (empty before the first
    /// reset): what a recording names its episode by.
    pub fn task_instruction(&self) -> &str {
        self.episode.as_ref().map_or("", |e| e.instruction.as_str())
    }

    /// With the `subgoals` variation, each sub-goal's instruction in order (empty otherwise).
    pub fn subgoal_instructions(&self) -> &[String] {
        self.episode
            .as_ref()
            .map_or(&[][..], |e| &e.subgoal_instructions)
    }

    /// Seed of the current episode.
    pub fn seed(&self) -> Option<u64> {
        self.episode.as_ref().map(|e| e.seed)
    }

    /// Name of the suite this task comes from.
    pub fn suite_name(&self) -> &str {
        &self.suite_name
    }

    /// The task instance.
    pub fn task(&self) -> &TaskSpec {
        &self.task
    }

    /// The controlled body's kind.
    pub fn embodiment(&self) -> EmbodimentKind {
        self.embodiment
    }

    /// The action space in use.
    pub fn action_space(&self) -> ActionSpace {
        self.action_space
    }

    /// Length of an action vector.
    pub fn action_dim(&self) -> usize {
        self.embodiment.action_dim(self.action_space).unwrap_or(0)
    }

    /// Length of the proprioception vector.
    pub fn proprio_dim(&self) -> usize {
        self.embodiment.proprio_dim()
    }

    /// Episode step limit.
    pub fn max_steps(&self) -> u32 {
        self.task.max_steps()
    }

    /// The configuration.
    pub fn config(&self) -> &EnvConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::teacher::{Teacher, TeacherConfig};

    fn run_episode(
        suite: &str,
        task: &str,
        seed: u64,
        steps: usize,
    ) -> (Vec<Vec<u8>>, Vec<Vec<f32>>) {
        let mut env = Env::from_names(suite, task, EnvConfig::default()).unwrap();
        let mut teacher = Teacher::new(TeacherConfig {
            noise_std: 0.3,
            seed,
            ..TeacherConfig::default()
        });
        let obs = env.reset(seed).unwrap();
        let (mut frames, mut states) = (vec![obs.image], vec![env.world().unwrap().state_vector()]);
        for _ in 0..steps {
            let action = teacher.act(&env).unwrap();
            let r = env.step(&action).unwrap();
            frames.push(r.obs.image);
            states.push(env.world().unwrap().state_vector());
        }
        (frames, states)
    }

    #[test]
    fn same_seed_gives_bit_identical_episodes() {
        for (suite, task) in [("long", "place-then-push"), ("pusht", "t-upright")] {
            let a = run_episode(suite, task, 11, 60);
            let b = run_episode(suite, task, 11, 60);
            assert!(a.0 == b.0, "{suite}/{task}: frames differ");
            let bits =
                |s: &Vec<Vec<f32>>| s.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.1), bits(&b.1), "{suite}/{task}: states differ");
            let c = run_episode(suite, task, 12, 60);
            assert!(
                a.0 != c.0 && bits(&a.1) != bits(&c.1),
                "{suite}/{task}: another seed differs"
            );
        }
    }

    #[test]
    fn random_rollouts_keep_everything_on_the_table_without_tunnelling() {
        use rand::RngExt;
        let min_extent = |shape: crate::sim::ObjectShape| match shape {
            crate::sim::ObjectShape::Block | crate::sim::ObjectShape::Disc => 0.04,
            _ => 0.025,
        };
        let distractors = Variations {
            distractors: true,
            ..Variations::default()
        };
        for (suite, task) in [
            ("goal", "push-red-to-green"),
            ("long", "sort-three"),
            ("pusht", "t-far"),
        ] {
            let config = EnvConfig {
                render: false,
                variations: distractors,
                ..EnvConfig::default()
            };
            let mut env = Env::from_names(suite, task, config).unwrap();
            let dim = env.action_dim();
            let mut rng = crate::sim::scene::episode_rng(7, 99);
            for seed in 0..3 {
                env.reset(seed).unwrap();
                // Long, persistent random pushes (each direction held for 20 steps), no truncation.
                let mut action = vec![0.0; dim];
                for step in 0..1500 {
                    if step % 20 == 0 {
                        action = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
                    }
                    env.step(&Action(action.clone())).unwrap();
                    let world = env.world().unwrap();
                    let ee = world.body().ee;
                    assert!(
                        ee.x.abs() <= 0.381 && ee.y.abs() <= 0.381,
                        "effector left its workspace: {ee:?}"
                    );
                    let objects = world.placed_objects();
                    for (i, o) in objects.iter().enumerate() {
                        let p = o.pose.position();
                        assert!(
                            p.x.abs() < 0.5 && p.y.abs() < 0.5,
                            "{suite} seed {seed} step {step}: object {i} left the table at {p:?}"
                        );
                        // No tunnelling: objects on the table never sit inside each other.
                        for (j, o2) in objects.iter().enumerate().skip(i + 1) {
                            let held = world
                                .grasp()
                                .is_some_and(|g| g.object == i || g.object == j);
                            let gap = (p - o2.pose.position()).length();
                            let floor = 0.6 * (min_extent(o.shape) + min_extent(o2.shape));
                            assert!(
                                held || gap > floor,
                                "{suite} step {step}: objects {i} and {j} interpenetrate ({gap})"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bad_calls_are_typed_errors() {
        let mut env = Env::from_names("goal", "push-red-to-green", EnvConfig::default()).unwrap();
        assert_eq!(
            env.step(&Action(vec![0.0; 3])).unwrap_err(),
            SimError::NotReset
        );
        env.reset(0).unwrap();
        assert!(matches!(
            env.step(&Action(vec![f32::NAN, 0.0, 0.0])),
            Err(SimError::ActionOutOfRange { .. })
        ));
        assert!(matches!(
            env.step(&Action(vec![0.0, -1.01, 0.0])),
            Err(SimError::ActionOutOfRange { .. })
        ));
        assert!(matches!(
            env.step(&Action(vec![0.0; 5])),
            Err(SimError::ActionDims { .. })
        ));
        assert!(matches!(
            Env::from_names("nope", "x", EnvConfig::default()),
            Err(SimError::UnknownSuite { .. })
        ));
        assert!(matches!(
            Env::from_names("goal", "x", EnvConfig::default()),
            Err(SimError::UnknownTask { .. })
        ));
        let big = EnvConfig {
            image_size: 1024,
            ..EnvConfig::default()
        };
        assert!(matches!(
            Env::from_names("goal", "push-red-to-green", big),
            Err(SimError::InvalidConfig(_))
        ));
        let unseen = EnvConfig {
            variations: Variations {
                unseen_embodiment: true,
                ..Default::default()
            },
            ..EnvConfig::default()
        };
        assert!(Env::from_names("pusht", "t-upright", unseen).is_err());
        let joints = EnvConfig {
            action_space: Some(ActionSpace::JointVelocity),
            ..EnvConfig::default()
        };
        assert!(matches!(
            Env::from_names("pusht", "t-upright", joints),
            Err(SimError::UnsupportedActionSpace { .. })
        ));
    }

    #[test]
    fn observations_have_documented_shapes_and_variations_change_them() {
        let mut env = Env::from_names("object", "place-red-block", EnvConfig::default()).unwrap();
        let obs = env.reset(3).unwrap();
        assert_eq!(obs.image.len(), 64 * 64 * 3);
        assert_eq!(obs.proprio.len(), 6);
        assert_eq!(env.action_dim(), 3);
        let info = env.info().unwrap();
        assert!(info.affordance_px.iter().all(|c| (0.0..64.0).contains(c)));

        let all = EnvConfig {
            variations: Variations::all(),
            image_size: 96,
            ..EnvConfig::default()
        };
        let mut varied = Env::from_names("object", "place-red-block", all).unwrap();
        let vobs = varied.reset(3).unwrap();
        assert_eq!(vobs.image.len(), 96 * 96 * 3);
        assert_eq!(vobs.proprio.len(), 7, "arm4: 4 joints + gripper + ee");
        assert_eq!(
            varied.world().unwrap().num_objects(),
            env.world().unwrap().num_objects() + 2
        );
        assert_ne!(vobs.instruction, obs.instruction);
        let vocab = crate::sim::vocabulary();
        assert!(
            vobs.instruction
                .split(' ')
                .all(|w| vocab.iter().any(|v| v == w))
        );
    }

    /// With `subgoals`, the instruction names one sub-goal at a time and moves on as the
    /// teacher completes each; the scene is the same as without it.
    #[test]
    fn subgoal_instructions_follow_the_progress() {
        let sub = EnvConfig {
            variations: "subgoals".parse().unwrap(),
            ..EnvConfig::default()
        };
        let mut plain = Env::from_names("long", "reach-three-pads", EnvConfig::default()).unwrap();
        let mut env = Env::from_names("long", "reach-three-pads", sub).unwrap();
        let whole = plain.reset(4).unwrap();
        let first = env.reset(4).unwrap();
        assert_eq!(whole.image, first.image, "same scene");
        assert!(whole.instruction.contains("then"), "{}", whole.instruction);
        assert!(!first.instruction.contains("then"), "{}", first.instruction);
        let mut teacher = crate::sim::Teacher::new(crate::sim::TeacherConfig::default());
        let mut seen = vec![first.instruction.clone()];
        for _ in 0..env.max_steps() {
            let r = env.step(&teacher.act(&env).unwrap()).unwrap();
            if seen.last() != Some(&r.obs.instruction) {
                seen.push(r.obs.instruction.clone());
            }
            if r.terminated {
                break;
            }
        }
        assert_eq!(seen.len(), 3, "one instruction per sub-goal: {seen:?}");
        assert!(
            !Variations::all().subgoals,
            "`all` is every perturbation, not this mode"
        );
    }
}
