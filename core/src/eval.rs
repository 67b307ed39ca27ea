//! Closed-loop evaluation: a policy drives the simulator on a suite's fixed evaluation seeds,
//! every episode of the suite in lockstep (one batched forward pass per re-plan), and the
//! report gives success per task and per suite with 95% Wilson confidence intervals.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::input::flow_noise;
use crate::model::{HostBatch, Observation, Policy, Tokenizer};
use crate::sim::{Action, Env, EnvConfig, Suite, Variations};

/// How to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Actions of each predicted chunk executed before the policy is asked again.
    pub execute_steps: usize,
    /// Held-out variations applied to every episode.
    pub variations: Variations,
    /// Seed of the flow head's noise.
    pub seed: u64,
    /// Episodes per task whose frames are kept (the first evaluation seeds), for rollout GIFs.
    pub record_per_task: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            execute_steps: 4,
            variations: Variations::default(),
            seed: 0,
            record_per_task: 0,
        }
    }
}

/// Results of one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskResult {
    /// Task name.
    pub task: String,
    /// Episodes run.
    pub episodes: usize,
    /// Episodes that succeeded.
    pub successes: usize,
    /// `successes / episodes`.
    pub success_rate: f64,
    /// 95% Wilson interval of the success rate.
    pub ci95: [f64; 2],
    /// Mean episode length in control steps.
    pub mean_length: f64,
    /// Mean fraction of the task's sub-goals completed by the episode's end: partial progress
    /// on multi-step tasks, where whole-episode success alone can read 0% for very different
    /// policies.
    pub subgoals_done: f64,
}

/// Results of a suite.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Suite name.
    pub suite: String,
    /// Episodes run.
    pub episodes: usize,
    /// Episodes that succeeded.
    pub successes: usize,
    /// Overall success rate.
    pub success_rate: f64,
    /// 95% Wilson interval of the success rate.
    pub ci95: [f64; 2],
    /// Mean episode length.
    pub mean_length: f64,
    /// Mean fraction of sub-goals completed per episode ([`TaskResult::subgoals_done`]).
    pub subgoals_done: f64,
    /// Per task.
    pub tasks: Vec<TaskResult>,
    /// Frames of the recorded episodes ([`EvalOptions::record_per_task`]); not serialised.
    #[serde(skip)]
    pub rollouts: Vec<Rollout>,
}

/// The camera frames of one evaluation episode, to look at what the policy did.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// Task name.
    pub task: String,
    /// Evaluation seed.
    pub seed: u64,
    /// Whether the episode succeeded.
    pub success: bool,
    /// Image side in pixels.
    pub size: u32,
    /// RGB frames, from the first observation to the last.
    pub frames: Vec<Vec<u8>>,
}

impl Rollout {
    /// A file name saying what the episode was and how it ended, e.g.
    /// `place-red-on-yellow-seed200-fail.gif`.
    pub fn file_name(&self) -> String {
        let outcome = if self.success { "ok" } else { "fail" };
        format!("{}-seed{}-{outcome}.gif", self.task, self.seed)
    }

    /// Writes the episode as a looping GIF at 25 fps, each pixel drawn as a `scale`×`scale`
    /// square (64-pixel camera frames are hard to see at their own size).
    pub fn write_gif(&self, path: &std::path::Path, scale: u32) -> Result<()> {
        let scale = scale.max(1) as usize;
        let side = self.size as usize;
        let big = side * scale;
        let frames: Vec<Vec<u8>> = self
            .frames
            .iter()
            .map(|rgb| {
                let mut out = vec![0u8; big * big * 3];
                for y in 0..big {
                    for x in 0..big {
                        let src = ((y / scale) * side + x / scale) * 3;
                        out[(y * big + x) * 3..][..3].copy_from_slice(&rgb[src..src + 3]);
                    }
                }
                out
            })
            .collect();
        // Written under a temporary name, then renamed: never a half-written GIF.
        let partial = path.with_extension("gif.partial");
        crate::sim::render::write_gif(&partial, big as u32, big as u32, &frames, 4)
            .map_err(|e| Error::invalid(e.to_string()))?;
        std::fs::rename(&partial, path)
            .map_err(|e| Error::invalid(format!("cannot write {}: {e}", path.display())))
    }
}

