//! **Task comprehension → interactive correction.** DAgger (Ross, Gordon and Bagnell, 2011,
//! "A Reduction of Imitation Learning and Structured Prediction to No-Regret Online
//! Learning"), with the scripted teacher as the expert and HG-DAgger-style takeover (Kelly et
//! al., 2019): the policy drives, the teacher labels every state the policy visits with its
//! own action chunk (what it would do from there: `chunk_labels`), and when the policy strays
//! (its action disagrees with the teacher's for several steps in a row) the teacher takes the
//! controls for a while. The labelled states are added to
//! the training data, so the policy learns to recover from its own mistakes — the states plain
//! imitation never shows it.
//!
//! Which states become training data is a choice (`labels`): every state the policy visits
//! (DAgger's aggregation, the default), or only where the policy went wrong — the straying
//! steps that made the teacher take over and the steps it then drove (`takeover`), or the
//! steps it drove alone (`driven`, HG-DAgger's dataset as published, in which the expert
//! labels only what it executes). The second spends teacher labels only on
//! the policy's mistakes, so a fixed label budget buys corrections from many more rollouts.
//!
//! When the teacher hands the controls back is a choice (`handback`): after a fixed
//! `takeover_steps`, or once it has completed the sub-goal it took over in (HG-DAgger's expert
//! keeps control until the novice can go on; RaC's interventions finish the sub-task), so every
//! takeover shows a whole recovery. `label_budget` caps a round's labelled samples, keeping
//! the rollouts' pieces in order while they fit, for comparisons at equal teacher labels.
//!
//! How the labels are trained on is a choice too (`pooled`): by default the corrections are
//! a signal of their own, drawn at the stage's `dagger` weight however few they are; pooled,
//! they join the demonstrations in one set, each sample equally likely, as in the papers.
//!
//! All rollouts of a round run in lockstep, one batched forward pass per re-plan, like the
//! evaluation harness.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Episode;
use crate::data::format::Plans;
use crate::error::{Error, Result};
use crate::model::{Policy, Tokenizer};
use crate::sim::{Action, Env, EnvConfig, Suite, Teacher, TeacherConfig, Variations};

/// Which visited states a round keeps, labelled by the teacher, as training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Labels {
    /// Every state of every rollout (DAgger).
    #[default]
    Every,
    /// Only the takeovers: the straying steps that triggered each and the steps the teacher
    /// then drove (HG-DAgger); each takeover is kept as an episode of its own.
    Takeover,
    /// Only the steps the teacher drove, each takeover an episode of its own: HG-DAgger's
    /// dataset as published, the expert's intervention data without the novice's straying
    /// states. Those states sit where the policy cannot tell the teacher's branches apart, and
    /// their labels contradict the demonstrations most often (`docs/results/dagger-why/`).
    Driven,
}

/// What a labelled state's action-chunk target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChunkLabels {
    /// The teacher's own next actions from that state ([`Env::teacher_plan`]: a copy of the
    /// teacher drives a copy of the world), as a demonstration's chunk is its teacher's next
    /// actions: what the teacher would do from here.
    #[default]
    Plan,
    /// The teacher's one-step labels of the states that followed in the rollout: the form
    /// before 2026-12-06 (protocol versions 1-5). Where the policy drove, those states are
    /// where the policy's moves led, so the chunk answers moves the policy had not made yet
    /// when it was at this state, and executing it corrects for mistakes not made.
    Visited,
}

/// When the teacher, having taken over, gives the controls back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handback {
    /// After a fixed `takeover_steps`.
    #[default]
    Steps,
    /// Once the sub-goal it took over in is reached (or the episode ends): every takeover
    /// recovers from the state the policy strayed to *and* completes that sub-goal, as
    /// HG-DAgger's expert keeps the controls until the novice is back where it can go on and
    /// RaC's interventions finish the sub-task. A short fixed takeover shows the first steps of
    /// a recovery, never where it leads; on a push that is a fraction of the skill.
    Subgoal,
}

