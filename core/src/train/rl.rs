//! Post-training from the policy's own rollouts: a run whose config has an `[rl]` section
//! alternates *rounds* of sampled rollouts on a suite ([`rollouts::sample`]) with a fixed
//! number of updates on what they showed, by one of three recipes:
//!
//! - `grpo` ([`grpo`]): group-relative 0/1 success advantages, policy-gradient updates;
//! - `ppo` ([`ppo`]): a value head, GAE advantages, clipped-surrogate updates;
//! - `dpo` ([`dpo`]): (best, worst) rollout pairs of each group, preference updates against
//!   the starting policy.
//!
//! Optionally each update also keeps an imitation term on the run's demonstrations
//! (`bc_weight`, on the batches of `[data]`), so the policy does not forget what it imitated.
//!
//! A round's updates all learn from the same rollouts, each from `minibatch` decisions drawn
//! at random or (`draw = "pass"`, GRPO and PPO) from its share of one pass over all of them;
//! checkpoints are written at round boundaries, and a stop request (Ctrl-C) is honoured at the
//! next one. GRPO and DPO runs resume bit for bit; PPO's value head is not saved (like the auxiliary heads), so a resumed
//! PPO run restarts its critic from its seeded initialisation. Initial states are drawn from
//! seeds `seed_base..`, disjoint from the suites' evaluation seeds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::RngExt;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::model::{HeadKind, Policy, Tokenizer};
use crate::sim::{Suite, Variations};
use crate::train::learner::{Chunks, Imitation, Learner, Surrogate};
use crate::train::loader::{DataMix, step_rng};
use crate::train::recipes::dpo::{self, DpoOptions};
use crate::train::recipes::grpo;
use crate::train::recipes::ppo::{self, PpoOptions};
use crate::train::recipes::rollouts::{self, Decision, RolloutOptions, Trajectory};
use crate::train::run::{MetricsLine, RunDir};
use crate::train::trainer::{self, Progress, TrainOutcome};

/// Which recipe learns from the rollouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RlMethod {
    /// Group-relative policy optimisation.
    Grpo,
    /// Proximal policy optimisation with a value head.
    Ppo,
    /// Direct preference optimisation over ranked rollout pairs.
    Dpo,
}

impl RlMethod {
    /// The name in configs.
    pub fn name(self) -> &'static str {
        match self {
            RlMethod::Grpo => "grpo",
            RlMethod::Ppo => "ppo",
            RlMethod::Dpo => "dpo",
        }
    }
}

/// `[rl]`: post-training from rollouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlConfig {
    /// The recipe.
    pub method: RlMethod,
    /// Suite the rollouts run on (built-in name or TOML path).
    pub suite: String,
    /// Its tasks to practise (empty: all).
    #[serde(default)]
    pub tasks: Vec<String>,
    /// Initial states per round (groups).
    #[serde(default = "default_starts")]
    pub starts: usize,
    /// Rollouts per initial state.
    #[serde(default = "default_group_size")]
    pub group_size: usize,
    /// Updates per round (the run's `steps` counts updates).
    #[serde(default = "default_updates_per_round")]
    pub updates_per_round: u64,
    /// Decisions per update (DPO: decisions of all its pairs, chosen and rejected) when
    /// `draw = "sample"`; with either draw, PPO's value estimates of a round's decisions are
    /// made this many at a time.
    #[serde(default = "default_minibatch")]
    pub minibatch: usize,
    /// How the updates take decisions from the round: `sample` (`minibatch` random draws
    /// each) or `pass` (one pass over every signal-carrying decision). GRPO and PPO.
    #[serde(default)]
    pub draw: Draw,
    /// Actions of each sampled chunk executed before re-planning.
    #[serde(default = "default_execute_steps")]
    pub execute_steps: usize,
    /// Sampling temperature of the bins head (below 1: closer to the greedy policy evaluation
    /// runs). GRPO's and PPO's ratios compare log-probabilities at this temperature.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// GRPO's reward: `success` (0/1) or `progress` (the task's progress at the end).
    #[serde(default)]
    pub reward: grpo::Reward,
    /// Variations switched on in the rollouts (names as in `praxis eval --variations`).
    #[serde(default)]
    pub variations: Vec<String>,
    /// Clip range ε of GRPO's and PPO's probability ratios.
    #[serde(default = "default_clip")]
    pub clip: f32,
    /// Weight β of a KL penalty to the policy the run started from in GRPO's and PPO's
    /// updates (GRPO's own term; DeepSeekMath uses 0.04), 0: none. Without it a long run
    /// drifts towards the tasks whose groups carry the most signal and forgets the others.
    #[serde(default)]
    pub kl: f32,
    /// Weight of an imitation term on the run's `[data]` batches (0: none).
    #[serde(default)]
    pub bc_weight: f64,
    /// First seed of the initial states (each round takes the next `starts`).
    #[serde(default = "default_seed_base")]
    pub seed_base: u64,
    /// PPO settings.
    #[serde(default)]
    pub ppo: PpoOptions,
    /// DPO settings.
    #[serde(default)]
    pub dpo: DpoOptions,
}

