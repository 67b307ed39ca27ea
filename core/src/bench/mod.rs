//! Benchmarks behind `praxis bench`. Timings live here, never in pass/fail tests.

pub mod data;
pub mod model;
pub mod rl;
pub mod system;
