//! `praxis report`: the recipe report (`--recipes PROTOCOL`: every recipe against its
//! baseline at the same budget) or the curriculum ablation (`--curriculum FILE`: staged vs all
//! signals at once vs stages reversed, at equal compute), each written as a markdown table with
//! its JSON.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use praxis_core::curriculum::CurriculumSpec;
use praxis_core::curriculum::ablation::{self, Variant};
use praxis_core::report::{self, Budget, Plan, Protocol};
use praxis_core::{atomic, device};

use crate::progress;

/// Budget scale of `--quick`.
const QUICK_SCALE: f64 = 0.25;

/// Arguments of `praxis report`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["curriculum", "recipes"]))]
pub struct ReportArgs {
    /// Recipe protocol to run (e.g. assets/report/recipes.toml).
    #[arg(long)]
    pub recipes: Option<PathBuf>,
    /// Curriculum file to ablate (e.g. assets/curricula/default.toml).
    #[arg(long)]
    pub curriculum: Option<PathBuf>,
    /// Report directory: one run per variant (or per recipe run and seed), then
    /// `curriculum-ablation.md` (or `recipes.md`) and its `.json`. Running again on the same
    /// directory continues unfinished runs and reuses finished ones (recipes: refused
    /// when their config, curriculum or eval targets changed since, or, below the full
    /// budget, the rule that scales a curriculum).
    #[arg(long)]
    pub out: PathBuf,
    /// A quarter of every stage budget (curriculum), or 7% of every run's updates (and of
    /// its curriculum's evaluation interval; each stage keeps its number of corrected rounds)
    /// and only its first seed (recipes).
    #[arg(long, conflicts_with = "scale")]
    pub quick: bool,
    /// Every stage budget × this factor (default 1: the curriculum's own budgets); with
    /// `--recipes`, every run's updates and curricula's evaluation interval, and every seed.
    #[arg(long)]
    pub scale: Option<f64>,
    /// With `--recipes`: only these runs (comma-separated names) and the runs they start
    /// from or are compared with, e.g. `--only arm4-lora` to retrain the arm block.
    #[arg(long, requires = "recipes", value_delimiter = ',', value_name = "RUN")]
    pub only: Vec<String>,
    /// With `--recipes`: train nothing; print the table of the runs finished so far in
    /// `--out` (a report in progress) and write it as `recipes-partial.md`.
    #[arg(long, requires = "recipes")]
    pub table: bool,
    /// With `--recipes`: train this many (run, seed) pairs at a time, each on its share of
    /// the CPU threads (a pair that starts from another waits for it). Results do not depend
    /// on it; on a 2-core CPU `--jobs 2` finishes the protocol sooner, since one training
    /// keeps two cores only ~15% busier than one.
    #[arg(long, requires = "recipes", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

/// Runs the report the arguments ask for.
pub fn run(args: &ReportArgs, backend: Option<&str>) -> anyhow::Result<()> {
    match (&args.recipes, &args.curriculum) {
        (Some(protocol), _) => run_recipes(args, protocol, backend),
        (None, Some(curriculum)) => run_ablation(args, curriculum, backend),
        (None, None) => anyhow::bail!("pass --recipes PROTOCOL or --curriculum FILE"),
    }
}

/// Trains and evaluates the protocol's runs (`--jobs` at a time) and writes the table.
fn run_recipes(args: &ReportArgs, protocol: &Path, backend: Option<&str>) -> anyhow::Result<()> {
    let protocol = match Protocol::load(protocol)? {
        full if args.only.is_empty() => full,
        full => full.only(&args.only)?,
    };
    let budget = match (args.quick, args.scale) {
        (true, _) => Budget::QUICK,
        (false, Some(s)) if s.is_finite() && s > 0.0 && s <= 10.0 => Budget {
            scale: s,
            first_seed_only: false,
        },
        (false, Some(s)) => anyhow::bail!("--scale must be in (0, 10], got {s}"),
        (false, None) => Budget::FULL,
    };
    if args.table {
        return write_partial_table(&protocol, &args.out, budget);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.out.display()))?;
    let plan = Plan::new(&protocol, &args.out, budget)?;
    let here = praxis_core::cpu::CpuInfo::current().summary();
    if let Some(warning) = report::reuse_warning(&plan.finished(), &here) {
        eprintln!("{warning}");
    }
    let jobs = usize::from(args.jobs);
    let bars = indicatif::MultiProgress::new();
    let job_bars: Vec<_> = (0..jobs)
        .map(|_| bars.add(progress::bar(0, "waiting")))
        .collect();
    let started = std::time::Instant::now();
    let results = plan.train(
        jobs,
        &|| device::open_requested(backend),
        &|job, run, seed| {
            job_bars[job].set_position(0);
            job_bars[job].set_message(format!("{run} seed {seed}"));
        },
        &|job, done, total| {
            job_bars[job].set_length(total);
            job_bars[job].set_position(done);
        },
        &stop,
    )?;
    for bar in &job_bars {
        bar.finish_and_clear();
    }
    let Some(results) = results else {
        println!("stopped; run the same command again to continue");
        return Ok(());
    };
    let markdown = report::to_markdown(&protocol, budget, &results);
    atomic::write_file(
        &args.out.join("recipes.json"),
        serde_json::to_string_pretty(&results)?.as_bytes(),
    )?;
    atomic::write_file(&args.out.join("recipes.md"), markdown.as_bytes())?;
    print!("{markdown}");
    eprintln!(
        "report written to {} ({:.1} min in this call)",
        args.out.join("recipes.md").display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// `--table`: the table of what a report directory holds so far.
fn write_partial_table(protocol: &Protocol, out: &Path, budget: Budget) -> anyhow::Result<()> {
    if !out.is_dir() {
        anyhow::bail!("no report directory at {}", out.display());
    }
    let plan = Plan::new(protocol, out, budget)?;
    let (results, pending) = (plan.finished(), plan.pending());
    let markdown = format!(
        "{}\n{} of {} (run, seed) pairs finished; {pending} still to train.\n",
        report::to_markdown(protocol, budget, &results),
        results.len(),
        results.len() + pending
    );
    atomic::write_file(&out.join("recipes-partial.md"), markdown.as_bytes())?;
    print!("{markdown}");
    Ok(())
}

/// Runs the ablation's variants one after another and writes the table.
fn run_ablation(args: &ReportArgs, curriculum: &Path, backend: Option<&str>) -> anyhow::Result<()> {
    let spec = CurriculumSpec::load(curriculum)?;
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
            &|| device::open_requested(backend),
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