fn default_starts() -> usize {
    16
}
fn default_group_size() -> usize {
    8
}
fn default_updates_per_round() -> u64 {
    16
}
fn default_minibatch() -> usize {
    64
}
fn default_execute_steps() -> usize {
    4
}
fn default_temperature() -> f32 {
    1.0
}
fn default_clip() -> f32 {
    0.2
}
fn default_seed_base() -> u64 {
    100_000
}

/// Mixed into the run seed for the rollouts' action sampling.
const ROLLOUT_SALT: u64 = 0x726f_6c6c;
/// ChaCha stream of the minibatch draws.
const DRAW_STREAM: u64 = 5;

impl RlConfig {
    /// Checks what can be checked without a policy: counts, the suite and its tasks, the
    /// variations.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.starts == 0 || self.updates_per_round == 0 || self.minibatch == 0 {
            return Err(
                "rl.starts, rl.updates_per_round and rl.minibatch must be at least 1".into(),
            );
        }
        if self.method != RlMethod::Ppo && self.group_size < 2 {
            return Err(format!(
                "rl.group_size must be at least 2 for {} (it compares rollouts of one initial state)",
                self.method.name()
            ));
        }
        if self.group_size == 0 {
            return Err("rl.group_size must be at least 1".into());
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err("rl.temperature must be a positive number".into());
        }
        if !(self.dpo.margin.is_finite() && self.dpo.margin >= 0.0) {
            return Err("rl.dpo.margin must be 0 or more".into());
        }
        if !(self.bc_weight.is_finite() && self.bc_weight >= 0.0) {
            return Err("rl.bc_weight must be 0 or more".into());
        }
        if self.method != RlMethod::Grpo && self.reward != grpo::Reward::Success {
            return Err(format!(
                "rl.reward = \"{}\" is a GRPO setting; {} ranks or values rollouts its own way",
                self.reward.name(),
                self.method.name()
            ));
        }
        if !(self.kl.is_finite() && self.kl >= 0.0) {
            return Err("rl.kl must be 0 or more".into());
        }
        if self.method == RlMethod::Dpo && self.kl > 0.0 {
            return Err(
                "rl.kl is a GRPO and PPO setting; DPO is tied to its reference by rl.dpo.beta"
                    .into(),
            );
        }
        if self.method == RlMethod::Dpo && self.draw != Draw::Sample {
            return Err(format!(
                "rl.draw = \"{}\" is a GRPO and PPO setting; DPO draws preference pairs",
                self.draw.name()
            ));
        }
        if !(self.clip > 0.0 && self.clip < 1.0) {
            return Err("rl.clip must be in (0, 1)".into());
        }
        let p = &self.ppo;
        if !(0.0..=1.0).contains(&p.gamma)
            || !(0.0..=1.0).contains(&p.lambda)
            || p.value_weight.is_nan()
            || p.value_weight < 0.0
        {
            return Err(
                "rl.ppo: gamma and lambda must be in [0, 1], value_weight 0 or more".into(),
            );
        }
        if self.dpo.beta.is_nan() || self.dpo.beta <= 0.0 || self.dpo.decisions_per_trajectory == 0
        {
            return Err(
                "rl.dpo: beta must be positive and decisions_per_trajectory at least 1".into(),
            );
        }
        if self.method == RlMethod::Dpo && self.minibatch < 2 * self.dpo.decisions_per_trajectory {
            return Err(format!(
                "rl.minibatch ({}) must hold at least one pair: 2 × rl.dpo.decisions_per_trajectory = {}",
                self.minibatch,
                2 * self.dpo.decisions_per_trajectory
            ));
        }
        self.suite_and_tasks()
            .map(|_| ())
            .map_err(|e| e.to_string())?;
        self.variations().map(|_| ()).map_err(|e| e.to_string())
    }

    /// The suite and the tasks practised; fails on an unknown suite or task.
    pub fn suite_and_tasks(&self) -> Result<(Suite, Vec<String>)> {
        let suite = Suite::resolve(&self.suite).map_err(|e| Error::invalid(e.to_string()))?;
        let known: Vec<String> = suite.tasks.iter().map(|t| t.name.clone()).collect();
        if let Some(bad) = self.tasks.iter().find(|t| !known.contains(t)) {
            return Err(Error::invalid(format!(
                "rl.tasks: suite `{}` has no task `{bad}` (it has {})",
                suite.name,
                known.join(", ")
            )));
        }
        let tasks = if self.tasks.is_empty() {
            known
        } else {
            self.tasks.clone()
        };
        Ok((suite, tasks))
    }

    fn variations(&self) -> Result<Variations> {
        Ok(Variations::from_names(&self.variations)?)
    }

    /// Checks the config against the policy it will train.
    pub fn check_policy(&self, policy: &Policy) -> Result<()> {
        if policy.config().head != HeadKind::Bins {
            return Err(Error::invalid(format!(
                "[rl] method {} samples actions and needs their log-probabilities: the policy must have the bins head, this one has {}",
                self.method.name(),
                policy.config().head
            )));
        }
        Ok(())
    }
}