/// How corrected rollouts are collected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaggerOptions {
    /// Rollouts per round.
    pub episodes: usize,
    /// Actions of each predicted chunk executed before re-planning. A curriculum stage's
    /// rounds use its `constraints.embodiment.execute_steps` (as its evaluations do), and a
    /// stage whose `dagger` table says otherwise is refused.
    pub execute_steps: usize,
    /// Disagreement (L2 distance between the policy's and the teacher's normalised motion
    /// commands) above which a step counts as straying.
    pub stray_distance: f32,
    /// Straying steps in a row before the teacher takes over.
    pub takeover_after: u32,
    /// Steps the teacher keeps the controls once it has taken over (`handback = "steps"`;
    /// not used with `"subgoal"`).
    pub takeover_steps: u32,
    /// When the teacher gives the controls back.
    pub handback: Handback,
    /// At most this many labelled samples a round (none: no limit): the round's rollouts'
    /// labelled pieces are kept in rollout order (tasks round-robin) while they fit (and when
    /// even the first does not, its first `label_budget` frames), so no round labels more than
    /// a comparison at equal teacher labels allows, whatever a takeover's length; a round may
    /// keep fewer when its next piece would overflow.
    pub label_budget: Option<usize>,
    /// Roll out only the stage's tasks in the success band (measured at 10–90% at the last
    /// gate evaluation; all of them before the first or when none is in it), so corrections
    /// land where the policy fails, not on tasks it already solves every time.
    pub success_band: bool,
    /// Which visited states become training data.
    pub labels: Labels,
    /// What each labelled state's action-chunk target is.
    pub chunk_labels: ChunkLabels,
    /// Train on the pooled data: the stage's demonstrations and every round's labels in one
    /// set, each sample equally likely (the aggregate dataset `D ← D ∪ D_i` both DAgger and
    /// HG-DAgger train on), instead of drawing the corrections by the stage's `dagger` signal
    /// weight whatever their number. The pool is drawn with the `imitation` and `dagger`
    /// weights together, so it needs both signals.
    pub pooled: bool,
    /// The teacher's label smoothing radius, metres ([`TeacherConfig::smoothing`]). Not part
    /// of the `dagger` table: a curriculum's rounds use its `teacher_smoothing`, so the
    /// corrections come from the same teacher as its demonstrations.
    #[serde(skip)]
    pub teacher_smoothing: f32,
}

impl Default for DaggerOptions {
    fn default() -> Self {
        DaggerOptions {
            episodes: 28,
            execute_steps: 4,
            stray_distance: 0.6,
            takeover_after: 3,
            takeover_steps: 6,
            handback: Handback::Steps,
            label_budget: None,
            success_band: false,
            labels: Labels::Every,
            chunk_labels: ChunkLabels::Plan,
            pooled: false,
            teacher_smoothing: 0.0,
        }
    }
}

/// What made the teacher take over in a round: how often a straying streak reached
/// `takeover_after` and why, and how the rollouts it happened in ended. With `takeover_steps =
/// 0` the teacher never drives, so these are the takeovers that *would* have happened and the
/// outcomes the policy reaches on its own after them: a trigger in a rollout the policy then
/// completes alone was a disagreement, not a mistake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triggers {
    /// Straying streaks that reached `takeover_after`.
    pub count: usize,
    /// Of them, those in which the policy's motion stayed within `stray_distance` of the
    /// teacher's at every step: only the gripper disagreed.
    pub grip_only: usize,
    /// Rollouts with at least one trigger.
    pub rollouts: usize,
    /// Of those rollouts, the ones that reached the goal.
    pub rollouts_succeeded: usize,
}