/// The 95% Wilson score interval of `k` successes in `n` trials.
pub fn wilson_interval(k: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let z = 1.959_963_984_540_054f64;
    let (n, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt() / denom;
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

/// A success rate with its 95% interval as the tables print it: `81.4% [70.8, 88.8]`.
pub fn percent_with_interval(rate: f64, ci95: [f64; 2]) -> String {
    format!(
        "{:.1}% [{:.1}, {:.1}]",
        100.0 * rate,
        100.0 * ci95[0],
        100.0 * ci95[1]
    )
}

struct Episode {
    task: String,
    seed: u64,
    /// Frames so far, when this episode is recorded.
    frames: Option<Vec<Vec<u8>>>,
    env: Env,
    obs: crate::sim::Observation,
    done: bool,
    success: bool,
    length: u32,
    /// Fraction of the task's sub-goals completed when the episode ended.
    subgoals_done: f64,
}

/// Runs `policy` on every task and evaluation seed of `suite`.
pub fn evaluate(
    policy: &Policy,
    tokenizer: &Tokenizer,
    suite: &Suite,
    options: &EvalOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<EvalReport> {
    let config = policy.config().clone();
    let env_config = EnvConfig {
        image_size: config.image_size as u32,
        variations: options.variations,
        ..EnvConfig::default()
    };
    let mut episodes = Vec::new();
    for task in &suite.tasks {
        for (i, &seed) in suite.eval_seeds.iter().enumerate() {
            let mut env = Env::new(suite, &task.name, env_config)?;
            let obs = env.reset(seed)?;
            episodes.push(Episode {
                task: task.name.clone(),
                seed,
                frames: (i < options.record_per_task).then(|| vec![obs.image.clone()]),
                env,
                obs,
                done: false,
                success: false,
                length: 0,
                subgoals_done: 0.0,
            });
        }
    }
    let total = episodes.len();
    let mut rng = crate::train::loader::step_rng(options.seed, 0, 3);
    let execute = options.execute_steps.clamp(1, config.chunk_len);
    loop {
        let active: Vec<usize> = (0..total).filter(|&i| !episodes[i].done).collect();
        progress(total - active.len(), total);
        if active.is_empty() {
            break;
        }
        let observations: Vec<&crate::sim::Observation> =
            active.iter().map(|&i| &episodes[i].obs).collect();
        let chunk = act_batch(policy, tokenizer, &observations, &mut rng)?;
        let per_episode = config.chunk_len * config.action_dim;
        let mut selected: Vec<&mut Episode> = episodes.iter_mut().filter(|e| !e.done).collect();
        selected
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(slot, episode)| -> Result<()> {
                let dims = episode.env.action_dim();
                for k in 0..execute {
                    let start = slot * per_episode + k * config.action_dim;
                    let action = executable_action(&chunk[start..start + dims]);
                    let result = episode.env.step(&action)?;
                    episode.length += 1;
                    if let Some(frames) = episode.frames.as_mut() {
                        frames.push(result.obs.image.clone());
                    }
                    episode.obs = result.obs;
                    if result.terminated || result.truncated {
                        episode.done = true;
                        episode.success = result.info.success;
                        episode.subgoals_done = result.info.subtask_index as f64
                            / result.info.num_subtasks.max(1) as f64;
                        break;
                    }
                }
                Ok(())
            })?;
    }
    let mut report = report(suite, &episodes);
    report.rollouts = episodes
        .into_iter()
        .filter_map(|e| {
            Some(Rollout {
                task: e.task,
                seed: e.seed,
                success: e.success,
                size: env_config.image_size,
                frames: e.frames?,
            })
        })
        .collect();
    Ok(report)
}

/// The action chunks `[observations.len() × chunk_len × action_dim]` (row-major) the policy
/// predicts for a batch of simulator observations, in one forward pass; the flow head's noise
/// comes from `rng`. Shared by evaluation and the rollout recipes.
pub fn act_batch(
    policy: &Policy,
    tokenizer: &Tokenizer,
    observations: &[&crate::sim::Observation],
    rng: &mut impl rand::Rng,
) -> Result<Vec<f32>> {
    let inputs: Vec<Observation<'_>> = observations.iter().map(|o| model_input(o)).collect();
    act_inputs(policy, tokenizer, &inputs, rng)
}

/// One step of a predicted chunk (`values`, the embodiment's action dimensions) made safe to
/// execute: clamped to the simulator's [-1, 1] and a non-finite value (a diverged model) read
/// as 0, so a broken policy fails its episode instead of stopping the run. Evaluation, DAgger's
/// rollouts and the app's probe execute predicted actions through it (the RL rollouts execute
/// sampled bin centres, which are in range by construction).
pub fn executable_action(values: &[f32]) -> Action {
    Action(
        values
            .iter()
            .map(|v| {
                if v.is_finite() {
                    v.clamp(-1.0, 1.0)
                } else {
                    0.0
                }
            })
            .collect(),
    )
}

/// A simulator observation as the model reads it (the model knows no simulator).
pub fn model_input(obs: &crate::sim::Observation) -> Observation<'_> {
    Observation {
        image: &obs.image,
        image_size: obs.width as usize,
        state: &obs.proprio,
        instruction: &obs.instruction,
    }
}

/// [`act_batch`] for model inputs from any source (e.g. a dataset's frames, mapped).
pub fn act_inputs(
    policy: &Policy,
    tokenizer: &Tokenizer,
    inputs: &[Observation<'_>],
    rng: &mut impl rand::Rng,
) -> Result<Vec<f32>> {
    let config = policy.config();
    let device = policy_device(policy);
    let mut batch = HostBatch::default();
    for obs in inputs {
        batch.push_observation(config, tokenizer, *obs)?;
    }
    let input = batch.input(config, &device);
    policy
        .act(
            &policy.encode(&input, false),
            flow_noise(config, inputs.len(), rng, &device),
        )
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("cannot read actions back: {e:?}")))
}

