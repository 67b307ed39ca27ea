//! The curriculum engine: a state machine over the stages of a [`CurriculumSpec`]. It trains
//! with the current stage's signals, evaluates the stage's gate every `eval_every` updates
//! (writing a checkpoint and a snapshot of its own state each time), and moves on when the
//! gate opens. Every step of the way is a telemetry [`Event`].
//!
//! State lives in the run directory: `curriculum.toml` (the resolved curriculum),
//! `curriculum.json` (current state, stage history and one snapshot per checkpoint, so
//! [`Engine::rewind`] restores exactly), `events.jsonl`, `metrics.jsonl`, `checkpoints/`.
//!
//! This file holds the state machine itself (creating and opening a run, the update loop,
//! stage transitions, checkpoints); `data` the demonstrations, corrected rounds and loader a
//! stage trains on, `measure` the gate's evaluations, `setup` the learner and threads, and
//! `state` what `curriculum.json` holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::gate::StageMeasurements;
use super::probe::{self, ProbeSpec};
use super::spec::CurriculumSpec;
use crate::checkpoint::{self, CheckpointMeta, Provenance, RngState};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use crate::sim::Suite;
use crate::telemetry::{Event, GateStatus, Telemetry};
use crate::train::finetune::FinetuneConfig;
use crate::train::loader::{Loader, step_rng};
use crate::train::run::{MetricsLine, RunDir};
use crate::train::schedule::Schedule;
use crate::train::{Learner, OptimizerConfig};

mod data;
mod measure;
mod setup;
mod state;

use data::record_demos;
use setup::{restore_learner, thread_pool, with_stage_auxiliary};
pub use state::{EngineState, RoundRecord, StageRecord};
use state::{STATE_FILE, read_state};

const SPEC_FILE: &str = "curriculum.toml";
const EVENTS_FILE: &str = "events.jsonl";
/// ChaCha stream of flow-matching noise in curriculum updates.
const NOISE_STREAM: u64 = 2;
/// Seeds of corrected rollouts start here (far from demonstrations and evaluation).
const DAGGER_SEED_OFFSET: u64 = 2_000_000;

/// How [`Engine::run_until_gate`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateOutcome {
    /// The gate opened.
    Open,
    /// The stage's budget ran out with the gate shut.
    BudgetSpent,
    /// A stop or pause was requested.
    Interrupted,
}

/// What one [`Engine::tick`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Ran one update.
    Trained,
    /// Moved on to the next stage.
    Promoted,
    /// The last stage's gate opened (or it was left): nothing more to do.
    Completed,
    /// The stage's budget is spent, its gate shut, and it waits for a person.
    Stalled,
}

/// Options that are about watching, not about the curriculum.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Play the probe episode every this many updates (0: only at gate evaluations).
    pub probe_every: u64,
    /// Write a metrics event every this many updates.
    pub log_every: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            probe_every: 50,
            log_every: 10,
        }
    }
}

/// A curriculum run in progress.
pub struct Engine {
    run: RunDir,
    spec: CurriculumSpec,
    suite: Suite,
    device: ComputeDevice,
    tokenizer: Tokenizer,
    model: ModelConfig,
    learner: Learner,
    state: EngineState,
    snapshots: BTreeMap<u64, EngineState>,
    telemetry: Telemetry,
    options: EngineOptions,
    loader: Option<(Loader, u64)>,
    paused: bool,
    pool: Arc<rayon::ThreadPool>,
}