/// How a round's updates take their decisions from its rollouts (GRPO and PPO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Draw {
    /// Each update draws `minibatch` decisions at random, with replacement (GRPO: a rollout,
    /// then one of its decisions, so every rollout weighs the same; PPO: any decision). A
    /// round's updates then see a fraction of what its rollouts did: 16 updates of 64 draws
    /// touch about a fifth of a `long` round's ~4,700 signal-carrying decisions.
    #[default]
    Sample,
    /// The round's updates make one pass over every decision that carries a signal, shuffled
    /// and split evenly among them, so each is used exactly once, as GRPO (DeepSeekMath), DAPO
    /// and SimpleVLA-RL use a batch of rollouts; `minibatch` then sizes only PPO's value
    /// estimates. Every decision weighs the same (a longer rollout weighs more, DAPO's
    /// token-level average). An update then costs about as many decisions as a round holds over
    /// `updates_per_round` (so few updates a round make large batches); a round with fewer
    /// decisions than updates gives each update one, in turn.
    Pass,
}

impl Draw {
    /// The name in configs.
    pub fn name(self) -> &'static str {
        match self {
            Draw::Sample => "sample",
            Draw::Pass => "pass",
        }
    }
}

/// What one round's rollouts did, logged with the round's last update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundMetrics {
    /// Round index (from 0).
    pub round: u64,
    /// Rollouts run.
    pub rollouts: usize,
    /// Share of them that completed the task.
    pub success_rate: f64,
    /// The same share per task practised, so a log shows which tasks' groups can carry a 0/1
    /// signal (a task at 0 or 1 gives GRPO nothing).
    #[serde(default)]
    pub task_success: BTreeMap<String, f64>,
    /// Control steps simulated.
    pub rollout_steps: usize,
    /// Re-plans.
    pub decisions: usize,
    /// GRPO: groups with mixed outcomes; DPO: preference pairs; PPO: all groups.
    pub groups_used: usize,
    /// Seconds spent on rollouts.
    pub rollout_s: f64,
    /// Distinct decisions the round's updates learned from, of the `signal_decisions` that
    /// carried a signal (GRPO and PPO; 0 for DPO, which draws pairs): what `draw` covers.
    #[serde(default)]
    pub trained_on: usize,
    /// Decisions that carried a learning signal (GRPO: those of groups with mixed outcomes;
    /// PPO: all).
    #[serde(default)]
    pub signal_decisions: usize,
}

/// What a round gives the updates to learn from.
enum Experience {
    /// GRPO: the decisions with a non-zero advantage, and each rollout's span of them (a
    /// minibatch draws a rollout, then one of its decisions, so every rollout weighs the same
    /// whatever its length, as GRPO's per-sequence mean does); PPO: every decision, with its
    /// return (drawn uniformly: PPO's objective is per time step).
    Advantaged {
        decisions: Vec<Decision>,
        returns: Option<Vec<f32>>,
        spans: Option<Vec<(usize, usize)>>,
    },
    /// DPO: the paired trajectories and the pairs.
    Pairs(Vec<Trajectory>, Vec<dpo::Pair>),
}

impl Experience {
    fn is_empty(&self) -> bool {
        match self {
            Experience::Advantaged { decisions, .. } => decisions.is_empty(),
            Experience::Pairs(_, p) => p.is_empty(),
        }
    }
}

