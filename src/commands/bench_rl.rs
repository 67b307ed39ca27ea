//! `praxis bench rl`: RL rollout and update throughput (GRPO with the `bins` head). Prints a
//! table, then the JSON report on the last line. The work is in `praxis_core::bench::rl`.

use praxis_core::bench::rl::{RlBenchConfig, run as run_bench};
use praxis_core::device;

/// Arguments of `praxis bench rl`.
#[derive(clap::Args, Debug)]
pub struct BenchRlArgs {
    /// Model preset (a fresh network with the bins head).
    #[arg(long, default_value = "s")]
    pub preset: String,
    /// Suite whose tasks give the initial states.
    #[arg(long, default_value = "goal")]
    pub suite: String,
    /// Initial states (groups of rollouts).
    #[arg(long, default_value_t = 4)]
    pub groups: usize,
    /// Rollouts per group.
    #[arg(long, default_value_t = 8)]
    pub group_size: usize,
    /// Decisions per policy-gradient update.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Updates timed.
    #[arg(long, default_value_t = 10)]
    pub updates: usize,
}

/// Runs `praxis bench rl`.
pub fn run(args: &BenchRlArgs, backend: Option<&str>) -> anyhow::Result<()> {
    let device = device::open_requested(backend)?;
    let r = run_bench(
        &RlBenchConfig {
            preset: args.preset.clone(),
            suite: args.suite.clone(),
            groups: args.groups,
            group_size: args.group_size,
            batch_size: args.batch_size,
            updates: args.updates,
        },
        &device,
    )?;
    println!(
        "RL (GRPO, bins head): preset {}, suite {}, {} on {}",
        r.preset, r.suite, r.backend, r.device
    );
    println!("cpu: {}", r.system.cpu.summary());
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| rollouts ({} rollouts, {} control steps, {} re-plans) | {:.0} steps/s |",
        r.rollouts, r.rollout_steps, r.decisions, r.rollout_steps_per_s
    );
    println!(
        "| policy-gradient updates (batch {}) | {:.2} updates/s |",
        r.batch_size, r.updates_per_s
    );
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}