impl Engine {
    /// Starts a new curriculum run in `run_dir` (which must not exist): records the teacher
    /// demonstrations of every task, then waits at the first stage.
    pub fn create(
        run_dir: &Path,
        spec: CurriculumSpec,
        device: ComputeDevice,
        telemetry: Option<std::sync::mpsc::Sender<Event>>,
        options: EngineOptions,
    ) -> Result<Self> {
        spec.validate()?;
        let suite = spec.load_suite()?;
        let (policy, tokenizer) = match &spec.init {
            Some(dir) => {
                let ckpt = checkpoint::load(dir, &device.device)?;
                (ckpt.policy, ckpt.meta.tokenizer)
            }
            None => {
                let model = ModelConfig::preset(&spec.preset, HeadKind::L1)?;
                let tokenizer = Tokenizer::new(crate::sim::vocabulary());
                let policy = crate::device::seeded(&device.device, spec.seed, || {
                    Policy::new(&model, tokenizer.vocab_size(), &device.device)
                })?;
                (policy, tokenizer)
            }
        };
        let run = RunDir::create(run_dir)?;
        crate::atomic::write_file(
            &run.root().join(SPEC_FILE),
            toml::to_string_pretty(&spec).unwrap_or_default().as_bytes(),
        )?;
        let pool = thread_pool(spec.deterministic)?;
        pool.install(|| record_demos(&run, &spec, &suite))?;
        let model = policy.config().clone();
        let mut learner = Learner::prepared(
            policy,
            &FinetuneConfig::default(),
            &OptimizerConfig::default(),
            &device.device,
        );
        if let Some(decay) = spec.ema_decay {
            learner = learner.start_ema(decay);
        }
        let learner = with_stage_auxiliary(learner, &spec, 0, &device)?;
        let state = EngineState {
            stage: 0,
            step: 0,
            stage_start: 0,
            measurements: StageMeasurements::default(),
            last_gate: None,
            history: vec![StageRecord {
                stage: 0,
                name: spec.stages[0].name.clone(),
                entered: 0,
                left: None,
                reason: None,
            }],
            rounds: Vec::new(),
            completed: false,
            stalled: false,
            task_success: BTreeMap::new(),
        };
        let telemetry = Telemetry::new(telemetry, Some(&run.root().join(EVENTS_FILE)))?;
        let mut engine = Engine {
            run,
            spec,
            suite,
            device,
            tokenizer,
            model,
            learner,
            state,
            snapshots: BTreeMap::new(),
            telemetry,
            options,
            loader: None,
            paused: true,
            pool,
        };
        engine.emit_started()?;
        let name = engine.spec.stages[0].name.clone();
        engine.emit(Event::StageEntered {
            stage: 0,
            name,
            step: 0,
        })?;
        engine.save_checkpoint()?;
        Ok(engine)
    }

