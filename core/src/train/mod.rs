//! Training: configuration, learning-rate schedule, background data loading, the gradient
//! step, run directories and the training loop.

pub mod config;
pub mod ema;
pub mod finetune;
pub mod learner;
pub mod loader;
pub mod optimizer;
pub mod pretrain;
pub mod recipes;
pub mod rl;
pub mod run;
pub mod schedule;
pub mod trainer;

pub use config::TrainConfig;
pub use finetune::{FinetuneConfig, FinetuneMode};
pub use learner::{Chunks, Imitation, Learner, StepOutcome, Surrogate};
pub use optimizer::OptimizerConfig;
pub use trainer::{Progress, TrainOutcome, resume, train};
