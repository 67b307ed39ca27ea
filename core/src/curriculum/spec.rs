//! Curriculum files: stages with their training signals, constraints and gates, read from TOML
//! with unknown keys rejected and every name checked before any training starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sim::{Suite, Variations};
use crate::train::recipes::augment::AugmentConfig;
use crate::train::recipes::auxiliary::AuxiliaryConfig;
use crate::train::recipes::{self, dagger::DaggerOptions};

/// A whole curriculum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurriculumSpec {
    /// Short name.
    pub name: String,
    /// One line on what it is for.
    #[serde(default)]
    pub description: String,
    /// Checkpoint to start from; absent to start from scratch with `preset`.
    pub init: Option<PathBuf>,
    /// Preset when starting from scratch.
    #[serde(default = "default_preset")]
    pub preset: String,
    /// The suite the curriculum teaches (built-in name or TOML path).
    pub suite: String,
    /// Seed of everything random in the run.
    #[serde(default)]
    pub seed: u64,
    /// Samples per update.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Updates between gate evaluations (and checkpoints).
    #[serde(default = "default_eval_every")]
    pub eval_every: u64,
    /// Teacher demonstrations recorded at the start, shared by all stages.
    #[serde(default = "default_demos")]
    pub demos: usize,
    /// Teacher action noise of those demonstrations.
    #[serde(default = "default_demo_noise")]
    pub demo_noise: f32,
    /// Radius (metres) over which the teacher averages each label, for the demonstrations and
    /// every DAgger round's corrections alike ([`TeacherConfig::smoothing`]; 0, the default:
    /// the plain teacher).
    ///
    /// [`TeacherConfig::smoothing`]: crate::sim::TeacherConfig::smoothing
    #[serde(default, skip_serializing_if = "crate::sim::TeacherConfig::is_plain")]
    pub teacher_smoothing: f32,
    /// Train on both CPU threads (not bit-reproducible); see `TrainConfig::deterministic`.
    #[serde(default = "default_true")]
    pub deterministic: bool,
    /// Moving average of the weights (see `TrainConfig::ema_decay`).
    pub ema_decay: Option<f64>,
    /// Set only on the variants `praxis report --curriculum` derives (see
    /// [`ablation`](super::ablation)): every stage then runs its whole budget whatever its
    /// gate says (equal compute across variants), and the stage order is not checked (one
    /// variant reverses it on purpose). Gates are still measured and logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ablation: Option<String>,
    /// The stages, in order.
    pub stages: Vec<StageSpec>,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// `cognitive`, `associative`, `autonomous` (or any name).
    pub name: String,
    /// What the stage is for, in a sentence.
    #[serde(default)]
    pub description: String,
    /// Training signals: recipe name → weight (share of each update's batch).
    pub signals: BTreeMap<String, f64>,
    /// Peak learning rate of the stage (warm-up then cosine over its budget).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Auxiliary losses trained beside the action loss in this stage (the `auxiliary`
    /// recipes: affordance, distill, forward_kinematics, inverse_dynamics, subtask,
    /// future_latent); off when absent. Every stage that uses them must share one `horizon`.
    #[serde(default, skip_serializing_if = "no_auxiliary")]
    pub auxiliary: AuxiliaryConfig,
    /// What the stage holds back.
    #[serde(default)]
    pub constraints: Constraints,
    /// DAgger settings, when `signals` has `dagger`.
    #[serde(default)]
    pub dagger: DaggerOptions,
    /// Updates between DAgger rounds.
    #[serde(default = "default_dagger_every")]
    pub dagger_every: u64,
    /// When to move on.
    pub gate: GateSpec,
}

/// Newell's three kinds of constraint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Constraints {
    /// Task constraints.
    pub task: TaskConstraints,
    /// Environment constraints.
    pub environment: EnvironmentConstraints,
    /// Embodiment constraints.
    pub embodiment: EmbodimentConstraints,
}

/// Which tasks the stage practises.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaskConstraints {
    /// Task names (empty: all of the suite's tasks).
    pub tasks: Vec<String>,
    /// Only tasks with at most this many sub-goals.
    pub max_subgoals: Option<usize>,
}