    /// Opens an existing curriculum run at its newest checkpoint (mid-stage if it stopped
    /// there).
    pub fn open(
        run_dir: &Path,
        device: ComputeDevice,
        telemetry: Option<std::sync::mpsc::Sender<Event>>,
        options: EngineOptions,
    ) -> Result<Self> {
        let run = RunDir::open(run_dir)?;
        let spec = saved_spec(&run)?;
        let suite = spec.load_suite()?;
        let file = read_state(&run)?;
        let latest = run
            .latest()?
            .ok_or_else(|| Error::invalid(format!("{} has no checkpoint", run_dir.display())))?;
        let ckpt = checkpoint::load(&latest, &device.device)?;
        let state = file
            .snapshots
            .get(&ckpt.meta.step)
            .cloned()
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{STATE_FILE} has no snapshot for checkpoint step {}",
                    ckpt.meta.step
                ))
            })?;
        let pool = thread_pool(spec.deterministic)?;
        let model = ckpt.meta.model.clone();
        let tokenizer = ckpt.meta.tokenizer.clone();
        let learner = restore_learner(&latest, ckpt, &spec, &device)?;
        let learner = with_stage_auxiliary(learner, &spec, state.stage, &device)?;
        run.truncate_metrics(state.step)?;
        let telemetry = Telemetry::new(telemetry, Some(&run.root().join(EVENTS_FILE)))?;
        let mut engine = Engine {
            run,
            spec,
            suite,
            device,
            tokenizer,
            model,
            learner,
            state,
            snapshots: file.snapshots,
            telemetry,
            options,
            loader: None,
            paused: true,
            pool,
        };
        engine.write_state()?;
        engine.replay_history();
        let logged_past = crate::telemetry::read_log(&engine.run.root().join(EVENTS_FILE))
            .unwrap_or_default()
            .iter()
            .any(|e| matches!(e, Event::Metrics { line, .. } if line.step > engine.state.step));
        if logged_past {
            // updates after the checkpoint were lost; the log says so for later replays
            let (step, stage) = (engine.state.step, engine.state.stage);
            engine.emit(Event::Rewound { step, stage })?;
        }
        engine.emit_started()?;
        Ok(engine)
    }

    /// Sends the logged history up to the current step to the listener (not to the log), so a
    /// window opening an existing run shows its timeline and curves.
    fn replay_history(&mut self) {
        let step = self.state.step;
        let Ok(events) = crate::telemetry::read_log(&self.run.root().join(EVENTS_FILE)) else {
            return;
        };
        for event in events {
            let at = match &event {
                Event::Metrics { line, .. } => Some(line.step),
                Event::StageEntered { step, .. }
                | Event::StageLeft { step, .. }
                | Event::Evaluation { step, .. }
                | Event::Interventions { step, .. }
                | Event::Checkpoint { step, .. }
                | Event::Rewound { step, .. } => Some(*step),
                Event::Gate(g) => Some(g.step),
                _ => None,
            };
            if at.is_some_and(|s| s <= step) {
                self.telemetry.notify(event);
            }
        }
    }

    /// The curriculum.
    pub fn spec(&self) -> &CurriculumSpec {
        &self.spec
    }

    /// Where the run stands.
    pub fn state(&self) -> &EngineState {
        &self.state
    }

    /// The instruction tokenizer of the policy being trained.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        self.run.root()
    }

    /// The policy as it would be evaluated now.
    pub fn policy(&self) -> Policy {
        self.learner.policy()
    }

    /// Whether the engine waits for a command (see [`pause`](Self::pause)).
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Marks the run paused (a controller stops calling [`step`](Self::step)).
    pub fn pause(&mut self) -> Result<()> {
        if !self.paused {
            self.paused = true;
            self.emit(Event::Paused {
                step: self.state.step,
            })?;
        }
        Ok(())
    }

    /// Marks the run running again.
    pub fn resume(&mut self) -> Result<()> {
        if self.paused {
            self.paused = false;
            self.emit(Event::Resumed {
                step: self.state.step,
            })?;
        }
        Ok(())
    }

    /// Checkpoints of this run that [`rewind`](Self::rewind) accepts, oldest first.
    pub fn checkpoints(&self) -> Vec<(u64, PathBuf)> {
        self.snapshots
            .keys()
            .map(|&s| (s, self.run.checkpoint_path(s)))
            .filter(|(_, p)| p.is_dir())
            .collect()
    }

    /// Runs `n` updates of the current stage (fewer if its budget runs out). At every
    /// `eval_every` boundary the gate is evaluated and a checkpoint written.
    pub fn step(&mut self, n: u64) -> Result<()> {
        if self.state.completed {
            return Err(Error::invalid(
                "the curriculum is complete; rewind to train more",
            ));
        }
        let pool = self.pool.clone();
        pool.install(|| {
            for _ in 0..n {
                if self.stage_steps() >= self.stage_budget() {
                    break;
                }
                self.update()?;
            }
            Ok(())
        })
    }

    /// Trains until the current stage's gate opens or its budget is spent, or `interrupt`
    /// says to stop (checked between updates).
    pub fn run_until_gate(&mut self, interrupt: &dyn Fn() -> bool) -> Result<GateOutcome> {
        loop {
            if self.gate_open() {
                return Ok(GateOutcome::Open);
            }
            if self.stage_steps() >= self.stage_budget() {
                return Ok(GateOutcome::BudgetSpent);
            }
            if interrupt() {
                return Ok(GateOutcome::Interrupted);
            }
            self.step(1)?;
        }
    }

    /// Runs stage after stage until the curriculum completes, a stage stalls on its budget
    /// (`on_budget = "stop"`), or `interrupt` says to stop.
    pub fn run(&mut self, interrupt: &dyn Fn() -> bool) -> Result<GateOutcome> {
        loop {
            match self.tick()? {
                Tick::Completed => return Ok(GateOutcome::Open),
                Tick::Stalled => return Ok(GateOutcome::BudgetSpent),
                Tick::Trained | Tick::Promoted => {}
            }
            if interrupt() {
                return Ok(GateOutcome::Interrupted);
            }
        }
    }

    /// The smallest piece of [`run`](Self::run), for controllers that interleave commands:
    /// promotes the stage if its gate is open (or its budget is spent and it may advance),
    /// else runs one update.
    pub fn tick(&mut self) -> Result<Tick> {
        if self.state.completed {
            return Ok(Tick::Completed);
        }
        if self.gate_open() {
            self.leave_stage("gate")?;
            return Ok(if self.state.completed {
                Tick::Completed
            } else {
                Tick::Promoted
            });
        }
        if self.stage_steps() >= self.stage_budget() {
            if self.spec.stages[self.state.stage].gate.on_budget == "advance" {
                self.leave_stage("budget")?;
                return Ok(if self.state.completed {
                    Tick::Completed
                } else {
                    Tick::Promoted
                });
            }
            if !self.state.stalled {
                self.state.stalled = true;
                self.write_state()?;
            }
            return Ok(Tick::Stalled);
        }
        self.step(1)?;
        Ok(Tick::Trained)
    }

    /// Measures the current stage's gate criteria now and records the verdict.
    pub fn evaluate_gate(&mut self) -> Result<GateStatus> {
        let pool = self.pool.clone();
        pool.install(|| self.measure_gate())
    }

    /// Leaves the current stage now, whatever its gate says (a person's decision).
    pub fn advance(&mut self) -> Result<()> {
        if self.state.completed {
            return Err(Error::invalid(
                "the curriculum is complete; there is no stage to leave",
            ));
        }
        self.leave_stage("manual")
    }

    /// Writes a checkpoint of the current state now (e.g. before a window closes).
    pub fn checkpoint(&mut self) -> Result<()> {
        if self.snapshots.contains_key(&self.state.step) {
            return Ok(());
        }
        self.save_checkpoint()
    }

    /// Goes back to checkpoint `dir` of this run: weights, optimizer, moving average, stage,
    /// measurements and data exactly as they were when it was written.
    pub fn rewind(&mut self, dir: &Path) -> Result<()> {
        let meta = checkpoint::load_meta(dir)?;
        let state = self.snapshots.get(&meta.step).cloned().ok_or_else(|| {
            Error::invalid(format!(
                "{} is not a checkpoint of this curriculum run",
                dir.display()
            ))
        })?;
        let ckpt = checkpoint::load(dir, &self.device.device)?;
        self.learner = restore_learner(dir, ckpt, &self.spec, &self.device)?;
        self.state = state;
        self.loader = None;
        self.snapshots.retain(|&s, _| s <= meta.step);
        self.run.truncate_metrics(meta.step)?;
        self.run.set_latest(dir)?;
        self.write_state()?;
        self.emit(Event::Rewound {
            step: meta.step,
            stage: self.state.stage,
        })
    }

    /// Plays the probe episode with the current policy and emits its frames.
    pub fn probe(&mut self) -> Result<()> {
        let stage = self.state.stage;
        let tasks = self.spec.stage_tasks(&self.suite, stage);
        let spec = ProbeSpec {
            task: tasks[0].clone(),
            seed: self.suite.eval_seeds[0],
            execute_steps: self.spec.stages[stage].constraints.embodiment.execute_steps,
        };
        let policy = self.learner.policy();
        let pool = self.pool.clone();
        let frames = pool.install(|| {
            probe::run(
                &policy,
                &self.tokenizer,
                &self.suite,
                &spec,
                self.state.step,
            )
        })?;
        for frame in frames {
            self.emit(Event::Probe(Box::new(frame)))?;
        }
        Ok(())
    }

    /// Whether the current stage's gate was last measured open during this stage (never for
    /// an ablation variant, whose stages run their whole budgets).
    fn gate_open(&self) -> bool {
        self.spec.ablation.is_none()
            && self.state.last_gate.as_ref().is_some_and(|g| {
                g.open && g.stage == self.state.stage && g.step > self.state.stage_start
            })
    }

    fn stage_steps(&self) -> u64 {
        self.state.step - self.state.stage_start
    }

    fn stage_budget(&self) -> u64 {
        self.spec.stages[self.state.stage].gate.budget
    }

    fn emit(&mut self, event: Event) -> Result<()> {
        self.telemetry.emit(event)
    }

    fn emit_started(&mut self) -> Result<()> {
        self.emit(Event::Started {
            curriculum: self.spec.name.clone(),
            stages: self.spec.stages.iter().map(|s| s.name.clone()).collect(),
            stage: self.state.stage,
            step: self.state.step,
        })
    }

    /// One update, with whatever falls due at it (a corrected round before, metrics, probe and
    /// gate after).
    fn update(&mut self) -> Result<()> {
        let stage = self.state.stage;
        let spec = self.spec.stages[stage].clone();
        let in_stage = self.stage_steps();
        if spec.signals.contains_key("dagger") && in_stage.is_multiple_of(spec.dagger_every.max(1))
        {
            let already = self
                .state
                .rounds
                .iter()
                .any(|r| r.stage == stage && r.step == self.state.step);
            if !already {
                self.dagger_round()?;
            }
        }
        let loader_ok = self
            .loader
            .as_ref()
            .is_some_and(|(_, next)| *next == self.state.step);
        if !loader_ok {
            self.learner.set_auxiliary_weights(spec.auxiliary)?;
            self.loader = Some((self.spawn_loader()?, self.state.step));
        }
        let started = Instant::now();
        let (loader, next) = self.loader.as_mut().expect("spawned above");
        let batch = match loader.next_batch() {
            Ok(batch) => batch,
            Err(e) => {
                self.loader = None;
                return Err(e);
            }
        };
        *next += 1;
        let data_s = started.elapsed().as_secs_f64();
        let schedule = Schedule {
            lr: spec.lr,
            warmup_steps: (spec.gate.budget / 20).clamp(1, 50),
            min_lr_ratio: 0.1,
        };
        let lr = schedule.lr_at(in_stage, spec.gate.budget);
        let mut rng = step_rng(self.spec.seed, self.state.step, NOISE_STREAM);
        let updated = Instant::now();
        let outcome = self.learner.step(&batch, lr, &mut rng);
        let update_s = updated.elapsed().as_secs_f64();
        let (loss, grad_norm, skipped, action_loss, auxiliary) = match outcome {
            Ok(o) => {
                let action_loss = (!o.auxiliary.is_empty()).then_some(o.action_loss);
                let terms = o
                    .auxiliary
                    .iter()
                    .map(|(name, v)| (name.to_string(), *v))
                    .collect();
                (o.loss, o.grad_norm, 0, action_loss, terms)
            }
            Err(Error::Numerics(why)) => {
                eprintln!("step {}: {why}", self.state.step + 1);
                (f32::NAN, f32::NAN, 1, None, Default::default())
            }
            Err(other) => return Err(other),
        };
        self.state.step += 1;
        let step = self.state.step;
        if step.is_multiple_of(self.options.log_every.max(1)) {
            let line = MetricsLine {
                step,
                loss,
                grad_norm,
                lr,
                samples_per_s: self.spec.batch_size as f64 / started.elapsed().as_secs_f64(),
                data_ms: data_s * 1e3,
                update_ms: update_s * 1e3,
                skipped,
                action_loss,
                auxiliary,
                rl: None,
            };
            self.run.append_metrics(&line)?;
            self.emit(Event::Metrics { stage, line })?;
        }
        let in_stage = self.stage_steps();
        let gate_due =
            in_stage.is_multiple_of(self.spec.eval_every) || in_stage >= self.stage_budget();
        if gate_due {
            self.measure_gate()?;
        } else if self.options.probe_every > 0 && step.is_multiple_of(self.options.probe_every) {
            self.probe()?;
        }
        Ok(())
    }

    fn leave_stage(&mut self, reason: &str) -> Result<()> {
        let stage = self.state.stage;
        let step = self.state.step;
        let name = self.spec.stages[stage].name.clone();
        if let Some(record) = self.state.history.last_mut() {
            record.left = Some(step);
            record.reason = Some(reason.into());
        }
        self.emit(Event::StageLeft {
            stage,
            name,
            step,
            reason: reason.into(),
        })?;
        self.state.stalled = false;
        self.loader = None;
        if stage + 1 == self.spec.stages.len() {
            self.state.completed = true;
            self.emit(Event::Completed { step })?;
        } else {
            let next = stage + 1;
            let name = self.spec.stages[next].name.clone();
            self.state.stage = next;
            self.state.stage_start = step;
            self.state.measurements = StageMeasurements::default();
            self.state.last_gate = None;
            self.state.history.push(StageRecord {
                stage: next,
                name: name.clone(),
                entered: step,
                left: None,
                reason: None,
            });
            self.emit(Event::StageEntered {
                stage: next,
                name,
                step,
            })?;
        }
        self.save_checkpoint()
    }

    fn save_checkpoint(&mut self) -> Result<()> {
        let step = self.state.step;
        let policy = self.learner.policy();
        let meta = CheckpointMeta::new(
            policy.config().clone(),
            self.tokenizer.clone(),
            step,
            self.spec.seed,
            RngState {
                seed: self.spec.seed,
                word_pos: u128::from(step) << 20,
            },
            Provenance::current(self.device.backend.name(), &self.device.name),
        );
        let path = self.run.checkpoint_path(step);
        checkpoint::save_with_training(
            &path,
            &meta,
            &policy,
            Some(self.learner.optimizer()),
            self.learner.training_state().as_ref(),
        )?;
        self.run.set_latest(&path)?;
        self.snapshots.insert(step, self.state.clone());
        self.write_state()?;
        self.emit(Event::Checkpoint { step, path })
    }

    fn write_state(&self) -> Result<()> {
        state::write_state(&self.run, &self.state, &self.snapshots)
    }
}

