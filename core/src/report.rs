//! The recipe report behind `praxis report --recipes`: a fixed protocol (a TOML file, e.g.
//! `assets/report/recipes.toml`) lists runs — each a training config or a curriculum, trained
//! for one or more seeds, then evaluated closed-loop on the suites it targets — and each run
//! names the baseline it is compared with at the same budget. The report is a markdown table
//! (and its JSON): success with its 95% interval per suite, the baseline's, the difference,
//! updates, trainable parameters, teacher-labelled samples and wall time on this machine.
//!
//! Runs are trained in protocol order, one or several at a time (`--jobs`); a run may start
//! from another run's final checkpoint (`init_from`, same seed), e.g. GRPO on top of
//! imitation, and then waits for it. Every (run, seed) has its own
//! directory and writes its result there last, so a stopped report continues where it left
//! off and finished runs are reused (while their [`fingerprint`] holds). `--quick` scales
//! every budget and keeps only each run's first seed: the same protocol, far less compute,
//! much wider intervals.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::curriculum::CurriculumSpec;
use crate::curriculum::engine::{Finished, train_to_end};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::eval::{self, EvalOptions, wilson_interval};
use crate::train::run::RunDir;
use crate::train::{self, TrainConfig};

mod jobs;

/// A whole protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Short name.
    pub name: String,
    /// What the protocol measures, in a sentence.
    #[serde(default)]
    pub description: String,
    /// The runs, in the order they are trained.
    pub runs: Vec<RunSpec>,
}

/// One run of the protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Unique name (its directory in the report).
    pub name: String,
    /// The recipe it measures, as the table shows it.
    pub recipe: String,
    /// Survey category (environment perception, embodiment awareness, task comprehension,
    /// multi-component integration, or baseline).
    pub category: String,
    /// A training config (TOML), relative to the protocol file. Exactly one of `config` and
    /// `curriculum`.
    pub config: Option<PathBuf>,
    /// A curriculum file, relative to the protocol file.
    pub curriculum: Option<PathBuf>,
    /// Start from this earlier run's final checkpoint of the same seed (training configs only).
    pub init_from: Option<String>,
    /// Training seeds.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// The run this one is compared with on the same eval targets (its results pooled over
    /// all its seeds).
    pub baseline: Option<String>,
    /// What to evaluate the final policy on.
    pub eval: Vec<EvalTarget>,
    /// The baseline's eval target to compare every target of this run with, where the two
    /// are evaluated differently on purpose (sub-goal conditioning reads other instructions
    /// than the whole-task imitation it is measured against). Absent: the same target.
    #[serde(default)]
    pub baseline_eval: Option<EvalTarget>,
    /// One line on what the comparison controls for (shown under the table).
    #[serde(default)]
    pub note: String,
}

/// A suite (and variations) a run is evaluated on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalTarget {
    /// Built-in suite name or TOML path.
    pub suite: String,
    /// Held-out variations of the evaluation (names as in `praxis eval --variations`).
    #[serde(default)]
    pub variations: Vec<String>,
}

impl EvalTarget {
    /// `suite` or `suite (variations)`, as the table shows it.
    pub fn label(&self) -> String {
        match self.variations.is_empty() {
            true => self.suite.clone(),
            false => format!("{} ({})", self.suite, self.variations.join(", ")),
        }
    }
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// The budget of one report: every run's updates (or stage budgets, or RL rounds) scaled,
/// and whether only the first seed of each run is trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Factor on every budget.
    pub scale: f64,
    /// Train only each run's first seed.
    pub first_seed_only: bool,
}

impl Budget {
    /// The protocol as written.
    pub const FULL: Budget = Budget {
        scale: 1.0,
        first_seed_only: false,
    };
    /// `--quick`: 7% of the updates (sized for about 15 minutes here: 12.1 on protocol version 2), one seed.
    pub const QUICK: Budget = Budget {
        scale: 0.07,
        first_seed_only: true,
    };

    fn seeds<'a>(&self, run: &'a RunSpec) -> &'a [u64] {
        match self.first_seed_only {
            true => &run.seeds[..1.min(run.seeds.len())],
            false => &run.seeds,
        }
    }
}

