//! A report directory at one budget: which (run, seed) pairs the protocol asks for, which of
//! them have finished there (read once, and refused when they were trained from other files or
//! at another budget), and training the rest.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::device::ComputeDevice;
use crate::error::{Error, Result};

use super::fingerprint::fingerprints;
use super::jobs;
use super::protocol::{Budget, Protocol, RunSpec};
use super::result::{RESULT_FILE, SeedResult, read_result, seed_dir};
use super::train::train_one;

/// File in a (run, seed)'s directory naming the [`fingerprint`](super::fingerprint()) its
/// training started from, so a stopped run is not resumed under a changed config.
pub const FINGERPRINT_FILE: &str = "fingerprint";

/// One (run, seed) of the protocol at the plan's budget.
struct Pair<'a> {
    run: &'a RunSpec,
    seed: u64,
    /// The run's fingerprint.
    digest: String,
    /// Its result, when it had finished in the report directory.
    finished: Option<SeedResult>,
    /// The pair it starts from (`init_from`), by index.
    source: Option<usize>,
}

/// The protocol's (run, seed) pairs in a report directory, in protocol order, with what has
/// finished there. Made once per call of `praxis report`, so the table of a report in progress,
/// the warning about pairs from another CPU and the training all see the same results, each
/// `result.json` read once.
pub struct Plan<'a> {
    out: PathBuf,
    budget: Budget,
    pairs: Vec<Pair<'a>>,
}

impl<'a> Plan<'a> {
    /// The plan of `protocol` in `out` at `budget`. Checked in this order, so the first error
    /// is the most basic one: every `init_from` finds its source among the pairs this budget
    /// trains (under `--quick` only first seeds train), then every finished result was trained
    /// at this budget from files with the same fingerprint as now.
    pub fn new(protocol: &'a Protocol, out: &Path, budget: Budget) -> Result<Self> {
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
        let mut pairs: Vec<Pair<'a>> = Vec::new();
        for (run, digest) in protocol.runs.iter().zip(fingerprints(protocol)?) {
            let digest = scaled_digest(&digest, run, budget);
            for &seed in budget.seeds(run) {
                let source = run.init_from.as_ref().map(|from| {
                    pairs
                        .iter()
                        .position(|p| &p.run.name == from && p.seed == seed)
                        .expect("checked above: every source pair is in the protocol")
                });
                let path = seed_dir(out, &run.name, seed).join(RESULT_FILE);
                pairs.push(Pair {
                    run,
                    seed,
                    finished: finished(&path, budget, &digest)?,
                    digest: digest.clone(),
                    source,
                });
            }
        }
        Ok(Plan {
            out: out.to_path_buf(),
            budget,
            pairs,
        })
    }

    /// The results that had finished in the report directory, in protocol order.
    pub fn finished(&self) -> Vec<SeedResult> {
        self.pairs
            .iter()
            .filter_map(|p| p.finished.clone())
            .collect()
    }

    /// How many pairs are still to train.
    pub fn pending(&self) -> usize {
        self.pairs.iter().filter(|p| p.finished.is_none()).count()
    }