/// Perturbations of the world in the stage's own rollouts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvironmentConstraints {
    /// Variations switched on in corrected rollouts (names as in `praxis eval --variations`).
    pub variations: Vec<String>,
    /// Image augmentation of the stage's training samples (the `augment` recipe: random
    /// shift and colour jitter); off when absent.
    #[serde(skip_serializing_if = "is_off")]
    pub augment: AugmentConfig,
}

fn no_auxiliary(auxiliary: &AuxiliaryConfig) -> bool {
    !auxiliary.is_active()
}

fn is_off(augment: &AugmentConfig) -> bool {
    !augment.is_active()
}

/// How much of the body the policy drives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbodimentConstraints {
    /// Actions of each predicted chunk executed before re-planning.
    pub execute_steps: usize,
}

impl Default for EmbodimentConstraints {
    fn default() -> Self {
        EmbodimentConstraints { execute_steps: 4 }
    }
}

/// A gate: every listed criterion must hold, measured over at least `min_episodes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// Updates the stage may take at most.
    pub budget: u64,
    /// What happens when the budget runs out with the gate shut: `stop` (wait for a person to
    /// advance or rewind) or `advance` (move on, recorded as such).
    #[serde(default = "default_on_budget")]
    pub on_budget: String,
    /// Evaluation episodes a success measurement needs.
    #[serde(default = "default_min_episodes")]
    pub min_episodes: usize,
    /// Success on the stage's tasks (nominal) at least this.
    pub success: Option<f64>,
    /// Teacher intervention rate of the last corrected round at most this.
    pub intervention_rate: Option<f64>,
    /// The success curve has flattened: the last `plateau_window` evaluations span at most
    /// this many points of success.
    pub plateau: Option<f64>,
    /// Evaluations the plateau looks at.
    #[serde(default = "default_plateau_window")]
    pub plateau_window: usize,
    /// Nominal minus perturbed success at most this.
    pub robustness_gap: Option<f64>,
    /// Variations of the perturbed evaluation.
    #[serde(default)]
    pub perturbations: Vec<String>,
    /// Success on the earlier stages' tasks at least this.
    pub retention: Option<f64>,
}

fn default_preset() -> String {
    "s".into()
}
fn default_batch() -> usize {
    32
}
fn default_eval_every() -> u64 {
    200
}
fn default_demos() -> usize {
    300
}
fn default_demo_noise() -> f32 {
    0.05
}
fn default_true() -> bool {
    true
}
fn default_lr() -> f64 {
    1e-3
}
fn default_dagger_every() -> u64 {
    200
}
fn default_on_budget() -> String {
    "stop".into()
}
fn default_min_episodes() -> usize {
    20
}
fn default_plateau_window() -> usize {
    3
}

