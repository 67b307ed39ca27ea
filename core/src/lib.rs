//! # praxis-core
//!
//! Everything headless in Praxis (see `DESIGN.md` at the workspace's shared root): the VLA
//! policy model, backend selection, checkpoints and export, the tabletop simulator with its
//! scripted teacher and task suites, demonstration datasets, training steps and benchmarks.
//! Nothing here knows a screen or a command line; the `praxis` CLI and the desktop app are two
//! faces on the same library.

pub mod atomic;
pub mod bench;
pub mod checkpoint;
pub mod cpu;
pub mod curriculum;
pub mod data;
pub mod device;
pub mod error;
pub mod eval;
pub mod export;
pub mod model;
pub mod open_loop;
pub mod report;
pub mod sim;
pub mod telemetry;
pub mod train;

pub use error::{Error, Result};

/// The Burn version this build links (recorded with every run and checkpoint).
pub const BURN_VERSION: &str = "0.22.1";
/// This crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