impl Protocol {
    /// Reads a protocol file and checks every run's config or curriculum, the references
    /// between runs and the suites, before anything trains.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let origin = path.display().to_string();
        let mut protocol: Protocol = toml::from_str(&text).map_err(|e| {
            Error::invalid(format!(
                "{origin}: {}",
                e.message().lines().next().unwrap_or("")
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for run in &mut protocol.runs {
            for p in [&mut run.config, &mut run.curriculum].into_iter().flatten() {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
            for target in &mut run.eval {
                if target.suite.ends_with(".toml") && Path::new(&target.suite).is_relative() {
                    target.suite = base.join(&target.suite).display().to_string();
                }
            }
        }
        protocol.validate(&origin)?;
        Ok(protocol)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("{origin}: {m}")));
        if self.runs.is_empty() {
            return bad("the protocol lists no runs".into());
        }
        for (i, run) in self.runs.iter().enumerate() {
            let earlier = &self.runs[..i];
            if earlier.iter().any(|r| r.name == run.name) {
                return bad(format!("two runs are named `{}`", run.name));
            }
            if run.seeds.is_empty() || run.eval.is_empty() {
                return bad(format!(
                    "run `{}` needs at least one seed and one eval target",
                    run.name
                ));
            }
            // Each file is parsed and checked here, so a bad one fails before any training.
            let is_curriculum = match (&run.config, &run.curriculum) {
                (Some(c), None) => TrainConfig::load(c).map(|_| false)?,
                (None, Some(c)) => CurriculumSpec::load(c).map(|_| true)?,
                _ => {
                    return bad(format!(
                        "run `{}` must name exactly one of `config` and `curriculum`",
                        run.name
                    ));
                }
            };
            if let Some(from) = &run.init_from {
                if is_curriculum {
                    return bad(format!(
                        "run `{}`: init_from works for training configs only",
                        run.name
                    ));
                }
                let Some(source) = earlier.iter().find(|r| &r.name == from) else {
                    return bad(format!(
                        "run `{}`: init_from names `{from}`, which is not an earlier run",
                        run.name
                    ));
                };
                if let Some(seed) = run.seeds.iter().find(|s| !source.seeds.contains(s)) {
                    return bad(format!("run `{}`: `{from}` has no seed {seed}", run.name));
                }
            }
            if let Some(baseline) = &run.baseline
                && !self.runs.iter().any(|r| &r.name == baseline)
            {
                return bad(format!(
                    "run `{}`: baseline `{baseline}` is not a run",
                    run.name
                ));
            }
            if let Some(target) = &run.baseline_eval {
                let evaluated = self
                    .runs
                    .iter()
                    .find(|r| Some(&r.name) == run.baseline.as_ref())
                    .is_some_and(|b| b.eval.contains(target));
                if !evaluated {
                    return bad(format!(
                        "run `{}`: baseline_eval `{}` is not an eval target of its baseline",
                        run.name,
                        target.label()
                    ));
                }
            }
            for target in &run.eval {
                crate::sim::Suite::resolve(&target.suite)
                    .map_err(|e| Error::invalid(format!("{origin}: run `{}`: {e}", run.name)))?;
                crate::sim::Variations::from_names(&target.variations)
                    .map_err(|e| Error::invalid(format!("{origin}: run `{}`: {e}", run.name)))?;
            }
        }
        Ok(())
    }

    /// The run named `name`, if any.
    pub fn find(&self, name: &str) -> Option<&RunSpec> {
        self.runs.iter().find(|r| r.name == name)
    }

    /// The part of the protocol that `names` need: those runs and, transitively, the runs
    /// they start from or are compared with, in protocol order. It retrains one block of the
    /// table (say both arm rows on a new machine) without the rest; a needed run that has
    /// finished in the report directory is reused as usual.
    pub fn only(&self, names: &[String]) -> Result<Protocol> {
        let mut needed: Vec<&str> = Vec::new();
        let mut queue: Vec<&str> = Vec::new();
        for name in names {
            let Some(run) = self.find(name) else {
                let known: Vec<&str> = self.runs.iter().map(|r| r.name.as_str()).collect();
                return Err(Error::invalid(format!(
                    "no run named `{name}` in the protocol (its runs: {})",
                    known.join(", ")
                )));
            };
            queue.push(&run.name);
        }
        while let Some(name) = queue.pop() {
            if needed.contains(&name) {
                continue;
            }
            needed.push(name);
            let run = self.find(name).expect("queued runs exist");
            queue.extend(
                run.init_from
                    .iter()
                    .chain(&run.baseline)
                    .map(String::as_str),
            );
        }
        Ok(Protocol {
            runs: self
                .runs
                .iter()
                .filter(|r| needed.contains(&r.name.as_str()))
                .cloned()
                .collect(),
            ..self.clone()
        })
    }
}

/// Success on one eval target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target, as the table shows it.
    pub target: String,
    /// Episodes that succeeded.
    pub successes: usize,
    /// Episodes run.
    pub episodes: usize,
    /// Mean fraction of sub-goals completed per episode (absent in results written before
    /// it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subgoals_done: Option<f64>,
}

/// What one (run, seed) reached; written as `result.json` in its directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    /// Run name.
    pub run: String,
    /// Training seed.
    pub seed: u64,
    /// Updates trained.
    pub updates: u64,
    /// Wall time of the training (of its last session, when it was resumed).
    pub train_seconds: f64,
    /// Whether the training was continued after a stop.
    pub resumed: bool,
    /// Trainable and total scalar parameters.
    pub params: (usize, usize),
    /// Teacher-labelled samples the run trained on (demonstration frames plus corrected
    /// frames); of its own data, not of the run it started from.
    pub teacher_labels: usize,
    /// Per eval target.
    pub targets: Vec<TargetResult>,
    /// The final checkpoint.
    pub checkpoint: PathBuf,
    /// The budget scale it was trained at (a report directory holds one budget).
    pub budget_scale: f64,
    /// [`fingerprint`] of what it was trained from (absent in results written before it was
    /// recorded, which are reused as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// How many pairs trained side by side while this one did (`--jobs`); its wall time is
    /// its share of the machine, not the machine to itself.
    #[serde(default = "one_job")]
    pub jobs: usize,
    /// The CPU it trained on ([`crate::cpu::CpuInfo::summary`]): on the CPU backend a result
    /// is exact on one kind of CPU, not across kinds. Absent in results written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
}

fn one_job() -> usize {
    1
}

