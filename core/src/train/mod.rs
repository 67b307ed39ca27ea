//! Training: the optimizer and the gradient step. (The full trainer with schedules, runs and
//! recipes builds on these.)

pub mod learner;
pub mod optimizer;

pub use learner::{Learner, StepOutcome};
pub use optimizer::OptimizerConfig;
