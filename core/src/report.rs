//! The recipe report behind `praxis report --recipes`: a fixed protocol (a TOML file, e.g.
//! `assets/report/recipes.toml`) lists runs — each a training config or a curriculum, trained
//! for one or more seeds, then evaluated closed-loop on the suites it targets — and each run
//! names the baseline it is compared with at the same budget. The report is a markdown table
//! (and its JSON): success with its 95% interval per suite, the baseline's, the difference,
//! updates, trainable parameters, teacher-labelled samples and wall time on this machine.
//!
//! Runs are trained in protocol order, one or several at a time (`--jobs`); a run may start
//! from another run's final checkpoint (`init_from`, same seed), e.g. GRPO on top of
//! imitation, and then waits for it. Every (run, seed) has its own
//! directory and writes its result there last, so a stopped report continues where it left
//! off and finished runs are reused (while their [`fingerprint`] holds). `--quick` scales
//! every budget and keeps only each run's first seed: the same protocol, far less compute,
//! much wider intervals.
//!
//! The parts: `protocol` (the file and the budget), `fingerprint` (what a result was trained
//! from), `plan` (a report directory: what has finished, and training the rest, `--jobs` at a
//! time through `jobs`), `train` (one pair), `result` (what a pair writes) and `table` (the
//! markdown).

mod fingerprint;
mod jobs;
mod plan;
mod protocol;
mod result;
mod table;
mod train;

pub use fingerprint::fingerprint;
pub use plan::{FINGERPRINT_FILE, Plan};
pub use protocol::{Budget, EvalTarget, Protocol, RunSpec};
pub use result::{RESULT_FILE, SeedResult, TargetResult, seed_dir};
pub use table::{Pooled, pooled, reuse_warning, to_markdown};

/// Results and a protocol for the modules' tests.
#[cfg(test)]
mod fixtures {
    use std::path::PathBuf;

    use super::{Protocol, SeedResult, TargetResult};

    /// A result of `run`'s `seed`: `successes` of 10 episodes on `long`.
    pub fn result(run: &str, seed: u64, successes: usize, subgoals: Option<f64>) -> SeedResult {
        SeedResult {
            run: run.into(),
            seed,
            updates: 100,
            train_seconds: 60.0,
            resumed: false,
            params: (10, 100),
            teacher_labels: 1000,
            targets: vec![TargetResult {
                target: "long".into(),
                successes,
                episodes: 10,
                subgoals_done: subgoals,
            }],
            checkpoint: PathBuf::from("x"),
            budget_scale: 1.0,
            fingerprint: None,
            jobs: 1,
            cpu: None,
        }
    }

    /// `base` (imitation, seed 0), then `rl` (seeds 0 and 1) compared with it, both on `long`;
    /// the configs are not read.
    pub fn protocol() -> Protocol {
        toml::from_str(
            r#"
            name = "t"
            [[runs]]
            name = "base"
            recipe = "imitation"
            category = "baseline"
            config = "a.toml"
            eval = [{ suite = "long" }]
            [[runs]]
            name = "rl"
            recipe = "grpo"
            category = "multi-component integration"
            config = "b.toml"
            seeds = [0, 1]
            baseline = "base"
            eval = [{ suite = "long" }]
            "#,
        )
        .unwrap()
    }
}
