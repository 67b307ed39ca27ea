//! The curriculum engine: a state machine over the stages of a [`CurriculumSpec`]. It trains
//! with the current stage's signals, evaluates the stage's gate every `eval_every` updates
//! (writing a checkpoint and a snapshot of its own state each time), and moves on when the
//! gate opens. Every step of the way is a telemetry [`Event`].
//!
//! State lives in the run directory: `curriculum.toml` (the resolved curriculum),
//! `curriculum.json` (current state, stage history and one snapshot per checkpoint, so
//! [`Engine::rewind`] restores exactly), `events.jsonl`, `metrics.jsonl`, `checkpoints/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::gate::{self, StageMeasurements, SuccessPoint};
use super::probe::{self, ProbeSpec};
use super::spec::CurriculumSpec;
use crate::checkpoint::{self, CheckpointMeta, Provenance, RngState};
use crate::data::{Dataset, DatasetWriter, RecordOptions};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::eval::{self, EvalOptions};
use crate::model::{HeadKind, ModelConfig, Policy, Tokenizer};
use crate::sim::{Suite, Variations};
use crate::telemetry::{Event, GateStatus, Telemetry};
use crate::train::ema::Ema;
use crate::train::finetune::FinetuneConfig;
use crate::train::loader::{DataMix, Loader, step_rng};
use crate::train::recipes::{dagger, success_band};
use crate::train::run::{MetricsLine, RunDir};
use crate::train::schedule::Schedule;
use crate::train::{Learner, OptimizerConfig};

const STATE_FILE: &str = "curriculum.json";
const SPEC_FILE: &str = "curriculum.toml";
const EVENTS_FILE: &str = "events.jsonl";
/// ChaCha stream of flow-matching noise in curriculum updates.
const NOISE_STREAM: u64 = 2;
/// Seeds of corrected rollouts start here (far from demonstrations and evaluation).
const DAGGER_SEED_OFFSET: u64 = 2_000_000;

/// One entry of the stage timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Stage index.
    pub stage: usize,
    /// Stage name.
    pub name: String,
    /// Update count on entry.
    pub entered: u64,
    /// Update count on leaving (none while current).
    pub left: Option<u64>,
    /// Why it was left: `gate`, `manual`, `budget`.
    pub reason: Option<String>,
}

/// A corrected-rollout dataset and where it belongs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Stage that collected it.
    pub stage: usize,
    /// Update count when collected.
    pub step: u64,
    /// Dataset directory.
    pub dir: PathBuf,
    /// Teacher intervention rate of the round.
    pub intervention_rate: f64,
}

/// Everything the engine needs besides weights to continue exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    /// Current stage.
    pub stage: usize,
    /// Updates so far.
    pub step: u64,
    /// Update count when the current stage began.
    pub stage_start: u64,
    /// What the current stage has measured.
    pub measurements: StageMeasurements,
    /// The last gate verdict.
    pub last_gate: Option<GateStatus>,
    /// Stage timeline.
    pub history: Vec<StageRecord>,
    /// Corrected-rollout datasets collected so far.
    pub rounds: Vec<RoundRecord>,
    /// The last stage's gate opened.
    pub completed: bool,
    /// The stage ran out of budget with its gate shut and waits for a person.
    pub stalled: bool,
    /// Success of each task at the last gate evaluation (for `success_band` sampling).
    #[serde(default)]
    pub task_success: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StateFile {
    state: EngineState,
    /// State as of each checkpoint, by update count.
    snapshots: BTreeMap<u64, EngineState>,
}

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

