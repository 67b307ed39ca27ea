//! The built-in tabletop manipulation simulator.
//!
//! Praxis needs a world to post-train in that runs anywhere with no downloads. This module is
//! that world: a top-down table simulated with rapier2d (zero gravity, damping as table
//! friction, four walls), rendered with tiny-skia, with planar arms and a point pusher as
//! embodiments, LIBERO-like task suites, template instructions and a scripted teacher.
//!
//! The simulator knows no policy: it takes [`Action`]s and gives [`Observation`]s through a
//! Gymnasium-style API ([`Env::reset`], [`Env::step`]); [`VecEnv`] steps many worlds on all
//! cores.
//!
//! # Frames and units
//!
//! World coordinates are metres, +x right, +y up (away from the robot base). The table is the
//! square `[-0.5, 0.5]²` inside four walls. The camera looks straight down and shows
//! `[-VIEW_HALF, VIEW_HALF]²`, so pixel `(u, v)` grows right and *down* (see
//! [`render::world_to_pixel`]).
//!
//! # Time
//!
//! One control step is [`world::SUBSTEPS`] physics substeps of [`world::SUBSTEP_DT`] seconds
//! (25 Hz control). Few substeps keep the simulator fast: see `bench`.
//!
//! # Actions (all normalised to `[-1, 1]`)
//!
//! | embodiment | action space | dims | layout |
//! |---|---|---|---|
//! | `arm2`/`arm3`/`arm4` | `ee_delta` | 3 | `[dx, dy, gripper]`; dx, dy scaled by [`embodiment::MAX_EE_STEP`] metres; gripper > 0 closes |
//! | `arm2`/`arm3`/`arm4` | `joint_velocity` | n+1 | `[q̇1..q̇n, gripper]`; q̇ scaled by [`embodiment::MAX_JOINT_STEP`] rad per step |
//! | `pusher` | `ee_delta` | 2 | `[dx, dy]` |
//!
//! # Proprioception
//!
//! Arms: `[q1..qn, gripper (0 open, 1 closed), ee_x, ee_y]` (n+3 ≤ 7 floats). Pusher:
//! `[ee_x, ee_y]`.
//!
//! # Suites and teacher success
//!
//! Suites live in `assets/suites/*.toml` (embedded at build time; see [`suite`]). Teacher
//! success over each suite's evaluation seeds (`teacher::tests::teacher_solves_every_suite`
//! prints this table):
//!
//! | suite | tasks × seeds | teacher success | mean steps |
//! |---|---|---|---|
//! | spatial | 6 × 10 | 100% | 36 |
//! | object | 6 × 10 | 100% | 35 |
//! | goal | 7 × 10 | 100% | 31 |
//! | long | 6 × 10 | 100% | 79 |
//! | pusht | 4 × 12 | 100% | 57 |
//! | arm2-object | 6 × 10 | 100% | 34 |
//!
//! Push-T counts success at 95% coverage of the target pose, as gym-pusht. Its teacher plans
//! each push by simulating candidates in a model world (see [`push_t`]); it also solves all
//! of seeds 0–199 of every Push-T task (mean 58 steps of the 400 allowed), and every
//! evaluation seed with action noise 0.1, at about 0.25–0.5 ms per action.
//!
//! # Held-out variations
//!
//! [`Variations`]: distractors, colour shift, lighting, camera jitter, paraphrased
//! instructions, and the unseen 4-joint arm. Each draws from its own RNG stream, so switching
//! one on never changes the base layout of a seed.

pub mod bench;
pub mod embodiment;
pub mod env;
pub mod error;
pub mod geometry;
pub mod language;
pub mod push_t;
pub mod render;
pub mod scene;
pub mod suite;
pub mod task;
pub mod teacher;
pub mod vec_env;
pub mod world;

pub use embodiment::{ActionSpace, ArmConfig, EmbodimentKind};
pub use env::{Action, Env, EnvConfig, Observation, StepInfo, StepResult};
pub use error::SimError;
pub use language::vocabulary;
pub use scene::{Color, ObjectShape};
pub use suite::{Suite, TaskSpec, Variations};
pub use task::{SubGoal, TaskProgress};
pub use teacher::{Teacher, TeacherConfig};
pub use vec_env::VecEnv;
pub use world::World;