/// What a round collected.
#[derive(Debug, Clone)]
pub struct DaggerRound {
    /// Teacher-labelled episodes (the executed trajectory, the teacher's actions as labels).
    pub episodes: Vec<Episode>,
    /// Share of control steps the teacher executed.
    pub intervention_rate: f64,
    /// Share of rollouts that reached the goal.
    pub success_rate: f64,
    /// Labelled samples kept as training data (every control step, or the takeovers').
    pub labelled: usize,
    /// What triggered the takeovers.
    pub triggers: Triggers,
}

/// Who drives a rollout now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    /// The policy.
    Policy,
    /// The teacher, for this many more steps, at least one (`handback = "steps"`).
    TeacherFor(u32),
    /// The teacher, until the sub-goal of this index is passed (`handback = "subgoal"`).
    TeacherUntilPast(usize),
}

struct Rollout {
    env: Env,
    teacher: Teacher,
    obs: crate::sim::Observation,
    episode: Episode,
    done: bool,
    straying: u32,
    /// Whether every step of the current straying streak disagreed on the gripper alone.
    streak_grip_only: bool,
    /// Straying streaks that reached `takeover_after`, and how many of them on the gripper alone.
    triggers: usize,
    grip_only_triggers: usize,
    control: Control,
    teacher_steps: usize,
    /// Per frame: part of a takeover (the straying steps before it, or teacher-driven).
    takeover: Vec<bool>,
    /// Per frame: driven by the teacher.
    driven: Vec<bool>,
}