/// File holding a (run, seed)'s [`SeedResult`].
pub const RESULT_FILE: &str = "result.json";

/// Where a (run, seed) lives in the report directory.
pub fn seed_dir(out: &Path, run: &str, seed: u64) -> PathBuf {
    out.join(run).join(format!("seed-{seed}"))
}

/// File in a (run, seed)'s directory naming the [`fingerprint`] its training started from,
/// so a stopped run is not resumed under a changed config.
pub const FINGERPRINT_FILE: &str = "fingerprint";

/// A digest of what a run trains and evaluates: its config or curriculum as parsed (so
/// comments, formatting and where the checkout lives do not count), its eval targets and, for
/// `init_from`, the digest of the run it starts from. A finished (run, seed) is reused only
/// while its digest is unchanged: a result trained from another version of the protocol's
/// files is refused, not silently put in the table. What only shapes the table (the `recipe`
/// and `category` labels, `baseline`, `baseline_eval`, `note`) is left out, and so are the
/// files a config names (the base checkpoint, datasets).
pub fn fingerprint(run: &RunSpec, source: Option<&str>) -> Result<String> {
    let file = run
        .config
        .as_ref()
        .or(run.curriculum.as_ref())
        .expect("validated: config or curriculum");
    let eval = run
        .eval
        .iter()
        .map(|t| {
            let suite = match t.suite.ends_with(".toml") {
                true => parsed_toml(Path::new(&t.suite))?,
                false => serde_json::Value::String(t.suite.clone()),
            };
            Ok(serde_json::json!({ "suite": suite, "variations": t.variations }))
        })
        .collect::<Result<Vec<_>>>()?;
    let what = serde_json::json!({
        "kind": if run.config.is_some() { "config" } else { "curriculum" },
        "file": parsed_toml(file)?,
        "eval": eval,
        "init_from": source,
    });
    Ok(format!("{:016x}", fnv1a(what.to_string().as_bytes())))
}

/// The TOML file at `path` as a JSON value: its content without comments or layout.
fn parsed_toml(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: toml::Value = toml::from_str(&text)
        .map_err(|e| Error::invalid(format!("{}: {}", path.display(), e.message())))?;
    serde_json::to_value(value).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))
}

/// 64-bit FNV-1a: a digest that is the same in every build and on every machine (std's
/// hasher promises neither).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Every run's [`fingerprint`], in protocol order (a run's includes its `init_from` source's).
fn fingerprints(protocol: &Protocol) -> Result<Vec<String>> {
    let mut digests: Vec<String> = Vec::new();
    for run in &protocol.runs {
        let source = run.init_from.as_ref().map(|from| {
            let i = protocol.runs.iter().position(|r| &r.name == from);
            digests[i.expect("validated: an earlier run")].as_str()
        });
        let digest = fingerprint(run, source)?;
        digests.push(digest);
    }
    Ok(digests)
}

/// Trains and evaluates every (run, seed) of the protocol not finished yet, `jobs` at a time
/// (see [`jobs`]), each pair after the pair it starts from. `on_start(job, run, seed)` hears
/// each start; `progress(job, done, total)` hears the updates of the pair job `job` trains;
/// `stop` interrupts between updates, returning `Ok(None)` (run the report again to
/// continue).
#[allow(clippy::too_many_arguments)]
pub fn run_protocol(
    protocol: &Protocol,
    out: &Path,
    budget: Budget,
    jobs: usize,
    open_device: &(dyn Fn() -> Result<ComputeDevice> + Sync),
    on_start: &(dyn Fn(usize, &str, u64) + Sync),
    progress: &(dyn Fn(usize, u64, u64) + Sync),
    stop: &AtomicBool,
) -> Result<Option<Vec<SeedResult>>> {
    // Under --quick only first seeds train: every init_from must still find its source.
    for run in &protocol.runs {
        if let Some(from) = &run.init_from {
            let source = protocol.find(from).expect("validated");
            if let Some(seed) = budget
                .seeds(run)
                .iter()
                .find(|s| !budget.seeds(source).contains(s))
            {
                return Err(Error::invalid(format!(
                    "run `{}` starts from `{from}` seed {seed}, which this budget does not train",
                    run.name
                )));
            }
        }
    }
    let mut pairs: Vec<(&RunSpec, u64, String)> = Vec::new();
    for (run, digest) in protocol.runs.iter().zip(fingerprints(protocol)?) {
        for &seed in budget.seeds(run) {
            pairs.push((run, seed, digest.clone()));
        }
    }
    let deps: Vec<Option<usize>> = pairs
        .iter()
        .map(|(run, seed, _)| {
            run.init_from.as_ref().map(|from| {
                pairs
                    .iter()
                    .position(|(r, s, _)| &r.name == from && s == seed)
                    .expect("checked above: every source pair is in the protocol")
            })
        })
        .collect();
    let mut finished_before = Vec::with_capacity(pairs.len());
    for (run, seed, digest) in &pairs {
        let path = seed_dir(out, &run.name, *seed).join(RESULT_FILE);
        finished_before.push(finished(&path, budget, digest)?);
    }
    let work = |job: usize, i: usize, source: Option<&SeedResult>| {
        let (run, seed, digest) = &pairs[i];
        let dir = seed_dir(out, &run.name, *seed);
        started_from(&dir, digest)?;
        on_start(job, &run.name, *seed);
        let init = source.map(|r| r.checkpoint.clone());
        let mut report = |done, total| progress(job, done, total);
        let Some(mut result) = train_one(
            run,
            *seed,
            init,
            &dir,
            budget,
            open_device,
            &mut report,
            stop,
        )?
        else {
            return Ok(None);
        };
        result.fingerprint = Some(digest.clone());
        result.jobs = jobs;
        crate::atomic::write_file(
            &dir.join(RESULT_FILE),
            serde_json::to_string_pretty(&result)
                .unwrap_or_default()
                .as_bytes(),
        )?;
        Ok(Some(result))
    };
    jobs::run_pairs(finished_before, &deps, jobs, stop, &work)
}

