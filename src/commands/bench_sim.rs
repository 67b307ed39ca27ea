//! `praxis bench sim`: simulator throughput with and without rendering, one env on one
//! thread and a VecEnv on all cores. Prints a table, then the JSON report on the last line.
//! All the work is in `praxis_core::sim::bench`.

use praxis_core::sim::bench::{BenchConfig, run as run_bench};

/// Arguments of `praxis bench sim`.
#[derive(clap::Args, Debug)]
pub struct BenchSimArgs {
    /// Built-in suite or a suite .toml file.
    #[arg(long, default_value = "goal")]
    pub suite: String,
    /// Task of the suite.
    #[arg(long, default_value = "push-red-to-green")]
    pub task: String,
    /// Control steps per single-environment measurement.
    #[arg(long, default_value_t = 20_000)]
    pub steps: u64,
    /// Image side for the rendered measurements.
    #[arg(long, default_value_t = 64)]
    pub image_size: u32,
    /// Environments in the VecEnv (0 = 4 per thread).
    #[arg(long, default_value_t = 0)]
    pub vec_envs: usize,
}

/// Runs `praxis bench sim`.
pub fn run(args: &BenchSimArgs) -> anyhow::Result<()> {
    let config = BenchConfig {
        suite: args.suite.clone(),
        task: args.task.clone(),
        steps: args.steps,
        image_size: args.image_size,
        vec_envs: args.vec_envs,
    };
    let r = run_bench(&config)?;
    println!(
        "simulator: {}/{}, {} substeps per control step, {}x{} images",
        r.suite, r.task, r.substeps, r.image_size, r.image_size
    );
    println!("| setting | rendered steps/s | state-only steps/s |");
    println!("|---|---|---|");
    println!(
        "| 1 env, 1 thread | {:.0} | {:.0} |",
        r.single_rendered_steps_per_s, r.single_state_steps_per_s
    );
    println!(
        "| VecEnv ({} envs, {} threads) | {:.0} | {:.0} |",
        r.vec_envs, r.threads, r.vec_rendered_steps_per_s, r.vec_state_steps_per_s
    );
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}
