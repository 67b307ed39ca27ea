//! `praxis report --curriculum`: the curriculum ablation (staged vs all signals at once vs
//! stages reversed, at equal compute), written as a markdown table with its JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use praxis_core::curriculum::CurriculumSpec;
use praxis_core::curriculum::ablation::{self, Variant};
use praxis_core::{atomic, device};

use crate::progress;

/// Budget scale of `--quick`.
const QUICK_SCALE: f64 = 0.25;

/// Arguments of `praxis report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Curriculum file to ablate (e.g. assets/curricula/default.toml).
    #[arg(long)]
    pub curriculum: PathBuf,
    /// Report directory: one run per variant, then `curriculum-ablation.md` and `.json`.
    /// Running again on the same directory continues unfinished variants and reuses finished
    /// ones.
    #[arg(long)]
    pub out: PathBuf,
    /// Every stage budget × 0.25 (a quarter of the compute).
    #[arg(long, conflicts_with = "scale")]
    pub quick: bool,
    /// Every stage budget × this factor (default 1: the curriculum's own budgets).
    #[arg(long)]
    pub scale: Option<f64>,
}

/// Runs the ablation's variants one after another and writes the table.
pub fn run(args: &ReportArgs, backend: Option<&str>) -> anyhow::Result<()> {
    let spec = CurriculumSpec::load(&args.curriculum)?;
    let scale = match (args.quick, args.scale) {
        (true, _) => QUICK_SCALE,
        (false, Some(s)) if s.is_finite() && s > 0.0 && s <= 10.0 => s,
        (false, Some(s)) => anyhow::bail!("--scale must be in (0, 10], got {s}"),
        (false, None) => 1.0,
    };
    // checked before anything trains: every variant's curriculum must be valid
    for variant in Variant::ALL {
        variant.derive(&spec, scale).validate()?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.out.display()))?;
    let mut results = Vec::new();
    for variant in Variant::ALL {
        let bar = progress::bar(0, variant.name());
        let outcome = ablation::run_variant(
            &ablation::variant_dir(&args.out, variant),
            &spec,
            variant,
            scale,
            &|| Ok(device::open_requested(backend)?),
            &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            },
            &|| stop.load(Ordering::Relaxed),
        )?;
        bar.finish_and_clear();
        match outcome {
            Some(result) => {
                eprintln!(
                    "{}: {:.1}% nominal, {:.1}% perturbed after {} updates",
                    result.variant,
                    100.0 * result.nominal.success_rate,
                    100.0 * result.perturbed.success_rate,
                    result.updates
                );
                results.push(result);
            }
            None => {
                println!(
                    "stopped during '{}'; run the same command again to continue",
                    variant.name()
                );
                return Ok(());
            }
        }
    }
    let markdown = ablation::to_markdown(&spec, scale, &results);
    atomic::write_file(
        &args.out.join("curriculum-ablation.json"),
        serde_json::to_string_pretty(&results)?.as_bytes(),
    )?;
    atomic::write_file(
        &args.out.join("curriculum-ablation.md"),
        markdown.as_bytes(),
    )?;
    print!("{markdown}");
    Ok(())
}
