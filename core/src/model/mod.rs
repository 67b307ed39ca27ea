//! The VLA policy model (DESIGN.md, "The model"): configuration and presets, the instruction
//! tokenizer, the network and its three action heads, and the batches it reads.
//!
//! The model sees tensors only: it knows no simulator and no trainer.

mod attention;
mod block;
pub mod config;
pub mod heads;
pub mod input;
pub mod params;
pub mod policy;
pub mod tokenizer;

pub use config::{HeadKind, ModelConfig};
pub use input::{
    ActionTargets, AuxiliarySample, AuxiliaryTargets, HostBatch, Observation, PolicyInput,
};
pub use policy::{Encoding, Policy};
pub use tokenizer::Tokenizer;