/// The (run, seed) results already in `out` at `budget`, in protocol order, and how many of
/// the protocol's (run, seed) pairs are still to train: the table of a report in progress,
/// without training anything.
pub fn finished_results(
    protocol: &Protocol,
    out: &Path,
    budget: Budget,
) -> Result<(Vec<SeedResult>, usize)> {
    let mut results = Vec::new();
    let mut pending = 0;
    for (run, digest) in protocol.runs.iter().zip(fingerprints(protocol)?) {
        for &seed in budget.seeds(run) {
            let path = seed_dir(out, &run.name, seed).join(RESULT_FILE);
            match finished(&path, budget, &digest)? {
                Some(result) => results.push(result),
                None => pending += 1,
            }
        }
    }
    Ok((results, pending))
}

/// The result at `path` if that (run, seed) has finished, refused when it was trained at
/// another budget (a report directory holds one budget) or from files whose [`fingerprint`]
/// is not `digest` any more.
fn finished(path: &Path, budget: Budget, digest: &str) -> Result<Option<SeedResult>> {
    if !path.is_file() {
        return Ok(None);
    }
    let result = read_result(path)?;
    if (result.budget_scale - budget.scale).abs() > 1e-9 {
        return Err(Error::invalid(format!(
            "{} was trained at budget × {}, this report asks for × {}: use another --out",
            path.display(),
            result.budget_scale,
            budget.scale
        )));
    }
    if let Some(theirs) = result.fingerprint.as_deref() {
        let dir = path.parent().unwrap_or(Path::new("."));
        changed_since(dir, theirs, digest)?;
    }
    Ok(Some(result))
}

/// Records that the (run, seed) in `dir` trains from `digest`, or refuses when a stopped
/// run there started from other files.
fn started_from(dir: &Path, digest: &str) -> Result<()> {
    let path = dir.join(FINGERPRINT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(theirs) => changed_since(dir, theirs.trim(), digest),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::atomic::write_file(&path, format!("{digest}\n").as_bytes())
        }
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn changed_since(dir: &Path, theirs: &str, digest: &str) -> Result<()> {
    match theirs == digest {
        true => Ok(()),
        false => Err(Error::invalid(format!(
            "{} was trained from another version of its config, curriculum or eval targets \
             (fingerprint {theirs}, now {digest}): delete it to train it again, or use another --out",
            dir.display()
        ))),
    }
}

fn read_result(path: &Path) -> Result<SeedResult> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))
}

/// A training config at `budget`: updates scaled (whole RL rounds, at least one), the seed
/// and, for `init_from`, the starting checkpoint replaced.
fn scaled_config(
    mut config: TrainConfig,
    seed: u64,
    init: Option<PathBuf>,
    budget: Budget,
) -> TrainConfig {
    config.seed = seed;
    if let Some(init) = init {
        config.model.init = Some(init);
    }
    let unit = config.rl.as_ref().map_or(1, |rl| rl.updates_per_round);
    let units = ((config.steps as f64 / unit as f64) * budget.scale)
        .round()
        .max(1.0) as u64;
    config.steps = units * unit;
    config.checkpoint_every = config.checkpoint_every.min(config.steps);
    let warmup = (config.schedule.warmup_steps as f64 * budget.scale).round() as u64;
    config.schedule.warmup_steps = warmup.clamp(1, config.steps);
    config
}

/// A curriculum at `budget`: stage budgets, the evaluation interval and the corrected rounds'
/// interval scaled (a stage still spans at least one evaluation interval) and the seed
/// replaced; a stage leaves at its gate, or at its budget (never waiting for a person).
fn scaled_curriculum(mut spec: CurriculumSpec, seed: u64, budget: Budget) -> CurriculumSpec {
    let scale = |n: u64| ((n as f64 * budget.scale).round() as u64).max(1);
    spec.seed = seed;
    spec.eval_every = scale(spec.eval_every);
    for stage in &mut spec.stages {
        stage.dagger_every = scale(stage.dagger_every);
        stage.gate.on_budget = "advance".into();
        stage.gate.budget = ((stage.gate.budget as f64 * budget.scale).round() as u64)
            .max(spec.eval_every.min(stage.gate.budget));
    }
    spec
}

