//! `praxis curriculum`: run a staged curriculum, look at where it stands, and steer it (step,
//! advance, rewind) from the command line — the same engine and events the app uses.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use clap::{Args, Subcommand};
use praxis_core::curriculum::engine::{events_path, read_run_state};
use praxis_core::curriculum::{CurriculumSpec, Engine, EngineOptions, GateOutcome};
use praxis_core::device;
use praxis_core::telemetry::{Event, GateStatus, read_timed_log, stage_seconds};

use crate::progress;

/// Arguments of `praxis curriculum`.
#[derive(Debug, Args)]
pub struct CurriculumArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CurriculumAction,
}

/// `praxis curriculum` actions.
#[derive(Debug, Subcommand)]
pub enum CurriculumAction {
    /// Start a curriculum run (or continue one with --resume) and train through its stages.
    Run {
        /// Curriculum file (see `assets/curricula/`).
        #[arg(long, requires = "out", conflicts_with = "resume")]
        curriculum: Option<PathBuf>,
        /// Run directory to create.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue the curriculum run in this directory from its newest checkpoint.
        #[arg(long)]
        resume: Option<PathBuf>,
    },
    /// Show a run's stage timeline (with each stage's wall time), its current stage and the last gate verdict.
    Status {
        /// Curriculum run directory.
        run: PathBuf,
    },
    /// Run N more updates of the current stage (evaluating the gate at its usual interval).
    Step {
        /// Curriculum run directory.
        run: PathBuf,
        /// Updates to run.
        n: u64,
    },
    /// Leave the current stage now, whatever its gate says.
    Advance {
        /// Curriculum run directory.
        run: PathBuf,
    },
    /// Go back to one of the run's checkpoints (stage, data and weights as they were).
    Rewind {
        /// Curriculum run directory.
        run: PathBuf,
        /// Update count of the checkpoint to go back to.
        #[arg(long)]
        to: u64,
    },
}

/// Runs a `praxis curriculum` action.
pub fn run(args: &CurriculumArgs, backend: Option<&str>) -> anyhow::Result<()> {
    match &args.action {
        CurriculumAction::Status { run } => status(run),
        CurriculumAction::Run {
            curriculum,
            out,
            resume,
        } => {
            let stop = Arc::new(AtomicBool::new(false));
            for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(signal, stop.clone())?;
            }
            let (mut engine, printer) = match (curriculum, out, resume) {
                (Some(file), Some(out), _) => {
                    let spec = CurriculumSpec::load(file)?;
                    let device = device::open_requested(backend)?;
                    let (tx, printer) = printer();
                    eprintln!("recording demonstrations of '{}'...", spec.suite);
                    let engine =
                        Engine::create(out, spec, device, Some(tx), EngineOptions::default())?;
                    (engine, printer)
                }
                (None, _, Some(dir)) => open(dir, backend)?,
                _ => anyhow::bail!("give --curriculum FILE --out DIR, or --resume DIR"),
            };
            engine.resume()?;
            let outcome = engine.run(&|| stop.load(Ordering::Relaxed))?;
            engine.pause()?;
            let state = engine.state().clone();
            let dir = engine.run_dir().to_path_buf();
            drop(engine);
            let _ = printer.join();
            match outcome {
                GateOutcome::Open => println!(
                    "curriculum complete after {} updates; run {}",
                    state.step,
                    dir.display()
                ),
                GateOutcome::BudgetSpent => println!(
                    "stage '{}' spent its budget with its gate shut (step {}); decide with \
                     `praxis curriculum advance|rewind {}`",
                    state.history.last().map_or("?", |r| r.name.as_str()),
                    state.step,
                    dir.display()
                ),
                GateOutcome::Interrupted => {
                    println!("stopped at step {}; continue with --resume", state.step)
                }
            }
            Ok(())
        }
        CurriculumAction::Step { run, n } => {
            let (mut engine, printer) = open(run, backend)?;
            engine.resume()?;
            engine.step(*n)?;
            engine.pause()?;
            drop(engine);
            let _ = printer.join();
            status(run)
        }
        CurriculumAction::Advance { run } => {
            let (mut engine, printer) = open(run, backend)?;
            engine.advance()?;
            drop(engine);
            let _ = printer.join();
            status(run)
        }
        CurriculumAction::Rewind { run, to } => {
            // checked before the engine (and a device) is opened
            read_run_state(run)?;
            if !praxis_core::train::run::RunDir::open(run)?
                .checkpoint_path(*to)
                .is_dir()
            {
                anyhow::bail!(
                    "{} has no checkpoint at step {to} (see `praxis curriculum status`)",
                    run.display()
                );
            }
            let (mut engine, printer) = open(run, backend)?;
            let target = engine
                .checkpoints()
                .into_iter()
                .find(|(step, _)| step == to)
                .map(|(_, path)| path)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} has no checkpoint at step {to} (see `praxis curriculum status`)",
                        run.display()
                    )
                })?;
            engine.rewind(&target)?;
            drop(engine);
            let _ = printer.join();
            status(run)
        }
    }
}