/// Everything an RL run needs besides the learner.
pub struct RlRun<'a> {
    /// The run directory.
    pub run: &'a RunDir,
    /// The whole training config (its `[rl]` is the one run).
    pub config: &'a crate::train::TrainConfig,
    /// Its `[rl]` section.
    pub rl: &'a RlConfig,
    /// Where training runs (recorded in checkpoints).
    pub device: &'a ComputeDevice,
    /// Tokenizer of the policy.
    pub tokenizer: &'a Tokenizer,
    /// Demonstrations for the imitation term (`None` when `bc_weight` is 0).
    pub demos: Option<&'a DataMix>,
    /// The policy the run started from: DPO's reference, and what GRPO's and PPO's KL
    /// penalty (`kl`) compares with.
    pub reference: Option<&'a Policy>,
}

/// Runs rounds from update `start` (a round boundary) until `config.steps` updates are done,
/// writing metrics and checkpoints; stops early (with a checkpoint) at the first round
/// boundary after `stop` is set.
pub fn run(
    ctx: &RlRun<'_>,
    mut learner: Learner,
    start: u64,
    stop: &AtomicBool,
    mut progress: impl FnMut(Progress),
) -> Result<TrainOutcome> {
    let RlRun {
        run,
        config,
        rl,
        tokenizer,
        ..
    } = *ctx;
    let (suite, tasks) = rl.suite_and_tasks()?;
    let options = RolloutOptions {
        group_size: rl.group_size,
        execute_steps: rl.execute_steps,
        temperature: rl.temperature,
        variations: rl.variations()?,
    };
    let per_round = rl.updates_per_round;
    let save = |learner: &Learner, step: u64| {
        trainer::save(run, config, ctx.device, learner, tokenizer, None, step)
    };
    let mut checkpoint = run.latest()?.unwrap_or_default();
    let mut bad = trainer::BadSteps::new(config.max_bad_steps);
    let mut last_loss = f32::NAN;
    let mut step = start;
    while step < config.steps {
        if stop.load(Ordering::Relaxed) {
            let checkpoint = save(&learner, step)?;
            return Ok(TrainOutcome {
                step,
                last_loss,
                checkpoint,
                interrupted: true,
            });
        }
        let round = step / per_round;
        let started = Instant::now();
        let policy = learner.policy();
        let starts = rollouts::starts(&tasks, rl.starts, rl.seed_base + round * rl.starts as u64);
        let mut trajectories = rollouts::sample(
            &policy,
            tokenizer,
            &suite,
            &starts,
            &options,
            rollouts::round_seed(config.seed, ROLLOUT_SALT, round),
        )?;
        let stats = rollouts::stats(&trajectories);
        let task_success = rollouts::success_by_task(&trajectories);
        let (experience, groups_used) = match rl.method {
            RlMethod::Grpo => {
                let used = grpo::assign_advantages(&mut trajectories, starts.len(), rl.reward);
                let mut decisions = Vec::new();
                let mut spans = Vec::new();
                for t in trajectories {
                    if t.decisions.iter().any(|d| d.advantage != 0.0) {
                        spans.push((decisions.len(), t.decisions.len()));
                        decisions.extend(t.decisions);
                    }
                }
                let experience = Experience::Advantaged {
                    decisions,
                    returns: None,
                    spans: Some(spans),
                };
                (experience, used)
            }
            RlMethod::Ppo => {
                let all: Vec<&Decision> = trajectories.iter().flat_map(|t| &t.decisions).collect();
                let mut values = Vec::with_capacity(all.len());
                for chunk in all.chunks(rl.minibatch.max(1)) {
                    let (batch, _, _) = rollouts::update_inputs(&policy, tokenizer, chunk)?;
                    values.extend(learner.values(&batch)?);
                }
                let returns = ppo::assign_advantages(&mut trajectories, &values, &rl.ppo);
                let decisions = trajectories.into_iter().flat_map(|t| t.decisions).collect();
                let experience = Experience::Advantaged {
                    decisions,
                    returns: Some(returns),
                    spans: None,
                };
                (experience, starts.len())
            }
            RlMethod::Dpo => {
                let pairs = dpo::pairs(&trajectories, starts.len(), rl.dpo.margin);
                let n = pairs.len();
                (Experience::Pairs(trajectories, pairs), n)
            }
        };
        let signal_decisions = match &experience {
            Experience::Advantaged { decisions, .. } => decisions.len(),
            Experience::Pairs(..) => 0,
        };
        let mut metrics = RoundMetrics {
            round,
            rollouts: stats.rollouts,
            success_rate: stats.success_rate,
            task_success,
            rollout_steps: stats.steps,
            decisions: stats.decisions,
            groups_used,
            rollout_s: started.elapsed().as_secs_f64(),
            trained_on: 0,
            signal_decisions,
        };
        let mut used = vec![false; signal_decisions];
        let mut draw = step_rng(config.seed, round, DRAW_STREAM);
        let end = ((round + 1) * per_round).min(config.steps);
        let first = step;
        let pass = match (&experience, rl.draw) {
            (Experience::Advantaged { decisions, .. }, Draw::Pass) => {
                let mut order: Vec<usize> = (0..decisions.len()).collect();
                order.shuffle(&mut draw);
                Some(order)
            }
            _ => None,
        };
        let updates_started = Instant::now();
        let mut last = None;
        while step < end {
            let lr = config.schedule.lr_at(step, config.steps);
            let demos = match ctx.demos.filter(|_| rl.bc_weight > 0.0) {
                Some(mix) => Some(mix.batch(
                    policy.config(),
                    tokenizer,
                    config.batch_size,
                    config.seed,
                    step,
                )?),
                None => None,
            };
            let imitation = demos.as_ref().map(|batch| Imitation {
                batch,
                weight: rl.bc_weight,
            });
            // this update's share of the pass: the k-th of `end - first` even slices, or,
            // when the round has fewer decisions than updates, one decision in turn
            let share = pass.as_ref().map(|order| {
                let (k, n, u) = ((step - first) as usize, order.len(), (end - first) as usize);
                match n < u {
                    true => &order[(k % n.max(1)).min(n)..(k % n.max(1) + 1).min(n)],
                    false => &order[k * n / u..(k + 1) * n / u],
                }
            });
            let outcome = if experience.is_empty() || share.is_some_and(<[usize]>::is_empty) {
                bad.skipped += 1;
                None
            } else {
                let picked = pick_decisions(&experience, rl, &mut draw, share);
                let result = update(
                    ctx,
                    &mut learner,
                    &experience,
                    &policy,
                    (&mut draw, picked.as_deref()),
                    lr,
                    imitation,
                );
                match result {
                    Ok(outcome) => {
                        for &i in picked.iter().flatten() {
                            used[i] = true;
                        }
                        bad.good();
                        last_loss = outcome.loss;
                        Some(outcome)
                    }
                    Err(Error::Numerics(why)) => {
                        bad.bad(step, &why, &checkpoint)?;
                        None
                    }
                    Err(other) => return Err(other),
                }
            };
            if outcome.is_some() {
                last = outcome;
            }
            step += 1;
            let round_end = step == end;
            if step.is_multiple_of(config.log_every) || round_end {
                let mut line = metrics_line(step, last.as_ref(), lr, bad.skipped);
                if round_end {
                    let updates_s = updates_started.elapsed().as_secs_f64();
                    line.update_ms = updates_s * 1e3 / (end - round * per_round).max(1) as f64;
                    metrics.trained_on = used.iter().filter(|&&u| u).count();
                    line.rl = Some(metrics.clone());
                }
                run.append_metrics(&line)?;
            }
            progress(Progress {
                step,
                total: config.steps,
                loss: last_loss,
            });
        }
        let due = step / config.checkpoint_every
            > (step - (end - round * per_round)) / config.checkpoint_every;
        if due || step == config.steps {
            checkpoint = save(&learner, step)?;
        }
    }
    Ok(TrainOutcome {
        step,
        last_loss,
        checkpoint,
        interrupted: false,
    })
}