#[allow(clippy::too_many_arguments)]
fn train_one(
    run: &RunSpec,
    seed: u64,
    init: Option<PathBuf>,
    dir: &Path,
    budget: Budget,
    open_device: &(dyn Fn() -> Result<ComputeDevice> + Sync),
    progress: &mut (dyn FnMut(u64, u64) + Send),
    stop: &AtomicBool,
) -> Result<Option<SeedResult>> {
    let run_dir = dir.join("run");
    let started = Instant::now();
    let mut resumed = run_dir.exists();
    let (policy, tokenizer, updates, checkpoint, params) = if let Some(path) = &run.config {
        let config = scaled_config(TrainConfig::load(path)?, seed, init, budget);
        let device = open_device()?;
        let total = config.steps;
        let report = |p: train::Progress| progress(p.step, total);
        // A run stopped before its first checkpoint has nothing to resume: start it again.
        let resumable =
            resumed && RunDir::open(&run_dir).is_ok_and(|r| r.latest().is_ok_and(|l| l.is_some()));
        if resumed && !resumable {
            std::fs::remove_dir_all(&run_dir).map_err(|e| Error::io(&run_dir, e))?;
            resumed = false;
        }
        let outcome = match resumable {
            true => train::resume(&run_dir, &device, stop, report)?,
            false => train::train(&run_dir, &config, &device, stop, report)?,
        };
        if outcome.interrupted {
            return Ok(None);
        }
        let ckpt = crate::checkpoint::load(&outcome.checkpoint, &device.device)?;
        let info: crate::train::run::RunInfo = serde_json::from_str(
            &std::fs::read_to_string(RunDir::open(&run_dir)?.info_path())
                .map_err(|e| Error::io(&run_dir, e))?,
        )
        .map_err(|e| Error::invalid(format!("{}: run.json: {e}", run_dir.display())))?;
        (
            ckpt.policy,
            ckpt.meta.tokenizer,
            outcome.step,
            outcome.checkpoint,
            (info.trainable_params, info.total_params),
        )
    } else {
        let path = run
            .curriculum
            .as_ref()
            .expect("validated: config or curriculum");
        let spec = scaled_curriculum(CurriculumSpec::load(path)?, seed, budget);
        let Some(Finished { engine, .. }) =
            train_to_end(&run_dir, &spec, open_device, progress, &|| {
                stop.load(std::sync::atomic::Ordering::Relaxed)
            })?
        else {
            return Ok(None);
        };
        let checkpoint = engine
            .checkpoints()
            .last()
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        let policy = engine.policy();
        let n = policy.num_params();
        (
            policy,
            engine.tokenizer().clone(),
            engine.state().step,
            checkpoint,
            (n, n),
        )
    };
    let train_seconds = started.elapsed().as_secs_f64();
    let mut targets = Vec::new();
    for target in &run.eval {
        let suite =
            crate::sim::Suite::resolve(&target.suite).map_err(|e| Error::invalid(e.to_string()))?;
        let report = eval::evaluate(
            &policy,
            &tokenizer,
            &suite,
            &EvalOptions {
                variations: crate::sim::Variations::from_names(&target.variations)?,
                ..EvalOptions::default()
            },
            |_, _| {},
        )?;
        targets.push(TargetResult {
            target: target.label(),
            successes: report.successes,
            episodes: report.episodes,
            subgoals_done: Some(report.subgoals_done),
        });
    }
    Ok(Some(SeedResult {
        run: run.name.clone(),
        seed,
        updates,
        train_seconds,
        resumed,
        params,
        teacher_labels: teacher_labels(&run_dir)?,
        targets,
        checkpoint,
        budget_scale: budget.scale,
        fingerprint: None, // run_protocol records it
        jobs: 1,
        cpu: Some(crate::cpu::CpuInfo::current().summary()),
    }))
}

/// Frames of every dataset a run recorded or was given: its `data/` tree (recorded
/// demonstrations and corrected rollouts) and the datasets its config lists.
fn teacher_labels(run_dir: &Path) -> Result<usize> {
    let mut dirs = Vec::new();
    let mut stack = vec![run_dir.join("data")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        if dir.join("meta.json").is_file() {
            dirs.push(dir.clone());
            continue;
        }
        stack.extend(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir()),
        );
    }
    let config = run_dir.join("config.toml");
    if config.is_file() {
        dirs.extend(TrainConfig::load(&config)?.data.datasets);
    }
    let mut unique: Vec<PathBuf> = dirs
        .into_iter()
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
        .collect();
    unique.sort();
    unique.dedup();
    let mut frames = 0;
    for dir in unique {
        let dataset =
            crate::data::Dataset::open(&dir).map_err(|e| Error::invalid(e.to_string()))?;
        frames += dataset.len();
    }
    Ok(frames)
}

/// One run's results over its seeds, on one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    /// Success pooled over the seeds' episodes.
    pub success_rate: f64,
    /// 95% Wilson interval of the pooled rate.
    pub ci95: [f64; 2],
    /// Success of each seed.
    pub per_seed: Vec<f64>,
    /// Mean fraction of sub-goals completed, over the seeds that recorded it.
    pub subgoals_done: Option<f64>,
}

fn pool(results: &[&SeedResult], target: &str) -> Option<Pooled> {
    let hits: Vec<&TargetResult> = results
        .iter()
        .filter_map(|r| r.targets.iter().find(|t| t.target == target))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let k: usize = hits.iter().map(|t| t.successes).sum();
    let n: usize = hits.iter().map(|t| t.episodes).sum();
    let recorded: Vec<f64> = hits.iter().filter_map(|t| t.subgoals_done).collect();
    Some(Pooled {
        subgoals_done: (!recorded.is_empty())
            .then(|| recorded.iter().sum::<f64>() / recorded.len() as f64),
        success_rate: k as f64 / n.max(1) as f64,
        ci95: wilson_interval(k, n),
        per_seed: hits
            .iter()
            .map(|t| t.successes as f64 / t.episodes.max(1) as f64)
            .collect(),
    })
}

