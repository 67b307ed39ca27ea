//! Demonstration datasets: a versioned on-disk format, a crash-safe writer, a validating
//! reader that streams training samples with action chunks, and recording of scripted-teacher
//! episodes.
//!
//! # On-disk format (`format_version` 1, and 2 with plans)
//!
//! ```text
//! DIR/
//!   meta.json                 DatasetMeta: version, shapes, normalisation stats, episode index
//!   episodes/episode_000000.bin
//!   episodes/episode_000001.bin
//!   ...
//! ```
//!
//! Each episode file is little-endian: the 8-byte magic `PRXEPIS1`, a header of `u32`s
//! (`format_version`, `length` T, `height`, `width`, `state_dim`, `action_dim`), then
//! T×H×W×3 `u8` images, T×state_dim `f32` states, T×action_dim `f32` actions, T `u32`
//! sub-task indices, T×2 `f32` affordance points (world metres), T×2 `f32` affordance points
//! (pixels), T `f32` dense rewards, and a trailing `u32` CRC-32 of every byte before it.
//! Frame t pairs the observation *before* action t with action t.
//!
//! Version 2 is version 1 plus the teacher's planned chunks ([`format::Plans`], what DAgger
//! labels a state the policy drove to with): one more header word, the plan length P, and
//! before the CRC T `u32` counts of each frame's real planned actions and T×P×action_dim `f32`
//! planned actions. A frame's chunk target is then its plan instead of the episode's next
//! actions. A dataset without plans is still written as version 1, and both are read. `meta.json` records each
//! file's byte length and CRC too, so truncation or corruption is reported with the file's
//! name.
//!
//! A dataset is written into `DIR.tmp-<pid>` and renamed to `DIR` only after `meta.json` is
//! complete, so a crash never leaves a half-written dataset that looks complete.

pub mod error;
pub mod format;
pub mod lerobot;
pub mod reader;
pub mod record;
pub mod stats;
pub mod writer;

pub use error::DataError;
pub use format::{DatasetMeta, Episode, FORMAT_VERSION};
pub use reader::{Dataset, Sample};
pub use record::{RecordOptions, record_demos, record_suite_demos};
pub use stats::FeatureStats;
pub use writer::DatasetWriter;
