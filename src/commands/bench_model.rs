//! `praxis bench model`: training and inference speed of a preset, per head.

use clap::Args;
use praxis_core::bench::model::{self, ModelBenchConfig};
use praxis_core::device;
use praxis_core::model::HeadKind;

use crate::progress;

/// Arguments of `praxis bench model`.
#[derive(Debug, Args)]
pub struct BenchModelArgs {
    /// Model preset (xs, s, m).
    #[arg(long, default_value = "s")]
    pub preset: String,
    /// Training batch size.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Timed training steps per head.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Timed batch-1 inferences per head.
    #[arg(long, default_value_t = 50)]
    pub inferences: usize,
    /// Heads to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "l1,flow,bins")]
    pub heads: Vec<String>,
}

/// Runs the benchmark, prints a table, then the JSON report on the last line.
pub fn run(args: &BenchModelArgs, backend: Option<&str>) -> anyhow::Result<()> {
    let heads = args
        .heads
        .iter()
        .map(|h| h.parse::<HeadKind>())
        .collect::<Result<Vec<_>, _>>()?;
    praxis_core::model::ModelConfig::preset(&args.preset, HeadKind::L1)?;
    let device = device::open_requested(backend)?;
    let config = ModelBenchConfig {
        preset: args.preset.clone(),
        batch: args.batch.max(1),
        train_steps: args.steps.max(1),
        inferences: args.inferences.max(1),
        heads,
    };
    let spinner = progress::spinner("warming up");
    let report = model::run(&config, &device, |msg| spinner.set_message(msg.to_string()))?;
    spinner.finish_and_clear();
    println!(
        "praxis bench model: preset {}, batch {}, backend {}, device {}",
        report.preset, report.batch, report.backend, report.device
    );
    println!("cpu: {}", report.system.cpu.summary());
    println!(
        "{:<5} {:>10} {:>14} {:>12} {:>14} {:>12}",
        "head", "params", "train samp/s", "step ms", "infer ms p50", "infer p95"
    );
    for h in &report.heads {
        println!(
            "{:<5} {:>10} {:>14.1} {:>12.1} {:>14.2} {:>12.2}",
            h.head.name(),
            h.params,
            h.train_samples_per_s,
            h.train_step_ms,
            h.infer_ms_median,
            h.infer_ms_p95
        );
    }
    if let Some(mib) = report.peak_rss_mib {
        println!("peak resident memory: {mib:.0} MiB");
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