/// The report table as markdown, with the protocol above it and each run's note below.
pub fn to_markdown(protocol: &Protocol, budget: Budget, results: &[SeedResult]) -> String {
    let pct = |p: &Pooled| crate::eval::percent_with_interval(p.success_rate, p.ci95);
    let mut md = format!(
        "# Recipe report: `{}`\n\n{}\n\nBudgets × {}; {}. Success is closed loop on each suite's \
         fixed evaluation seeds, pooled over the training seeds, with its 95% Wilson interval; \
         Δ is the difference from the baseline in points (pooled); updates, labels and wall \
         time are per seed. Pooled intervals count every episode as independent; with several \
         training seeds, the seeds column also gives each seed's own success. Sub-goals is the \
         mean fraction of a task's sub-goals completed by the episode's end (partial progress on \
         multi-step tasks).\n\n\
         | recipe | category | evaluated on | success | baseline | Δ (points) | sub-goals | seeds | updates | trainable params | teacher labels | wall time |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        protocol.name,
        protocol.description,
        budget.scale,
        if budget.first_seed_only {
            "first seed of each run only"
        } else {
            "every seed"
        },
    );
    for run in &protocol.runs {
        let mine: Vec<&SeedResult> = results.iter().filter(|r| r.run == run.name).collect();
        if mine.is_empty() {
            continue;
        }
        let base: Vec<&SeedResult> = match &run.baseline {
            Some(b) => results.iter().filter(|r| &r.run == b).collect(),
            None => Vec::new(),
        };
        for target in &run.eval {
            let label = target.label();
            let Some(p) = pool(&mine, &label) else {
                continue;
            };
            let base_label = run
                .baseline_eval
                .as_ref()
                .map_or_else(|| label.clone(), EvalTarget::label);
            let b = pool(&base, &base_label);
            let mean = |f: &dyn Fn(&SeedResult) -> f64| {
                mine.iter().map(|r| f(r)).sum::<f64>() / mine.len() as f64
            };
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {:.0} | {:.1} min |\n",
                run.recipe,
                run.category,
                label,
                pct(&p),
                b.as_ref().map_or("—".into(), pct),
                b.as_ref().map_or("—".into(), |b| format!(
                    "{:+.1}",
                    100.0 * (p.success_rate - b.success_rate)
                )),
                p.subgoals_done
                    .map_or("—".into(), |f| format!("{:.0}%", 100.0 * f)),
                seeds_cell(&p),
                mean(&|r| r.updates as f64),
                format_params(mine[0].params),
                mean(&|r| r.teacher_labels as f64),
                mean(&|r| r.train_seconds) / 60.0,
            ));
        }
    }
    let shared = results.iter().map(|r| r.jobs).max().unwrap_or(1);
    if shared > 1 {
        md.push_str(&format!(
            "\nUp to {shared} (run, seed) pairs trained side by side (`--jobs`), each on its share \
             of the CPU: a wall time is that pair's time while sharing the machine.\n"
        ));
    }
    md.push_str(&machines_line(results));
    let notes: Vec<String> = protocol
        .runs
        .iter()
        .filter(|r| !r.note.is_empty())
        .map(|r| format!("- **{}**: {}", r.recipe, r.note))
        .collect();
    if !notes.is_empty() {
        md.push_str("\n");
        md.push_str(&notes.join("\n"));
        md.push('\n');
    }
    md
}