impl CurriculumSpec {
    /// Reads and checks a curriculum file; relative paths resolve against its directory, made
    /// absolute, so the spec a run saves names the same files when the run is opened again.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = crate::train::config::file_dir(path)?;
        Self::from_toml(&text, &path.display().to_string(), &base)
    }

    /// Parses and checks a curriculum.
    pub fn from_toml(text: &str, origin: &str, base: &Path) -> Result<Self> {
        let mut spec: CurriculumSpec = toml::from_str(text).map_err(|e| {
            Error::invalid(format!(
                "{origin}: {}",
                e.message().lines().next().unwrap_or("")
            ))
        })?;
        if let Some(init) = spec.init.as_mut()
            && init.is_relative()
        {
            *init = base.join(&*init);
        }
        if spec.suite.ends_with(".toml") && Path::new(&spec.suite).is_relative() {
            spec.suite = base.join(&spec.suite).display().to_string();
        }
        spec.validate()
            .map_err(|e| Error::invalid(format!("{origin}: {e}")))?;
        Ok(spec)
    }

    /// The suite, loaded.
    pub fn load_suite(&self) -> Result<Suite> {
        Suite::resolve(&self.suite).map_err(|e| Error::invalid(e.to_string()))
    }

    /// Task names a stage practises.
    pub fn stage_tasks(&self, suite: &Suite, stage: usize) -> Vec<String> {
        let c = &self.stages[stage].constraints.task;
        suite
            .tasks
            .iter()
            .filter(|t| c.tasks.is_empty() || c.tasks.contains(&t.name))
            .filter(|t| c.max_subgoals.is_none_or(|m| t.goals.len() <= m))
            .map(|t| t.name.clone())
            .collect()
    }

    /// The look-ahead of the first stage with auxiliary losses (`None`: no stage has any).
    pub fn auxiliary_horizon(&self) -> Option<usize> {
        self.stages
            .iter()
            .find(|s| s.auxiliary.is_active())
            .map(|s| s.auxiliary.horizon)
    }

    /// Every check that can be made without training.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(m));
        if self.stages.is_empty() {
            return bad("the curriculum has no stages".into());
        }
        if self.batch_size == 0 || self.eval_every == 0 {
            return bad("batch_size and eval_every must be at least 1".into());
        }
        if let Err(why) = crate::sim::TeacherConfig::check_smoothing(self.teacher_smoothing) {
            return bad(format!("teacher_smoothing {why}"));
        }
        let suite = self.load_suite()?;
        let canonical = ["cognitive", "associative", "autonomous"];
        let order: Vec<usize> = self
            .stages
            .iter()
            .filter_map(|s| canonical.iter().position(|c| *c == s.name))
            .collect();
        if self.ablation.is_none() && order.windows(2).any(|w| w[0] >= w[1]) {
            return bad(format!(
                "stages out of order: {} (Fitts and Posner's order is cognitive, associative, \
                 autonomous)",
                self.stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            let at = format!("stage {} ({})", i + 1, stage.name);
            if stage.signals.is_empty() {
                return bad(format!("{at}: no training signals"));
            }
            for (recipe, weight) in &stage.signals {
                if !recipes::KNOWN.contains(&recipe.as_str()) {
                    return bad(format!(
                        "{at}: unknown recipe '{recipe}' (known: {})",
                        recipes::KNOWN.join(", ")
                    ));
                }
                if !(weight.is_finite() && *weight > 0.0) {
                    return bad(format!("{at}: weight of '{recipe}' must be positive"));
                }
            }
            if stage.dagger.pooled
                && !(stage.signals.contains_key("dagger")
                    && stage.signals.contains_key("imitation"))
            {
                return bad(format!(
                    "{at}: dagger.pooled pools the corrections with the demonstrations, so the stage needs both the 'imitation' and the 'dagger' signal"
                ));
            }
            if stage.dagger.takeover_after == 0 {
                return bad(format!(
                    "{at}: dagger.takeover_after = 0 would hand the teacher every step; give at least 1"
                ));
            }
            let execute = stage.constraints.embodiment.execute_steps;
            if stage.dagger.execute_steps != execute {
                return bad(format!(
                    "{at}: dagger.execute_steps = {} differs from constraints.embodiment.execute_steps = {execute}, which corrected rounds use; set that one",
                    stage.dagger.execute_steps
                ));
            }
            if stage.dagger.label_budget == Some(0) {
                return bad(format!(
                    "{at}: dagger.label_budget = 0 keeps no correction; give at least 1 or leave it out"
                ));
            }
            if stage.signals.contains_key("replay") && i == 0 {
                return bad(format!("{at}: 'replay' needs an earlier stage to replay"));
            }
            if !(stage.lr.is_finite() && stage.lr > 0.0) {
                return bad(format!("{at}: lr must be a positive number"));
            }
            for task in &stage.constraints.task.tasks {
                if suite.task(task).is_err() {
                    return bad(format!(
                        "{at}: unknown task '{task}' in suite '{}'",
                        suite.name
                    ));
                }
            }
            if self.stage_tasks(&suite, i).is_empty() {
                return bad(format!("{at}: its constraints leave no task to practise"));
            }
            Variations::from_names(&stage.constraints.environment.variations)
                .map_err(|e| Error::invalid(format!("{at}: {e}")))?;
            stage
                .constraints
                .environment
                .augment
                .validate()
                .map_err(|e| Error::invalid(format!("{at}: {e}")))?;
            if stage.auxiliary.is_active() {
                stage
                    .auxiliary
                    .validate(usize::MAX)
                    .map_err(|e| Error::invalid(format!("{at}: {e}")))?;
                if stage.auxiliary.distill > 0.0 && self.init.is_none() {
                    return bad(format!(
                        "{at}: auxiliary.distill needs a starting checkpoint (init)"
                    ));
                }
                if let Some(first) = self.auxiliary_horizon()
                    && first != stage.auxiliary.horizon
                {
                    return bad(format!(
                        "{at}: auxiliary.horizon is {} but an earlier stage uses {first} (the \
                         heads are shared)",
                        stage.auxiliary.horizon
                    ));
                }
            }
            Variations::from_names(&stage.gate.perturbations)
                .map_err(|e| Error::invalid(format!("{at}: {e}")))?;
            stage
                .gate
                .validate(&at, &suite, self.stage_tasks(&suite, i).len())?;
            if stage.gate.retention.is_some() {
                if i == 0 {
                    return bad(format!("{at}: retention needs an earlier stage"));
                }
                let mut earlier: Vec<String> =
                    (0..i).flat_map(|s| self.stage_tasks(&suite, s)).collect();
                earlier.sort();
                earlier.dedup();
                let available = earlier.len() * suite.eval_seeds.len();
                if stage.gate.min_episodes > available {
                    return bad(format!(
                        "{at}: gate: retention can never be measured: min_episodes = {} but \
                         the earlier stages' tasks have {available} evaluation episodes",
                        stage.gate.min_episodes
                    ));
                }
            }
        }
        Ok(())
    }
}