/// The device a policy's weights live on.
pub fn policy_device(policy: &Policy) -> burn::tensor::Device {
    use burn::module::Module;
    policy.devices().into_iter().next().unwrap_or_default()
}

fn report(suite: &Suite, episodes: &[Episode]) -> EvalReport {
    let summarise = |name: &str, list: Vec<&Episode>| {
        let n = list.len();
        let k = list.iter().filter(|e| e.success).count();
        let mean_length = list.iter().map(|e| e.length as f64).sum::<f64>() / n.max(1) as f64;
        let subgoals_done = list.iter().map(|e| e.subgoals_done).sum::<f64>() / n.max(1) as f64;
        TaskResult {
            task: name.to_string(),
            episodes: n,
            successes: k,
            success_rate: k as f64 / n.max(1) as f64,
            ci95: wilson_interval(k, n),
            mean_length,
            subgoals_done,
        }
    };
    let tasks: Vec<TaskResult> = suite
        .tasks
        .iter()
        .map(|t| {
            summarise(
                &t.name,
                episodes.iter().filter(|e| e.task == t.name).collect(),
            )
        })
        .collect();
    let all = summarise(&suite.name, episodes.iter().collect());
    EvalReport {
        suite: suite.name.clone(),
        episodes: all.episodes,
        successes: all.successes,
        success_rate: all.success_rate,
        ci95: all.ci95,
        mean_length: all.mean_length,
        subgoals_done: all.subgoals_done,
        tasks,
        rollouts: Vec::new(),
    }
}

impl EvalReport {
    /// The report as a markdown table.
    pub fn to_markdown(&self) -> String {
        let pct = |x: f64| format!("{:.1}%", 100.0 * x);
        let mut out = format!(
            "# Evaluation: suite `{}`\n\nSuccess {} ({}/{}), 95% CI [{}, {}], mean length {:.1} steps, \
             {} of the sub-goals completed.\n\n\
             | task | success | 95% CI | episodes | mean length | sub-goals done |\n|---|---|---|---|---|---|\n",
            self.suite,
            pct(self.success_rate),
            self.successes,
            self.episodes,
            pct(self.ci95[0]),
            pct(self.ci95[1]),
            self.mean_length,
            pct(self.subgoals_done)
        );
        for t in &self.tasks {
            out += &format!(
                "| {} | {} | [{}, {}] | {} | {:.1} | {} |\n",
                t.task,
                pct(t.success_rate),
                pct(t.ci95[0]),
                pct(t.ci95[1]),
                t.episodes,
                t.mean_length,
                pct(t.subgoals_done)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Predicted values are clamped into the simulator's range and a diverged (non-finite)
    /// value becomes 0, element by element.
    #[test]
    fn executable_actions_are_clamped_and_finite() {
        let action = executable_action(&[0.5, 1.7, -3.0, f32::NAN, f32::INFINITY, -0.25]);
        assert_eq!(action.0, [0.5, 1.0, -1.0, 0.0, 0.0, -0.25]);
    }

    #[test]
    fn wilson_interval_matches_known_values() {
        let [lo, hi] = wilson_interval(8, 10);
        assert!(
            (lo - 0.4902).abs() < 1e-3 && (hi - 0.9433).abs() < 1e-3,
            "{lo} {hi}"
        );
        assert_eq!(wilson_interval(0, 0), [0.0, 1.0]);
        let [lo, _] = wilson_interval(0, 20);
        assert_eq!(lo, 0.0);
    }

    /// The report averages each task's sub-goal fraction separately from its success, so
    /// a multi-step task that no episode finishes still shows how far its episodes got.
    #[test]
    fn report_averages_sub_goals_done_per_task() {
        let suite = Suite::builtin("long").unwrap();
        let task = suite.tasks[0].name.clone();
        let episode = |success: bool, subgoals_done: f64| {
            let mut env = Env::new(&suite, &task, EnvConfig::default()).unwrap();
            let obs = env.reset(0).unwrap();
            Episode {
                task: task.clone(),
                seed: 0,
                frames: None,
                env,
                obs,
                done: true,
                success,
                length: 10,
                subgoals_done,
            }
        };
        let report = report(
            &suite,
            &[episode(false, 0.5), episode(false, 0.0), episode(true, 1.0)],
        );
        let first = &report.tasks[0];
        assert_eq!((first.successes, first.episodes), (1, 3));
        assert!((first.subgoals_done - 0.5).abs() < 1e-12);
        assert!((report.subgoals_done - 0.5).abs() < 1e-12);
        assert!(report.to_markdown().contains("| 50.0% |"));
    }
}
