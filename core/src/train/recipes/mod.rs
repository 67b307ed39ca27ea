//! Post-training recipes, one module per method, each named after the survey category it
//! belongs to (see `DESIGN.md`). A curriculum stage lists the recipes it trains with and their
//! weights; [`KNOWN`] is what a curriculum file may name.
//!
//! | recipe | category | module |
//! |---|---|---|
//! | `imitation` | embodiment awareness (action-chunk regression on teacher demonstrations) | the trainer's [`Learner`](crate::train::Learner) |
//! | `dagger` | task comprehension: interactive correction | [`dagger`] |
//! | `replay` | consolidation: earlier stages' data mixed back in | the curriculum engine |
//! | `success_band` | multi-component integration: practise the tasks whose success is 10–90% | [`success_band`] |
//! | `augment` (a transform, set in `[augment]`) | environment perception: random shift and colour jitter | [`augment`] |
//! | `affordance`, `distill` (loss terms, set in `[auxiliary]`) | environment perception: affordance-patch head; encoder kept near the base's features | [`auxiliary`] |
//! | `forward_kinematics`, `inverse_dynamics` (`[auxiliary]`) | embodiment awareness: effector from joints; actions between frames t and t+k | [`auxiliary`] |
//! | `subtask` (`[auxiliary]`) | task comprehension: current sub-goal head | [`auxiliary`] |
//! | `future_latent` (`[auxiliary]`) | multi-component integration: next frame's patch embeddings | [`auxiliary`] |
//! | `grpo` (`[rl] method = "grpo"`) | multi-component integration: RL fine-tuning with group-relative 0/1 rewards | [`grpo`] |
//! | `ppo` (`[rl] method = "ppo"`) | multi-component integration: RL fine-tuning with a value head and GAE | [`ppo`] |
//! | `dpo` (`[rl] method = "dpo"`) | task comprehension: preference optimisation over ranked pairs of the policy's rollouts | [`dpo`] |
//!
//! The three rollout recipes share [`rollouts`] (sampled rollouts of a `bins`-head policy)
//! and the round loop of [`crate::train::rl`].

pub mod augment;
pub mod auxiliary;
pub mod dagger;
pub mod dpo;
pub mod grpo;
pub mod ppo;
pub mod rollouts;
pub mod success_band;

/// Recipe names a curriculum stage may use.
pub const KNOWN: [&str; 4] = ["imitation", "dagger", "replay", "success_band"];