/// The decisions an update of an advantaged experience learns from: `share` (its slice of a
/// pass over the round) when given, else `minibatch` drawn at random (GRPO: a rollout, then
/// one of its decisions); `None` for preference pairs, which [`update`] draws itself.
fn pick_decisions(
    experience: &Experience,
    rl: &RlConfig,
    draw: &mut impl rand::Rng,
    share: Option<&[usize]>,
) -> Option<Vec<usize>> {
    let Experience::Advantaged {
        decisions, spans, ..
    } = experience
    else {
        return None;
    };
    let mut pick =
        |n: usize, k: usize| -> Vec<usize> { (0..k).map(|_| draw.random_range(0..n)).collect() };
    Some(match (share, spans) {
        (Some(share), _) => share.to_vec(),
        (None, Some(spans)) => pick(spans.len(), rl.minibatch)
            .into_iter()
            .map(|t| {
                let (start, len) = spans[t];
                start + pick(len, 1)[0]
            })
            .collect(),
        (None, None) => pick(decisions.len(), rl.minibatch),
    })
}

/// One update on a round's experience: on the `picked` decisions ([`pick_decisions`]) of an
/// advantaged experience, or on preference pairs drawn here.
fn update(
    ctx: &RlRun<'_>,
    learner: &mut Learner,
    experience: &Experience,
    policy: &Policy,
    (draw, picked): (&mut impl rand::Rng, Option<&[usize]>),
    lr: f64,
    imitation: Option<Imitation<'_>>,
) -> Result<crate::train::StepOutcome> {
    let (rl, tokenizer) = (ctx.rl, ctx.tokenizer);
    let mut pick =
        |n: usize, k: usize| -> Vec<usize> { (0..k).map(|_| draw.random_range(0..n)).collect() };
    match experience {
        Experience::Advantaged {
            decisions, returns, ..
        } => {
            let picked =
                picked.ok_or_else(|| Error::invalid("an advantaged update needs its decisions"))?;
            let chosen: Vec<&Decision> = picked.iter().map(|&i| &decisions[i]).collect();
            let (batch, actions, mask) = rollouts::update_inputs(policy, tokenizer, &chosen)?;
            let old: Vec<f32> = chosen
                .iter()
                .flat_map(|d| d.value_log_probs.iter().copied())
                .collect();
            let adv: Vec<f32> = chosen.iter().map(|d| d.advantage).collect();
            let targets: Option<Vec<f32>> = returns
                .as_ref()
                .map(|r| picked.iter().map(|&i| r[i]).collect());
            let reference = match rl.kl > 0.0 {
                true => Some(rollouts::value_log_probs(
                    ctx.reference
                        .ok_or_else(|| Error::invalid("rl.kl needs the reference policy"))?,
                    &batch,
                    &actions,
                    rl.temperature,
                )?),
                false => None,
            };
            let chunks = Chunks {
                batch: &batch,
                actions: &actions,
                mask: &mask,
            };
            let surrogate = Surrogate {
                old_log_probs: &old,
                advantages: &adv,
                clip: rl.clip,
                temperature: rl.temperature,
                value_targets: targets.as_deref().map(|t| (t, rl.ppo.value_weight)),
                reference: reference.as_deref().map(|r| (r, rl.kl)),
            };
            learner.clipped_policy_step(chunks, surrogate, lr, imitation)
        }
        Experience::Pairs(trajectories, pairs) => {
            let per = rl.dpo.decisions_per_trajectory;
            let count = (rl.minibatch / (2 * per)).max(1);
            let chosen_pairs: Vec<dpo::Pair> = pick(pairs.len(), count)
                .into_iter()
                .map(|i| pairs[i])
                .collect();
            let slots = dpo::draw_decisions(trajectories, &chosen_pairs, per, draw);
            let decisions: Vec<&Decision> = slots
                .iter()
                .map(|&(t, d)| &trajectories[t].decisions[d])
                .collect();
            let (batch, actions, mask) = rollouts::update_inputs(policy, tokenizer, &decisions)?;
            let reference = ctx
                .reference
                .ok_or_else(|| Error::invalid("DPO needs its reference policy"))?;
            let reference_lp = rollouts::chunk_log_probs(reference, &batch, &actions, &mask)?;
            let matrix = dpo::pair_matrix(chosen_pairs.len(), per);
            let chunks = Chunks {
                batch: &batch,
                actions: &actions,
                mask: &mask,
            };
            learner.dpo_step(
                chunks,
                &reference_lp,
                &matrix,
                chosen_pairs.len(),
                rl.dpo.beta,
                lr,
                imitation,
            )
        }
    }
}

/// A metrics line for an RL update (loss and diagnostics of the last update that ran).
fn metrics_line(
    step: u64,
    outcome: Option<&crate::train::StepOutcome>,
    lr: f64,
    skipped: u64,
) -> MetricsLine {
    let (loss, grad_norm, terms) = match outcome {
        Some(o) => (o.loss, o.grad_norm, o.auxiliary.clone()),
        None => (f32::NAN, f32::NAN, Vec::new()),
    };
    MetricsLine {
        step,
        loss,
        grad_norm,
        lr,
        samples_per_s: 0.0,
        data_ms: 0.0,
        update_ms: 0.0,
        skipped,
        action_loss: None,
        auxiliary: terms.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        rl: None,
    }
}
