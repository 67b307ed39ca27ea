//! What a protocol file says: its runs, what each trains (a config or a curriculum), the run
//! it starts from and the one it is compared with, the eval targets, and the [`Budget`] a
//! report trains them at. Everything is checked when the file loads, before anything trains.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::curriculum::CurriculumSpec;
use crate::error::{Error, Result};
use crate::train::TrainConfig;

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

    /// The seeds of `run` this budget trains.
    pub(super) fn seeds<'a>(&self, run: &'a RunSpec) -> &'a [u64] {
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
                    *p = without_dot_dot(&base.join(&*p));
                }
            }
            for target in &mut run.eval {
                if target.suite.ends_with(".toml") && Path::new(&target.suite).is_relative() {
                    target.suite = without_dot_dot(&base.join(&target.suite))
                        .display()
                        .to_string();
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

/// `path` with its `.` and `name/..` steps removed, without touching the disk: one file is
/// spelt one way, so a suite's table label (and a reused result's target) does not depend on
/// which protocol file named it (`a/b/../x.toml` and `a/x.toml` are the same target). Being
/// lexical, it would name another file than the disk does through a symlinked `b`.
fn without_dot_dot(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::protocol;

    /// A protocol's relative paths are spelt without `..`, so two protocol files naming one
    /// suite file give one target label, and a result one of them trained is the other's.
    #[test]
    fn relative_paths_are_spelt_without_dot_dot() {
        let cases = [
            (
                "docs/results/dagger-plan/../v5-dev/long-dev.toml",
                "docs/results/v5-dev/long-dev.toml",
            ),
            ("./a/./b.toml", "a/b.toml"),
            ("../../x/../y.toml", "../../y.toml"),
            ("/r/a/../b.toml", "/r/b.toml"),
        ];
        for (given, spelt) in cases {
            assert_eq!(
                without_dot_dot(Path::new(given)),
                Path::new(spelt),
                "{given}"
            );
        }
    }

    /// The shipped protocol loads: every config and curriculum it names parses and checks,
    /// every `init_from` and baseline resolves, so `praxis report` cannot fail on it midway.
    #[test]
    fn the_shipped_protocol_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/report/recipes.toml");
        let protocol = Protocol::load(&path).unwrap();
        let headline = |name: &str| protocol.find(name).map(|r| r.seeds.len());
        for name in [
            "goal-dagger-50",
            "goal-dagger-50-smooth",
            "goal-imitation-100-smooth",
            "long-dagger-150",
            "long-grpo",
            "long-imitation-1128",
            "long-imitation-continued",
            "arm4-lora",
        ] {
            assert_eq!(headline(name), Some(3), "{name}");
        }
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
}