/// A curriculum run trained to its end (see [`train_to_end`]).
pub struct Finished {
    /// The engine, paused after its last stage.
    pub engine: Engine,
    /// Seconds spent training in this call (gate evaluations included).
    pub train_seconds: f64,
    /// Whether an interrupted run in the same directory was continued.
    pub resumed: bool,
}

/// Creates the curriculum run `spec` in `dir` (or continues the one there) and trains it
/// until every stage is done, advancing any stage whose budget ran out with its gate shut
/// (the caller wants the whole budget spent, as the ablation and the recipe report do).
/// `progress` hears `(updates done, updates in total)`; `interrupt` stops between updates,
/// returning `None` (the run continues on the next call).
pub fn train_to_end(
    dir: &Path,
    spec: &CurriculumSpec,
    open_device: &dyn Fn() -> Result<ComputeDevice>,
    progress: &mut dyn FnMut(u64, u64),
    interrupt: &dyn Fn() -> bool,
) -> Result<Option<Finished>> {
    let total: u64 = spec.stages.iter().map(|s| s.gate.budget).sum();
    let options = EngineOptions {
        probe_every: 0,
        ..EngineOptions::default()
    };
    let resumed = dir.exists();
    let mut engine = if resumed {
        Engine::open(dir, open_device()?, None, options)?
    } else {
        Engine::create(dir, spec.clone(), open_device()?, None, options)?
    };
    let started = Instant::now();
    engine.resume()?;
    loop {
        progress(engine.state().step, total);
        if interrupt() {
            engine.pause()?;
            return Ok(None);
        }
        match engine.tick()? {
            Tick::Completed => break,
            Tick::Stalled => engine.advance()?,
            Tick::Trained | Tick::Promoted => {}
        }
    }
    engine.pause()?;
    Ok(Some(Finished {
        engine,
        train_seconds: started.elapsed().as_secs_f64(),
        resumed,
    }))
}

/// The state saved in a run directory (for `praxis curriculum status`).
pub fn read_run_state(run_dir: &Path) -> Result<(CurriculumSpec, EngineState)> {
    let run = RunDir::open(run_dir)?;
    Ok((saved_spec(&run)?, read_state(&run)?.state))
}

/// The resolved curriculum a run directory was created with.
fn saved_spec(run: &RunDir) -> Result<CurriculumSpec> {
    let path = run.root().join(SPEC_FILE);
    if !path.is_file() {
        return Err(Error::invalid(format!(
            "{} is not a curriculum run (no {SPEC_FILE})",
            run.root().display()
        )));
    }
    CurriculumSpec::load(&path)
}

/// The event log of a run directory.
pub fn events_path(run_dir: &Path) -> PathBuf {
    run_dir.join(EVENTS_FILE)
}