    /// Trains and evaluates every pair not finished yet, `jobs` at a time (`--jobs`), each
    /// after the pair it starts from, writing each one's `result.json` as it finishes. Returns
    /// every pair's result in protocol order. `on_start(job, run, seed)` hears each start;
    /// `progress(job, done, total)` hears the updates of the pair job `job` trains; `stop`
    /// interrupts between updates, returning `Ok(None)` (run the report again to continue).
    pub fn train(
        self,
        jobs: usize,
        open_device: &(dyn Fn() -> Result<ComputeDevice> + Sync),
        on_start: &(dyn Fn(usize, &str, u64) + Sync),
        progress: &(dyn Fn(usize, u64, u64) + Sync),
        stop: &AtomicBool,
    ) -> Result<Option<Vec<SeedResult>>> {
        let deps: Vec<Option<usize>> = self.pairs.iter().map(|p| p.source).collect();
        let finished_before = self.pairs.iter().map(|p| p.finished.clone()).collect();
        let work = |job: usize, i: usize, source: Option<&SeedResult>| {
            let Pair {
                run, seed, digest, ..
            } = &self.pairs[i];
            let dir = seed_dir(&self.out, &run.name, *seed);
            started_from(&dir, digest)?;
            on_start(job, &run.name, *seed);
            let init = source.map(|r| r.checkpoint.clone());
            let mut report = |done, total| progress(job, done, total);
            let Some(mut result) = train_one(
                run,
                *seed,
                init,
                &dir,
                self.budget,
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
}

/// How [`super::train`] scales a curriculum at a budget other than the full one, as a number
/// to raise when that rule changes. 2 (2026-12-06): stage boundaries scaled cumulatively, each
/// stage keeping its number of corrected rounds (1: each stage at least one evaluation
/// interval, the correction interval scaled on its own).
const CURRICULUM_SCALING: u32 = 2;

/// A run's fingerprint at `budget`: as it is at the full budget, where nothing is scaled; a
/// curriculum's, at another, with the scaling rule's version, so a report directory trained
/// under an earlier rule is refused rather than continued under this one.
fn scaled_digest(digest: &str, run: &RunSpec, budget: Budget) -> String {
    match run.curriculum.is_some() && budget.scale != 1.0 {
        true => format!("{digest}-s{CURRICULUM_SCALING}"),
        false => digest.to_string(),
    }
}

/// The result at `path` if that (run, seed) has finished, refused when it was trained at
/// another budget (a report directory holds one budget) or from files whose fingerprint is not
/// `digest` any more.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::result;

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

    /// A curriculum run's fingerprint names the scaling rule at any budget but the full one,
    /// where nothing is scaled; a config run's never does.
    #[test]
    fn a_scaled_curriculums_fingerprint_names_the_scaling_rule() {
        let mut protocol = crate::report::fixtures::protocol();
        let config = protocol.runs[0].clone();
        protocol.runs[0].config = None;
        protocol.runs[0].curriculum = Some("c.toml".into());
        let curriculum = &protocol.runs[0];
        assert_eq!(scaled_digest("ab", curriculum, Budget::FULL), "ab");
        assert_eq!(
            scaled_digest("ab", curriculum, Budget::QUICK),
            format!("ab-s{CURRICULUM_SCALING}")
        );
        assert_eq!(scaled_digest("ab", &config, Budget::QUICK), "ab");
    }

    /// A plan reads what has finished once (in protocol order, with the count still to
    /// train), refuses a result whose config changed since, and checks that every source pair
    /// trains at its budget before it reads any result.
    #[test]
    fn plan_reads_finished_pairs_and_checks_sources_first() {
        let dir = tempfile::tempdir().unwrap();
        let config = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let mut protocol = crate::report::fixtures::protocol();
        protocol.runs[0].config = Some(config("a.toml", "steps = 10\n"));
        protocol.runs[1].config = Some(config("b.toml", "steps = 20\n"));
        let out = dir.path().join("out");
        let plan = Plan::new(&protocol, &out, Budget::FULL).unwrap();
        assert_eq!((plan.finished().len(), plan.pending()), (0, 3));

        let digest = fingerprints(&protocol).unwrap()[1].clone();
        let done = SeedResult {
            fingerprint: Some(digest),
            ..result("rl", 1, 4, None)
        };
        let path = seed_dir(&out, "rl", 1).join(RESULT_FILE);
        crate::atomic::write_file(&path, serde_json::to_string(&done).unwrap().as_bytes()).unwrap();
        let plan = Plan::new(&protocol, &out, Budget::FULL).unwrap();
        assert_eq!(plan.finished(), vec![done]);
        assert_eq!(plan.pending(), 2);

        config("b.toml", "steps = 30\n");
        let changed = Plan::new(&protocol, &out, Budget::FULL).err().unwrap();
        assert!(changed.to_string().contains("fingerprint"), "{changed}");

        // Under --quick `rl` seed 0 would start from `base` seed 0, which only the full budget
        // trains: said first, though the finished result is now refused on two counts.
        protocol.runs[0].seeds = vec![1, 0];
        protocol.runs[1].init_from = Some("base".into());
        let quick = Plan::new(&protocol, &out, Budget::QUICK).err().unwrap();
        assert!(
            quick.to_string().contains("starts from `base` seed 0"),
            "{quick}"
        );
    }
}
