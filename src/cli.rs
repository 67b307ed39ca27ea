//! The command-line grammar (clap). `praxis --help` is generated from the doc comments here.

use clap::{Args, Parser, Subcommand};

use crate::commands;

/// Praxis: post-train vision-language-action robot policies on any GPU or the CPU.
#[derive(Debug, Parser)]
#[command(name = "praxis", version, about, long_about = None)]
pub struct Cli {
    /// Compute backend: flex (CPU), wgpu (Vulkan/Metal/DX12) or cuda. Defaults to
    /// $BURN_DEVICE, else flex.
    #[arg(long, global = true, value_name = "BACKEND")]
    pub backend: Option<String>,

    /// The job to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the backends compiled into this build and the devices they can reach.
    Devices(commands::devices::DevicesArgs),
    /// Write a freshly initialised model checkpoint (any preset and head).
    Init(commands::init::InitArgs),
    /// Export a checkpoint's weights for other tools (SafeTensors, PyTorch layout).
    Export(commands::export::ExportArgs),
    /// Pre-train a base policy on broad scripted-teacher data (records it, then trains).
    Pretrain(commands::pretrain::PretrainArgs),
    /// Train a policy on demonstration datasets, Praxis or LeRobot v3.0 (or continue a run with
    /// --resume).
    Train(commands::train::TrainArgs),
    /// Closed-loop success of a checkpoint on a suite, with 95% confidence intervals, or
    /// open-loop action error on a LeRobot dataset's held-out episodes.
    Eval(commands::eval::EvalArgs),
    /// Run a staged curriculum (cognitive → associative → autonomous) and steer it.
    Curriculum(commands::curriculum::CurriculumArgs),
    /// Measure the post-training recipes against their baselines at equal budget
    /// (--recipes PROTOCOL), or a curriculum's stages in order against all signals at once
    /// and the stages reversed, at equal compute (--curriculum FILE).
    Report(commands::report::ReportArgs),
    /// Write a PNG frame strip or an animated GIF of a scripted-teacher episode.
    Render(commands::render::RenderArgs),
    /// Record scripted-teacher demonstrations of a suite as a dataset (Praxis or LeRobot v3.0).
    Demos(commands::demos::DemosArgs),
    /// Measure speed: the model (training and inference), the simulator, LeRobot data loading,
    /// or RL rollouts and updates.
    Bench(BenchArgs),
}

/// `praxis bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub target: BenchTarget,
}

/// Benchmark targets.
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Training samples/s at batch 32 and batch-1 inference latency, for each head.
    Model(commands::bench_model::BenchModelArgs),
    /// Simulator steps/s with and without 64x64 rendering, on one core and on all cores.
    Sim(commands::bench_sim::BenchSimArgs),
    /// LeRobot video decoding frames/s and the share of training step time spent waiting for
    /// data.
    Data(commands::bench_data::BenchDataArgs),
    /// RL rollout steps/s (GRPO sampling from the bins head) and GRPO updates/s.
    Rl(commands::bench_rl::BenchRlArgs),
}