/// Which CPUs the results were trained on, with how many (run, seed) pairs each; empty when
/// no result records its CPU (results from before it was recorded).
fn machines_line(results: &[SeedResult]) -> String {
    if results.iter().all(|r| r.cpu.is_none()) {
        return String::new();
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in results {
        let cpu = r.cpu.clone().unwrap_or_else(|| "not recorded".into());
        match counts.iter_mut().find(|(c, _)| *c == cpu) {
            Some((_, n)) => *n += 1,
            None => counts.push((cpu, 1)),
        }
    }
    let listed: Vec<String> = counts
        .iter()
        .map(|(cpu, n)| format!("{cpu}: {n} {}", if *n == 1 { "pair" } else { "pairs" }))
        .collect();
    format!(
        "\nTrained on {} (on the CPU backend results are exact on one kind of CPU, not across \
         kinds).\n",
        listed.join("; ")
    )
}

/// A warning for a report that resumes on another machine: how many of the finished pairs it
/// is about to reuse were trained on a CPU other than `here` (or on one not recorded), or
/// `None` when all were trained on this one. On the CPU backend a result is exact only on the
/// kind of CPU that made it, so a table mixing kinds should say so before it is trained.
pub fn reuse_warning(finished: &[SeedResult], here: &str) -> Option<String> {
    let elsewhere = finished
        .iter()
        .filter(|r| r.cpu.as_deref() != Some(here))
        .count();
    (elsewhere > 0).then(|| {
        format!(
            "note: {elsewhere} of the {} finished pairs reused here were trained on another CPU \
             or one not recorded (this one: {here}); on the CPU backend results are exact only \
             per kind of CPU, and the table's last line counts the pairs of each",
            finished.len()
        )
    })
}

fn seeds_cell(p: &Pooled) -> String {
    match p.per_seed.len() {
        1 => "1".into(),
        n => format!(
            "{n}: {}%",
            p.per_seed
                .iter()
                .map(|r| format!("{:.0}", 100.0 * r))
                .collect::<Vec<_>>()
                .join(" / ")
        ),
    }
}

fn format_params((trainable, total): (usize, usize)) -> String {
    match trainable == total {
        true => format!("{total} (all)"),
        false => format!(
            "{trainable} ({:.1}%)",
            100.0 * trainable as f64 / total.max(1) as f64
        ),
    }
}

/// Pooled success of run `name` on `target` (for the claims under the table).
pub fn pooled(results: &[SeedResult], name: &str, target: &str) -> Option<Pooled> {
    let mine: Vec<&SeedResult> = results.iter().filter(|r| r.run == name).collect();
    pool(&mine, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(run: &str, seed: u64, successes: usize, subgoals: Option<f64>) -> SeedResult {
        SeedResult {
            run: run.into(),
            seed,
            updates: 100,
            train_seconds: 60.0,
            resumed: false,
            params: (10, 100),
            teacher_labels: 1000,
            targets: vec![TargetResult {
                target: "long".into(),
                successes,
                episodes: 10,
                subgoals_done: subgoals,
            }],
            checkpoint: PathBuf::from("x"),
            budget_scale: 1.0,
            fingerprint: None,
            jobs: 1,
            cpu: None,
        }
    }

    fn protocol() -> Protocol {
        toml::from_str(
            r#"
            name = "t"
            [[runs]]
            name = "base"
            recipe = "imitation"
            category = "baseline"
            config = "a.toml"
            eval = [{ suite = "long" }]
            [[runs]]
            name = "rl"
            recipe = "grpo"
            category = "multi-component integration"
            config = "b.toml"
            seeds = [0, 1]
            baseline = "base"
            eval = [{ suite = "long" }]
            "#,
        )
        .unwrap()
    }

    /// The shipped protocol loads: every config and curriculum it names parses and checks,
    /// every `init_from` and baseline resolves, so `praxis report` cannot fail on it midway.
    #[test]
    fn the_shipped_protocol_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/report/recipes.toml");
        let protocol = Protocol::load(&path).unwrap();
        let headline = |name: &str| protocol.find(name).map(|r| r.seeds.len());
        for name in ["goal-dagger-50", "long-grpo", "arm4-lora"] {
            assert_eq!(headline(name), Some(3), "{name}");
        }
    }

    /// Pooling adds episodes over seeds, averages the sub-goal fraction over the seeds that
    /// recorded it, and the table shows both with the difference from the baseline.
    #[test]
    fn table_pools_seeds_and_sub_goals() {
        let results = [
            result("base", 0, 2, None),
            result("rl", 0, 4, Some(0.5)),
            result("rl", 1, 6, Some(0.7)),
        ];
        let rl: Vec<&SeedResult> = results[1..].iter().collect();
        let pooled = pool(&rl, "long").unwrap();
        assert!((pooled.success_rate - 0.5).abs() < 1e-12);
        assert!((pooled.subgoals_done.unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(pooled.per_seed, vec![0.4, 0.6]);
        let base = pool(&[&results[0]], "long").unwrap();
        assert_eq!(base.subgoals_done, None);

        let md = to_markdown(&protocol(), Budget::FULL, &results);
        let rl_row = md.lines().find(|l| l.starts_with("| grpo |")).unwrap();
        assert!(rl_row.contains("| +30.0 |"), "{rl_row}");
        assert!(rl_row.contains("| 60% |"), "{rl_row}");
        assert!(rl_row.contains("2: 40 / 60%"), "{rl_row}");
        let base_row = md.lines().find(|l| l.starts_with("| imitation |")).unwrap();
        assert!(base_row.contains("| — |"), "{base_row}");
    }

    /// The table names the CPUs its pairs trained on, counting the pairs of each and those
    /// that did not record one, and says nothing when none did.
    #[test]
    fn table_names_the_machines() {
        let on = |cpu: Option<&str>, r: SeedResult| SeedResult {
            cpu: cpu.map(String::from),
            ..r
        };
        let old = [result("base", 0, 2, None), result("rl", 0, 4, None)];
        assert!(!to_markdown(&protocol(), Budget::FULL, &old).contains("Trained on"));
        let mixed = [
            on(Some("cpu A"), result("base", 0, 2, None)),
            on(Some("cpu A"), result("rl", 0, 4, None)),
            on(Some("cpu B"), result("rl", 1, 4, None)),
            result("rl", 2, 4, None),
        ];
        let md = to_markdown(&protocol(), Budget::FULL, &mixed);
        let line = md.lines().find(|l| l.starts_with("Trained on")).unwrap();
        assert!(
            line.starts_with("Trained on cpu A: 2 pairs; cpu B: 1 pair; not recorded: 1 pair "),
            "{line}"
        );
    }

    /// Resuming warns only when some finished pair was trained elsewhere or did not record
    /// where, and counts those pairs.
    #[test]
    fn reuse_warns_of_pairs_from_other_cpus() {
        let on = |cpu: Option<&str>, r: SeedResult| SeedResult {
            cpu: cpu.map(String::from),
            ..r
        };
        let here = [on(Some("cpu A"), result("base", 0, 2, None))];
        assert_eq!(reuse_warning(&here, "cpu A"), None);
        assert_eq!(reuse_warning(&[], "cpu A"), None);
        let mixed = [
            on(Some("cpu A"), result("base", 0, 2, None)),
            on(Some("cpu B"), result("rl", 0, 4, None)),
            result("rl", 1, 4, None),
        ];
        let warning = reuse_warning(&mixed, "cpu A").unwrap();
        assert!(
            warning.starts_with("note: 2 of the 3 finished pairs") && warning.contains("cpu A"),
            "{warning}"
        );
    }

    fn spec_for(config: &Path) -> RunSpec {
        RunSpec {
            config: Some(config.to_path_buf()),
            curriculum: None,
            ..protocol().runs[0].clone()
        }
    }

    /// The fingerprint reads what a config says, not how it is written or where it lives,
    /// and changes with any value, the eval targets or the run it starts from, but not with
    /// what the run is compared with.
    #[test]
    fn fingerprints_follow_content_not_layout() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let write = |dir: &Path, text: &str| {
            let path = dir.join("c.toml");
            std::fs::write(&path, text).unwrap();
            path
        };
        let plain = write(a.path(), "steps = 10\n[schedule]\nlr = 0.001\n");
        let commented = write(
            b.path(),
            "# a note on the result\nsteps   = 10 # updates\n\n[schedule]\nlr = 1e-3\n",
        );
        let digest = |run: &RunSpec, source| fingerprint(run, source).unwrap();
        let reference = digest(&spec_for(&plain), None);
        assert_eq!(reference.len(), 16);
        assert_eq!(digest(&spec_for(&commented), None), reference);

        let longer = write(b.path(), "steps = 20\n[schedule]\nlr = 0.001\n");
        assert_ne!(digest(&spec_for(&longer), None), reference);
        assert_ne!(
            digest(&spec_for(&plain), Some("0123456789abcdef")),
            reference
        );
        let mut other_eval = spec_for(&plain);
        other_eval.eval[0].variations = vec!["lighting".into()];
        assert_ne!(digest(&other_eval, None), reference);

        // Which row it is compared with changes the table, not what trains.
        let mut other_comparison = spec_for(&plain);
        other_comparison.baseline_eval = Some(EvalTarget {
            suite: "goal".into(),
            variations: vec!["lighting".into()],
        });
        assert_eq!(digest(&other_comparison, None), reference);
    }

    /// A finished result is reused while its fingerprint matches (or predates fingerprints),
    /// and refused with a message saying what to do once the files changed; a stopped run's
    /// directory remembers the fingerprint it started from the same way.
    #[test]
    fn changed_runs_are_refused_not_reused() {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("base").join("seed-0");
        let path = dir.join(RESULT_FILE);
        let write = |fingerprint: Option<&str>| {
            let r = SeedResult {
                fingerprint: fingerprint.map(String::from),
                ..result("base", 0, 2, None)
            };
            crate::atomic::write_file(&path, serde_json::to_string(&r).unwrap().as_bytes())
                .unwrap();
        };
        assert!(finished(&path, Budget::FULL, "aaaa").unwrap().is_none());
        write(None);
        assert!(finished(&path, Budget::FULL, "aaaa").unwrap().is_some());
        write(Some("aaaa"));
        assert!(finished(&path, Budget::FULL, "aaaa").unwrap().is_some());
        let refused = finished(&path, Budget::FULL, "bbbb")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("fingerprint aaaa, now bbbb"), "{refused}");
        assert!(refused.contains("delete it"), "{refused}");

        let stopped = out.path().join("rl").join("seed-0");
        started_from(&stopped, "cccc").unwrap();
        started_from(&stopped, "cccc").unwrap();
        assert!(started_from(&stopped, "dddd").is_err());
    }

    /// `only` keeps the named runs with what they start from and are compared with, in
    /// protocol order, and names the runs there are when asked for one that is not.
    #[test]
    fn only_keeps_the_named_runs_and_what_they_need() {
        let mut protocol = protocol(); // `base`, then `rl` compared with it
        let mut other = protocol.runs[0].clone();
        other.name = "other".into();
        let mut tuned = protocol.runs[0].clone();
        tuned.name = "tuned".into();
        tuned.init_from = Some("rl".into());
        protocol.runs.extend([other, tuned]);
        let names = |p: &Protocol| p.runs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        let only = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            protocol.only(&names)
        };
        assert_eq!(names(&only(&["tuned"]).unwrap()), ["base", "rl", "tuned"]);
        assert_eq!(names(&only(&["other", "base"]).unwrap()), ["base", "other"]);
        let unknown = only(&["nope"]).unwrap_err().to_string();
        assert!(unknown.contains("no run named `nope`"), "{unknown}");
        assert!(unknown.contains("base, rl, other, tuned"), "{unknown}");
    }

    /// Results written before the sub-goal fraction was recorded still load.
    #[test]
    fn results_without_sub_goals_still_load() {
        let json = r#"{"target": "goal", "successes": 3, "episodes": 10}"#;
        let t: TargetResult = serde_json::from_str(json).unwrap();
        assert_eq!(t.subgoals_done, None);
    }
}
