//! Typed errors of the simulator: every bad input becomes one of these, never a panic.

use thiserror::Error;

/// Why a simulator call was refused. Each message is one line, fit to print as-is.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SimError {
    /// The suite name is not one of the built-in suites.
    #[error("unknown suite `{name}` (known: {known})")]
    UnknownSuite { name: String, known: String },
    /// The task name is not in the suite.
    #[error("unknown task `{name}` in suite `{suite}` (known: {known})")]
    UnknownTask {
        suite: String,
        name: String,
        known: String,
    },
    /// The embodiment name is not one of `arm2`, `arm3`, `arm4`, `pusher`.
    #[error("unknown embodiment `{0}` (known: arm2, arm3, arm4, pusher)")]
    UnknownEmbodiment(String),
    /// A held-out variation name was not recognised.
    #[error(
        "unknown variation `{0}` (known: distractors, colour-shift, lighting, camera-jitter, paraphrase, unseen-embodiment, subgoals)"
    )]
    UnknownVariation(String),
    /// The suite file could not be read.
    #[error("cannot read suite file {path}: {reason}")]
    SuiteIo { path: String, reason: String },
    /// The suite TOML is malformed or inconsistent.
    #[error("invalid suite `{suite}`: {reason}")]
    InvalidSuite { suite: String, reason: String },
    /// The action has the wrong number of dimensions for the embodiment and action space.
    #[error("action has {got} dims, expected {expected} for {embodiment} with {space}")]
    ActionDims {
        got: usize,
        expected: usize,
        embodiment: String,
        space: String,
    },
    /// An action component is NaN, infinite or outside `[-1, 1]`.
    #[error("action component {index} = {value} is outside [-1, 1] or not finite")]
    ActionOutOfRange { index: usize, value: f32 },
    /// The embodiment cannot be driven in this action space.
    #[error("embodiment {embodiment} does not support action space {space}")]
    UnsupportedActionSpace { embodiment: String, space: String },
    /// `step` was called before `reset`.
    #[error("step called before reset")]
    NotReset,
    /// No valid object layout could be sampled for this task and seed.
    #[error("could not place the objects of task `{task}` for seed {seed}")]
    Layout { task: String, seed: u64 },
    /// The configuration (image size, env count, …) is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Writing an image or animation failed.
    #[error("cannot write {path}: {reason}")]
    Output { path: String, reason: String },
}