/// Runs one round of corrected rollouts of `policy` on `tasks` of `suite` (round-robin), from
/// seeds `seed_base + k`.
pub fn collect(
    policy: &Policy,
    tokenizer: &Tokenizer,
    suite: &Suite,
    tasks: &[String],
    seed_base: u64,
    variations: Variations,
    options: &DaggerOptions,
) -> Result<DaggerRound> {
    if tasks.is_empty() || options.episodes == 0 {
        return Err(Error::invalid("a DAgger round needs tasks and episodes"));
    }
    let config = policy.config().clone();
    let env_config = EnvConfig {
        image_size: config.image_size as u32,
        variations,
        ..EnvConfig::default()
    };
    let mut rollouts = (0..options.episodes)
        .map(|k| -> Result<Rollout> {
            let task = &tasks[k % tasks.len()];
            let seed = seed_base + k as u64;
            let mut env = Env::new(suite, task, env_config)?;
            let obs = env.reset(seed)?;
            let mut episode = crate::data::record::start_episode(&env, &obs, task, seed);
            if options.chunk_labels == ChunkLabels::Plan {
                episode.plans = Some(Plans {
                    len: config.chunk_len as u32,
                    steps: Vec::new(),
                    actions: Vec::new(),
                });
            }
            Ok(Rollout {
                env,
                teacher: Teacher::new(TeacherConfig {
                    noise_std: 0.0,
                    seed,
                    smoothing: options.teacher_smoothing,
                }),
                obs,
                episode,
                done: false,
                straying: 0,
                streak_grip_only: false,
                triggers: 0,
                grip_only_triggers: 0,
                control: Control::Policy,
                teacher_steps: 0,
                takeover: Vec::new(),
                driven: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut rng = crate::train::loader::step_rng(seed_base, 0, 4);
    let execute = options.execute_steps.clamp(1, config.chunk_len);
    let per_episode = config.chunk_len * config.action_dim;
    loop {
        let active: Vec<usize> = (0..rollouts.len()).filter(|&i| !rollouts[i].done).collect();
        if active.is_empty() {
            break;
        }
        let observations: Vec<&crate::sim::Observation> =
            active.iter().map(|&i| &rollouts[i].obs).collect();
        let chunk = crate::eval::act_batch(policy, tokenizer, &observations, &mut rng)?;
        let mut selected: Vec<&mut Rollout> = rollouts.iter_mut().filter(|r| !r.done).collect();
        selected
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(slot, rollout)| -> Result<()> {
                let dims = rollout.env.action_dim();
                for k in 0..execute {
                    let start = slot * per_episode + k * config.action_dim;
                    let proposed = crate::eval::executable_action(&chunk[start..start + dims]);
                    if step_with_teacher(rollout, proposed, options)? {
                        break;
                    }
                }
                Ok(())
            })?;
    }
    let steps: usize = rollouts.iter().map(|r| r.episode.len()).sum();
    let teacher_steps: usize = rollouts.iter().map(|r| r.teacher_steps).sum();
    let successes = rollouts.iter().filter(|r| r.episode.success).count();
    let success_rate = successes as f64 / rollouts.len() as f64;
    let triggered = || rollouts.iter().filter(|r| r.triggers > 0);
    let triggers = Triggers {
        count: rollouts.iter().map(|r| r.triggers).sum(),
        grip_only: rollouts.iter().map(|r| r.grip_only_triggers).sum(),
        rollouts: triggered().count(),
        rollouts_succeeded: triggered().filter(|r| r.episode.success).count(),
    };
    let pieces: Vec<Episode> = match options.labels {
        Labels::Every => rollouts.into_iter().map(|r| r.episode).collect(),
        Labels::Takeover | Labels::Driven => rollouts
            .iter()
            .flat_map(|r| {
                let flags = match options.labels {
                    Labels::Driven => &r.driven,
                    _ => &r.takeover,
                };
                runs_of_true(flags)
                    .into_iter()
                    .map(|range| r.episode.frames(range))
            })
            .collect(),
    };
    let episodes = within_budget(pieces, options.label_budget);
    Ok(DaggerRound {
        intervention_rate: teacher_steps as f64 / steps.max(1) as f64,
        success_rate,
        labelled: episodes.iter().map(Episode::len).sum(),
        episodes,
        triggers,
    })
}

/// The leading `pieces` whose frames add up to at most `budget` (all without one); when even
/// the first is longer, its first `budget` frames.
fn within_budget(pieces: Vec<Episode>, budget: Option<usize>) -> Vec<Episode> {
    let Some(budget) = budget else {
        return pieces;
    };
    match pieces.first() {
        Some(first) if first.len() > budget => vec![first.frames(0..budget)],
        _ => {
            let mut used = 0;
            pieces
                .into_iter()
                .take_while(|piece| {
                    used += piece.len();
                    used <= budget
                })
                .collect()
        }
    }
}

/// The maximal ranges of consecutive `true`s.
fn runs_of_true(flags: &[bool]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &flag) in flags.iter().chain(std::iter::once(&false)).enumerate() {
        match (flag, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    runs
}

/// How an action disagrees with the teacher's label: the stray detector's test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disagreement {
    /// The motion commands (the first two values) lie more than the stray distance apart.
    pub motion: bool,
    /// The gripper commands (the last value, with more than two) differ in sign.
    pub grip: bool,
}

impl Disagreement {
    /// Whether the action counts as straying.
    pub fn strays(self) -> bool {
        self.motion || self.grip
    }
}

/// The stray detector's test of `proposed` against the teacher's `label` (normalised action
/// values), with motion commands further apart than `stray_distance` counting as straying;
/// shared by the rollouts and the diagnostics that apply it to recorded frames.
pub fn disagreement(proposed: &[f32], label: &[f32], stray_distance: f32) -> Disagreement {
    let distance = proposed
        .iter()
        .zip(label)
        .take(2)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f32>()
        .sqrt();
    let grip = |a: &[f32]| (a.len() > 2).then(|| a[a.len() - 1] > 0.0);
    Disagreement {
        motion: distance > stray_distance,
        grip: matches!((grip(proposed), grip(label)), (Some(p), Some(t)) if p != t),
    }
}

/// Index of the sub-goal `env`'s episode is at (0 before a reset).
fn progress_index(env: &Env) -> usize {
    env.progress().map_or(0, |p| p.index())
}

/// Labels the current state with the teacher's action, executes the policy's or (when it has
/// strayed) the teacher's, and records the frame. Returns whether the episode ended.
fn step_with_teacher(
    rollout: &mut Rollout,
    proposed: Action,
    options: &DaggerOptions,
) -> Result<bool> {
    if let Some(plans) = &mut rollout.episode.plans {
        let plan = rollout
            .env
            .teacher_plan(&rollout.teacher, plans.len as usize)?;
        let last = plan
            .last()
            .ok_or_else(|| Error::invalid("the teacher planned no action"))?;
        plans.steps.push(plan.len() as u32);
        for k in 0..plans.len as usize {
            plans
                .actions
                .extend_from_slice(&plan.get(k).unwrap_or(last).0);
        }
    }
    let label = rollout.teacher.act(&rollout.env)?;
    let info = rollout.env.info()?;
    if rollout.control == Control::Policy {
        let Disagreement {
            motion: motion_strays,
            grip: grip_disagrees,
        } = disagreement(&proposed.0, &label.0, options.stray_distance);
        if motion_strays || grip_disagrees {
            rollout.straying += 1;
            rollout.streak_grip_only =
                (rollout.straying == 1 || rollout.streak_grip_only) && !motion_strays;
        } else {
            rollout.straying = 0;
        }
        if rollout.straying >= options.takeover_after.max(1) {
            rollout.triggers += 1;
            rollout.grip_only_triggers += usize::from(rollout.streak_grip_only);
            rollout.control = match options.handback {
                Handback::Steps if options.takeover_steps == 0 => Control::Policy,
                Handback::Steps => Control::TeacherFor(options.takeover_steps),
                Handback::Subgoal => Control::TeacherUntilPast(progress_index(&rollout.env)),
            };
            // the straying steps that led here belong to the takeover (this one is the last)
            let n = rollout.takeover.len();
            let before = (rollout.straying as usize).saturating_sub(1).min(n);
            rollout.takeover[n - before..].fill(true);
            rollout.straying = 0;
        }
    }
    let teacher_drives = match rollout.control {
        Control::Policy => false,
        Control::TeacherFor(left) => {
            rollout.control = match left - 1 {
                0 => Control::Policy,
                left => Control::TeacherFor(left),
            };
            true
        }
        Control::TeacherUntilPast(_) => true,
    };
    rollout.takeover.push(teacher_drives);
    rollout.driven.push(teacher_drives);
    let executed = if teacher_drives {
        rollout.teacher_steps += 1;
        label.clone()
    } else {
        proposed
    };
    let ep = &mut rollout.episode;
    crate::data::record::push_frame(ep, &rollout.obs, &label, &info);
    let result = rollout.env.step(&executed)?;
    rollout.obs = result.obs;
    if let Control::TeacherUntilPast(goal) = rollout.control
        && progress_index(&rollout.env) > goal
    {
        rollout.control = Control::Policy;
    }
    if result.terminated || result.truncated {
        rollout.done = true;
        ep.success = result.terminated;
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreement_tests_the_motion_distance_and_the_gripper_sign() {
        let label = [0.0, 0.0, 1.0];
        // 0.5 apart in motion, same gripper: within 0.6
        assert!(!disagreement(&[0.3, 0.4, 0.2], &label, 0.6).strays());
        // 0.7 apart: motion strays
        let far = disagreement(&[0.0, 0.7, 0.5], &label, 0.6);
        assert_eq!((far.motion, far.grip), (true, false));
        // the gripper's sign differs: grip alone
        let grip = disagreement(&[0.1, 0.0, -0.5], &label, 0.6);
        assert_eq!((grip.motion, grip.grip), (false, true));
        // a pusher (two values) has no gripper to disagree on
        assert!(!disagreement(&[0.1, 0.0], &[0.0, 0.0], 0.6).strays());
    }
}
