//! `praxis eval`: closed-loop success of a checkpoint on a suite's evaluation seeds, or
//! open-loop action error on a LeRobot dataset's held-out episodes.

use std::path::PathBuf;

use clap::Args;
use praxis_core::data::lerobot::{self, LeRobotDataset, LeRobotSource, Split};
use praxis_core::eval::{self, EvalOptions};
use praxis_core::sim::{Suite, Variations};
use praxis_core::{atomic, checkpoint, device, open_loop};

use crate::progress;

/// Arguments of `praxis eval`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("on").required(true).args(["suite", "dataset"]))]
pub struct EvalArgs {
    /// Checkpoint directory.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Built-in suite (spatial, object, goal, long, pusht) or a suite .toml file.
    #[arg(long)]
    pub suite: Option<String>,
    /// LeRobot v3.0 dataset to measure open-loop action error on (through the mapping saved
    /// with the checkpoint).
    #[arg(long, conflicts_with = "suite")]
    pub dataset: Option<PathBuf>,
    /// With `--dataset`: which episodes (held-out, train, all).
    #[arg(long, default_value = "held-out")]
    pub episodes: String,
    /// Held-out variations (distractors, colour-shift, lighting, camera-jitter, paraphrase,
    /// unseen-embodiment, all, none), comma-separated; `subgoals` gives the policy one
    /// sub-goal's instruction at a time (not part of `all`).
    #[arg(long, default_value = "none")]
    pub variations: String,
    /// Actions executed from each predicted chunk before re-planning.
    #[arg(long, default_value_t = 4)]
    pub execute_steps: usize,
    /// Directory for `eval-<suite>.json` and `.md`, or `eval-open-loop.json` and `.md` with
    /// `--dataset` (default: print only).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With `--suite` and `--out`: save the first N episodes of every task as GIFs in
    /// `OUT/rollouts/`, named by task, seed and outcome.
    #[arg(long, default_value_t = 0, requires = "out")]
    pub gifs: usize,
}

/// Runs the evaluation and prints the markdown report.
pub fn run(args: &EvalArgs, backend: Option<&str>) -> anyhow::Result<()> {
    if let Some(dataset) = &args.dataset {
        return run_open_loop(args, dataset, backend);
    }
    let suite = Suite::resolve(args.suite.as_deref().unwrap_or_default())?;
    let variations: Variations = args.variations.parse()?;
    let device = device::open_requested(backend)?;
    let ckpt = checkpoint::load(&args.checkpoint, &device.device)?;
    if let Some(mapping) = &ckpt.meta.data_mapping {
        anyhow::bail!(
            "checkpoint {} was trained on the LeRobot dataset {:?} through its own normalisation; the simulator's observations and actions are not mapped that way, so measure it with --dataset",
            args.checkpoint.display(),
            mapping.dataset
        );
    }
    let options = EvalOptions {
        execute_steps: args.execute_steps,
        variations,
        record_per_task: args.gifs,
        ..EvalOptions::default()
    };
    let bar = progress::bar(0, "episodes");
    let report = eval::evaluate(
        &ckpt.policy,
        &ckpt.meta.tokenizer,
        &suite,
        &options,
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    if let (Some(out), false) = (&args.out, report.rollouts.is_empty()) {
        let dir = out.join("rollouts");
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        for rollout in &report.rollouts {
            rollout.write_gif(&dir.join(rollout.file_name()), 2)?;
        }
        eprintln!(
            "wrote {} rollout GIFs to {}",
            report.rollouts.len(),
            dir.display()
        );
    }
    let name = format!("eval-{}", report.suite);
    write_report(
        args.out.as_deref(),
        &name,
        &serde_json::to_string_pretty(&report)?,
        &report.to_markdown(),
    )
}

fn run_open_loop(
    args: &EvalArgs,
    dataset: &std::path::Path,
    backend: Option<&str>,
) -> anyhow::Result<()> {
    let split: Split = args.episodes.parse()?;
    let meta = checkpoint::load_meta(&args.checkpoint)?;
    let mapping = match meta.data_mapping.clone() {
        Some(mapping) => mapping,
        None => {
            // A checkpoint not trained on this dataset (e.g. the base before post-training):
            // the default mapping, which is what `[data.lerobot]` with only `dir` resolves to.
            let ds = LeRobotDataset::open(dataset)?;
            eprintln!(
                "note: {} has no saved data mapping; using the default (first camera, mean-std normalisation, last 10% of episodes held out)",
                args.checkpoint.display()
            );
            let source = LeRobotSource::new(dataset.to_path_buf());
            lerobot::resolve_mapping(&ds, &source, &meta.model)?
        }
    };
    let device = device::open_requested(backend)?;
    let ckpt = checkpoint::load(&args.checkpoint, &device.device)?;
    let bar = progress::bar(0, "frames");
    let report = open_loop::evaluate(
        &ckpt.policy,
        &ckpt.meta.tokenizer,
        &mapping,
        dataset,
        split,
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    write_report(
        args.out.as_deref(),
        "eval-open-loop",
        &serde_json::to_string_pretty(&report)?,
        &report.to_markdown(),
    )
}

/// Prints the markdown report, and writes it with its JSON (`json`) as `NAME.md` / `NAME.json` in `out`.
fn write_report(
    out: Option<&std::path::Path>,
    name: &str,
    json: &str,
    markdown: &str,
) -> anyhow::Result<()> {
    if let Some(dir) = out {
        atomic::write_file(&dir.join(format!("{name}.json")), json.as_bytes())?;
        atomic::write_file(&dir.join(format!("{name}.md")), markdown.as_bytes())?;
    }
    print!("{markdown}");
    Ok(())
}