fn open(
    dir: &Path,
    backend: Option<&str>,
) -> anyhow::Result<(Engine, std::thread::JoinHandle<()>)> {
    // Checked first so a wrong directory is reported before a device is opened.
    read_run_state(dir)?;
    let device = device::open_requested(backend)?;
    let (tx, printer) = printer();
    let engine = Engine::open(dir, device, Some(tx), EngineOptions::default())?;
    Ok((engine, printer))
}

/// Prints the run's events as they come: stage changes, evaluations and gate verdicts as
/// lines, training progress on a bar.
fn printer() -> (mpsc::Sender<Event>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Event>();
    let handle = std::thread::spawn(move || {
        let bar = progress::bar(0, "training");
        // without a terminal the bar is hidden and its println drops lines: print them plainly
        let say = |line: String| {
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        };
        // an opened run first replays its history to the listener; print only what is new
        let mut started = false;
        for event in rx {
            if !started {
                started = matches!(event, Event::Started { .. });
                continue;
            }
            match event {
                Event::Metrics { line, .. } => {
                    bar.set_position(line.step);
                    bar.set_length(bar.length().unwrap_or(0).max(line.step));
                    bar.set_message(format!("loss {:.4}", line.loss));
                }
                Event::StageEntered { stage, name, step } => {
                    say(format!("step {step}: entered stage {} ({name})", stage + 1))
                }
                Event::StageLeft {
                    name, step, reason, ..
                } => say(format!("step {step}: left stage {name} ({reason})")),
                Event::Evaluation {
                    step,
                    suite,
                    perturbed,
                    success,
                    ci95,
                    episodes,
                    ..
                } => say(format!(
                    "step {step}: {suite}{} success {:.1}% [{:.1}, {:.1}] over {episodes} episodes",
                    if perturbed { " (perturbed)" } else { "" },
                    100.0 * success,
                    100.0 * ci95[0],
                    100.0 * ci95[1]
                )),
                Event::Interventions {
                    step,
                    rate,
                    labelled,
                    triggers,
                    ..
                } => say(format!(
                    "step {step}: corrected rollouts: {labelled} labelled steps, teacher drove \
                     {:.1}%, {} takeovers ({} on the gripper alone) in {} rollouts, {} of them \
                     completed",
                    100.0 * rate,
                    triggers.count,
                    triggers.grip_only,
                    triggers.rollouts,
                    triggers.rollouts_succeeded
                )),
                Event::Gate(gate) => say(format!("step {}: {}", gate.step, gate_line(&gate))),
                Event::Completed { step } => say(format!("step {step}: complete")),
                Event::Rewound { step, stage } => {
                    say(format!("rewound to step {step} (stage {})", stage + 1))
                }
                _ => {}
            }
        }
        bar.finish_and_clear();
    });
    (tx, handle)
}

fn gate_line(gate: &GateStatus) -> String {
    let criteria: Vec<String> = gate
        .criteria
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {:.3} ({})",
                c.name,
                c.value.map_or("-".into(), |v| format!("{v:.3}")),
                c.comparison,
                c.threshold,
                if c.met { "met" } else { "not met" }
            )
        })
        .collect();
    format!(
        "gate {}: {}",
        if gate.open { "OPEN" } else { "shut" },
        criteria.join("; ")
    )
}

fn status(run: &Path) -> anyhow::Result<()> {
    let (spec, state) = read_run_state(run)?;
    // A missing or unreadable log only costs the times.
    let log = read_timed_log(&events_path(run)).unwrap_or_default();
    println!("curriculum '{}' on suite '{}'", spec.name, spec.suite);
    for record in &state.history {
        let minutes = stage_seconds(&log, record.stage, record.entered, record.left)
            .map_or(String::new(), |s| format!("{:>6.1} min", s / 60.0));
        let line = format!(
            "  stage {} {:<12} steps {:>6} .. {:<6} {:<7}{}",
            record.stage + 1,
            record.name,
            record.entered,
            record.left.map_or("now".into(), |s| s.to_string()),
            record.reason.clone().unwrap_or_default(),
            minutes
        );
        println!("{}", line.trim_end());
    }
    let stage = &spec.stages[state.stage];
    println!(
        "step {}; stage {} ({}) {}/{} updates of its budget{}",
        state.step,
        state.stage + 1,
        stage.name,
        state.step - state.stage_start,
        stage.gate.budget,
        if state.completed {
            "; COMPLETE"
        } else if state.stalled {
            "; budget spent, gate shut: advance or rewind"
        } else {
            ""
        }
    );
    if let Some(gate) = &state.last_gate {
        println!("last {}", gate_line(gate));
    }
    Ok(())
}