impl GateSpec {
    /// Fails on a gate that can never open or has nothing to measure.
    fn validate(&self, at: &str, suite: &Suite, tasks: usize) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("{at}: gate: {m}")));
        if self.budget == 0 {
            return bad("budget must be at least 1 update".into());
        }
        if self.on_budget != "stop" && self.on_budget != "advance" {
            return bad(format!(
                "on_budget is '{}', expected 'stop' or 'advance'",
                self.on_budget
            ));
        }
        let rates = [
            ("success", self.success),
            ("intervention_rate", self.intervention_rate),
            ("plateau", self.plateau),
            ("robustness_gap", self.robustness_gap),
            ("retention", self.retention),
        ];
        if rates.iter().all(|(_, v)| v.is_none()) {
            return bad(
                "no criterion (success, intervention_rate, plateau, robustness_gap, retention)"
                    .into(),
            );
        }
        for (name, value) in rates {
            if let Some(v) = value
                && !(0.0..=1.0).contains(&v)
            {
                return bad(format!(
                    "{name} = {v} can never be met (rates are between 0 and 1)"
                ));
            }
        }
        let available = tasks * suite.eval_seeds.len();
        if self.min_episodes == 0 || self.min_episodes > available {
            return bad(format!(
                "min_episodes = {} but the stage's tasks have {available} evaluation episodes",
                self.min_episodes
            ));
        }
        if self.plateau.is_some() && self.plateau_window < 2 {
            return bad("plateau_window must be at least 2".into());
        }
        if self.robustness_gap.is_some() && self.perturbations.is_empty() {
            return bad("robustness_gap needs perturbations to measure against".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A curriculum named by a relative path, with its suite file named relatively, is saved
    /// resolved in its run directory and read back from there when the run is opened again:
    /// the suite it names is still the same file.
    #[test]
    fn a_saved_spec_names_the_same_suite_when_read_back_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let config_dir = dir.path().join("curricula");
        std::fs::create_dir(&config_dir).unwrap();
        let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/suites/goal.toml");
        std::fs::copy(&suite, config_dir.join("my-goal.toml")).unwrap();
        let text = "name = \"t\"\nsuite = \"my-goal.toml\"\npreset = \"xs\"\n\
                    [[stages]]\nname = \"cognitive\"\nsignals = { imitation = 1.0 }\n\
                    [stages.gate]\nbudget = 10\nsuccess = 1.0\n";
        std::fs::write(config_dir.join("t.toml"), text).unwrap();
        let relative = crate::train::config::relative_to_cwd(&config_dir.join("t.toml"));
        let spec = CurriculumSpec::load(&relative).unwrap();
        // deeper than the working directory, so a path relative to it cannot land by chance
        let run = dir.path().join("report/goal/seed-0/run");
        std::fs::create_dir_all(&run).unwrap();
        let saved = run.join("curriculum.toml");
        std::fs::write(&saved, toml::to_string_pretty(&spec).unwrap()).unwrap();
        let again = CurriculumSpec::load(&saved).unwrap();
        assert_eq!(again.load_suite().unwrap().name, "goal");
    }
}