fn data_error(e: crate::data::DataError) -> Error {
    Error::invalid(e.to_string())
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
        let spec_path = run.root().join(SPEC_FILE);
        if !spec_path.is_file() {
            return Err(Error::invalid(format!(
                "{} is not a curriculum run (no {SPEC_FILE})",
                run_dir.display()
            )));
        }
        let spec = CurriculumSpec::load(&spec_path)?;
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
        if spec.signals.contains_key("dagger") && in_stage % spec.dagger_every.max(1) == 0 {
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
        let batch = match loader.next() {
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
        if step % self.options.log_every.max(1) == 0 {
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
        let gate_due = in_stage % self.spec.eval_every == 0 || in_stage >= self.stage_budget();
        if gate_due {
            self.measure_gate()?;
        } else if self.options.probe_every > 0 && step % self.options.probe_every == 0 {
            self.probe()?;
        }
        Ok(())
    }

    /// The tasks a `success_band` signal draws demonstrations from now: the current stage's
    /// tasks whose success at the last evaluation was 10–90% (all of them before the first
    /// evaluation or when none is in the band).
    pub fn practice_tasks(&self) -> Vec<String> {
        let tasks = self.spec.stage_tasks(&self.suite, self.state.stage);
        success_band::select(&tasks, &self.state.task_success)
    }

    fn spawn_loader(&self) -> Result<Loader> {
        let stage = self.state.stage;
        let spec = &self.spec.stages[stage];
        let open = |dir: &Path| Dataset::open(dir).map_err(data_error);
        let tasks = self.spec.stage_tasks(&self.suite, stage);
        let demos = |tasks: &[String]| -> Result<Vec<Dataset>> {
            tasks
                .iter()
                .map(|t| open(&demo_dir(&self.run, t)))
                .collect()
        };
        let imitation = spec
            .signals
            .get("imitation")
            .map(|&w| Ok::<_, Error>((demos(&tasks)?, w)))
            .transpose()?;
        let dagger = spec
            .signals
            .get("dagger")
            .map(|&w| -> Result<_> {
                let rounds = self
                    .state
                    .rounds
                    .iter()
                    .filter(|r| r.stage == stage)
                    .map(|r| open(&r.dir))
                    .collect::<Result<Vec<_>>>()?;
                Ok((rounds, w))
            })
            .transpose()?;
        let mut groups = demonstrations_and_corrections(imitation, dagger, spec.dagger.pooled);
        if let Some(&w) = spec.signals.get("success_band") {
            groups.push((demos(&self.practice_tasks())?, w));
        }
        if let Some(&w) = spec.signals.get("replay") {
            let mut earlier = Vec::new();
            for s in 0..stage {
                earlier.extend(demos(&self.spec.stage_tasks(&self.suite, s))?);
                for r in self.state.rounds.iter().filter(|r| r.stage == s) {
                    earlier.push(open(&r.dir)?);
                }
            }
            groups.push((earlier, w));
        }
        let mix = DataMix::weighted(groups, self.model.chunk_len)?
            .with_augment(spec.constraints.environment.augment)
            .with_auxiliary(self.learner.auxiliary_horizon());
        Ok(Loader::spawn(
            Arc::new(mix),
            self.model.clone(),
            self.tokenizer.clone(),
            self.spec.batch_size,
            self.spec.seed,
            self.state.step..self.state.stage_start + self.stage_budget(),
            4,
        ))
    }

    fn dagger_round(&mut self) -> Result<()> {
        let stage = self.state.stage;
        let spec = self.spec.stages[stage].clone();
        let tasks = match spec.dagger.success_band {
            true => self.practice_tasks(),
            false => self.spec.stage_tasks(&self.suite, stage),
        };
        let policy = self.learner.policy();
        let round = dagger::collect(
            &policy,
            &self.tokenizer,
            &self.suite,
            &tasks,
            self.spec.seed + DAGGER_SEED_OFFSET + self.state.step * 1000,
            crate::sim::Variations::from_names(&spec.constraints.environment.variations)?,
            &dagger::DaggerOptions {
                execute_steps: spec.constraints.embodiment.execute_steps,
                ..spec.dagger.clone()
            },
        )?;
        let dir = self
            .run
            .root()
            .join("data")
            .join("corrections")
            .join(format!("stage{stage}-step{:07}", self.state.step));
        write_episodes(&dir, &self.suite, &round.episodes)?;
        self.state.rounds.push(RoundRecord {
            stage,
            step: self.state.step,
            dir,
            intervention_rate: round.intervention_rate,
        });
        self.state.measurements.intervention_rate = Some(round.intervention_rate);
        self.loader = None;
        self.emit(Event::Interventions {
            stage,
            step: self.state.step,
            rate: round.intervention_rate,
            labelled: round.labelled,
        })
    }

    fn evaluate_tasks(&self, tasks: &[String], variations: Variations) -> Result<eval::EvalReport> {
        let mut suite = self.suite.clone();
        suite.tasks.retain(|t| tasks.contains(&t.name));
        let stage = &self.spec.stages[self.state.stage];
        eval::evaluate(
            &self.learner.policy(),
            &self.tokenizer,
            &suite,
            &EvalOptions {
                execute_steps: stage.constraints.embodiment.execute_steps,
                variations,
                seed: self.spec.seed,
                ..EvalOptions::default()
            },
            |_, _| {},
        )
    }

    fn measure_gate(&mut self) -> Result<GateStatus> {
        let stage = self.state.stage;
        let gate_spec = self.spec.stages[stage].gate.clone();
        let step = self.state.step;
        let tasks = self.spec.stage_tasks(&self.suite, stage);
        let nominal = self.evaluate_tasks(&tasks, Variations::default())?;
        let point = |r: &eval::EvalReport| SuccessPoint {
            step,
            rate: r.success_rate,
            episodes: r.episodes,
        };
        // a second measurement at the same update (a person asked) replaces the first, so a
        // repeated figure cannot fake a plateau
        if self
            .state
            .measurements
            .success
            .last()
            .is_some_and(|p| p.step == step)
        {
            self.state.measurements.success.pop();
        }
        self.state.measurements.success.push(point(&nominal));
        self.state.task_success = nominal
            .tasks
            .iter()
            .map(|t| (t.task.clone(), t.success_rate))
            .collect();
        // The success band may have moved: the next batch is drawn from a fresh mix.
        self.loader = None;
        self.emit_evaluation(&nominal, false)?;
        if gate_spec.robustness_gap.is_some() {
            let perturbed = self.evaluate_tasks(
                &tasks,
                crate::sim::Variations::from_names(&gate_spec.perturbations)?,
            )?;
            self.state.measurements.perturbed = Some(point(&perturbed));
            self.emit_evaluation(&perturbed, true)?;
        }
        if gate_spec.retention.is_some() {
            let mut earlier: Vec<String> = (0..stage)
                .flat_map(|s| self.spec.stage_tasks(&self.suite, s))
                .collect();
            earlier.sort();
            earlier.dedup();
            let mut retained = self.evaluate_tasks(&earlier, Variations::default())?;
            retained.suite = format!("{} (earlier stages)", retained.suite);
            self.state.measurements.retention = Some(point(&retained));
            self.emit_evaluation(&retained, false)?;
        }
        let status = gate::evaluate(&gate_spec, &self.state.measurements, stage, step);
        self.state.last_gate = Some(status.clone());
        self.emit(Event::Gate(status.clone()))?;
        self.probe()?;
        self.save_checkpoint()?;
        Ok(status)
    }

    fn emit_evaluation(&mut self, report: &eval::EvalReport, perturbed: bool) -> Result<()> {
        self.emit(Event::Evaluation {
            stage: self.state.stage,
            step: self.state.step,
            suite: report.suite.clone(),
            perturbed,
            success: report.success_rate,
            ci95: report.ci95,
            episodes: report.episodes,
        })
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
        let file = StateFile {
            state: self.state.clone(),
            snapshots: self.snapshots.clone(),
        };
        crate::atomic::write_file(
            &self.run.root().join(STATE_FILE),
            serde_json::to_string(&file).unwrap_or_default().as_bytes(),
        )
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
    let spec_path = run.root().join(SPEC_FILE);
    if !spec_path.is_file() {
        return Err(Error::invalid(format!(
            "{} is not a curriculum run (no {SPEC_FILE})",
            run_dir.display()
        )));
    }
    let spec = CurriculumSpec::load(&spec_path)?;
    Ok((spec, read_state(&run)?.state))
}

/// The event log of a run directory.
pub fn events_path(run_dir: &Path) -> PathBuf {
    run_dir.join(EVENTS_FILE)
}

fn read_state(run: &RunDir) -> Result<StateFile> {
    let path = run.root().join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::invalid(format!("{} is damaged: {e}", path.display())))
}

fn thread_pool(deterministic: bool) -> Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(match deterministic {
            true => 1,
            false => rayon::current_num_threads(),
        })
        .thread_name(|i| format!("praxis-curriculum-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::invalid(format!("cannot start the training threads: {e}")))
}

fn restore_learner(
    dir: &Path,
    ckpt: checkpoint::Checkpoint,
    spec: &CurriculumSpec,
    device: &ComputeDevice,
) -> Result<Learner> {
    let finetune = FinetuneConfig::default();
    let optimizer = OptimizerConfig::default();
    let trained = match ckpt.training.clone() {
        Some(bytes) => {
            let fresh = checkpoint::blank_policy(&ckpt.meta, &device.device)?;
            checkpoint::load_training(dir, fresh, bytes)?
        }
        None => ckpt.policy.clone(),
    };
    let mut learner = Learner::prepared(trained, &finetune, &optimizer, &device.device);
    if let Some(bytes) = ckpt.optimizer {
        let restored = checkpoint::load_optimizer(dir, learner.optimizer().clone(), bytes)?;
        learner = learner.with_optimizer(restored);
    }
    if let Some(decay) = spec.ema_decay {
        learner = learner.with_ema(Ema::resume(ckpt.policy, decay, ckpt.meta.step));
    }
    Ok(learner)
}

/// Gives the learner the auxiliary heads if any stage uses auxiliary losses (drawn from the
/// curriculum's seed; a resumed run draws them afresh, as checkpoints keep the policy alone)
/// and sets the weights of `stage`.
fn with_stage_auxiliary(
    learner: Learner,
    spec: &CurriculumSpec,
    stage: usize,
    device: &ComputeDevice,
) -> Result<Learner> {
    let Some(first) = spec.stages.iter().find(|s| s.auxiliary.is_active()) else {
        return Ok(learner);
    };
    let anchor = match (
        spec.stages.iter().any(|s| s.auxiliary.distill > 0.0),
        &spec.init,
    ) {
        (true, Some(dir)) => Some(checkpoint::load(dir, &device.device)?.policy),
        _ => None,
    };
    let mut learner = learner.with_auxiliary(first.auxiliary, anchor, spec.seed)?;
    learner.set_auxiliary_weights(spec.stages[stage].auxiliary)?;
    Ok(learner)
}

/// The data groups of a stage's `imitation` and `dagger` signals, each a set of datasets and
/// its weight: two groups, or with `pooled` one, in which every demonstration and every
/// correction is equally likely, drawn at the two weights together (DAgger's aggregate
/// dataset).
fn demonstrations_and_corrections<D>(
    imitation: Option<(Vec<D>, f64)>,
    dagger: Option<(Vec<D>, f64)>,
    pooled: bool,
) -> Vec<(Vec<D>, f64)> {
    match (imitation, dagger) {
        (Some((mut demos, wi)), Some((corrections, wd))) if pooled => {
            demos.extend(corrections);
            vec![(demos, wi + wd)]
        }
        (imitation, dagger) => imitation.into_iter().chain(dagger).collect(),
    }
}

fn demo_dir(run: &RunDir, task: &str) -> PathBuf {
    run.root().join("data").join("demos").join(task)
}

/// Records the curriculum's demonstrations, split evenly over the suite's tasks, one dataset
/// per task (so a stage can train on just its own tasks).
fn record_demos(run: &RunDir, spec: &CurriculumSpec, suite: &Suite) -> Result<()> {
    let per_task = spec.demos.div_ceil(suite.tasks.len()).max(1);
    for (k, task) in suite.tasks.iter().enumerate() {
        let mut one = suite.clone();
        one.tasks.retain(|t| t.name == task.name);
        crate::data::record_suite_demos(
            &one,
            &RecordOptions {
                suite: suite.name.clone(),
                episodes: per_task,
                out: demo_dir(run, &task.name),
                noise_std: spec.demo_noise,
                image_size: 64,
                seed: spec.seed + 10_000 * k as u64,
                keep_failures: false,
                variations: Default::default(),
            },
            &mut |_| {},
        )
        .map_err(data_error)?;
    }
    Ok(())
}

/// Writes corrected episodes as a dataset.
fn write_episodes(dir: &Path, suite: &Suite, episodes: &[crate::data::Episode]) -> Result<()> {
    let first = episodes
        .first()
        .ok_or_else(|| Error::invalid("a corrected round produced no episodes"))?;
    let probe = crate::sim::Env::new(suite, &first.task, crate::sim::EnvConfig::default())
        .map_err(|e| Error::invalid(e.to_string()))?;
    let spec = crate::data::writer::DatasetSpec {
        suite: suite.name.clone(),
        embodiment: probe.embodiment().name().to_string(),
        action_space: probe.action_space().name().to_string(),
        image: crate::data::format::ImageShape {
            height: first.height,
            width: first.width,
            channels: 3,
        },
        state_dim: first.state_dim,
        action_dim: first.action_dim,
        control_hz: 1.0 / crate::sim::world::CONTROL_DT,
        teacher_noise_std: 0.0,
    };
    let _ = std::fs::remove_dir_all(dir);
    let mut writer = DatasetWriter::create(dir, spec).map_err(data_error)?;
    for ep in episodes {
        writer.add(ep).map_err(data_error)?;
    }
    writer.finish().map_err(data_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::demonstrations_and_corrections;

    #[test]
    fn pooled_corrections_join_the_demonstrations_in_one_equally_weighted_set() {
        let demos = || Some((vec!["demo-a", "demo-b"], 0.5));
        let corrections = || Some((vec!["round-1"], 0.5));
        // by signal weight: two groups, the corrections drawn half the time however few
        assert_eq!(
            demonstrations_and_corrections(demos(), corrections(), false),
            vec![(vec!["demo-a", "demo-b"], 0.5), (vec!["round-1"], 0.5)]
        );
        // pooled: one group at both weights, so every sample of either is equally likely
        assert_eq!(
            demonstrations_and_corrections(demos(), corrections(), true),
            vec![(vec!["demo-a", "demo-b", "round-1"], 1.0)]
        );
        // nothing to pool with: the groups there are, unchanged
        assert_eq!(
            demonstrations_and_corrections(None, corrections(), true),
            vec![(vec!["round-1"], 0.5)]
        );
        assert_eq!(
            demonstrations_and_corrections(demos(), None, true),
            vec![(vec!["demo-a", "demo-b"], 0.5)]
        );
    }
}
