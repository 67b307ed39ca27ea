//! The motor-learning curriculum: stages (cognitive → associative → autonomous, after Fitts
//! and Posner) with their training signals, Newell's task / environment / embodiment
//! constraints, and measured gates; and the engine that runs them, emitting telemetry for the
//! app and the CLI.

pub mod ablation;
pub mod engine;
pub mod gate;
pub mod probe;
pub mod spec;

pub use engine::{Engine, EngineOptions, EngineState, GateOutcome, StageRecord, Tick};
pub use gate::{StageMeasurements, SuccessPoint};
pub use spec::{CurriculumSpec, GateSpec, StageSpec};
