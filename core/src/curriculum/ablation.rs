//! The curriculum ablation behind `praxis report --curriculum`: does staging help, at equal
//! compute? The same curriculum file is trained three ways, each for the same total number of
//! updates, and every final policy is evaluated on the whole suite, nominally and under the
//! last stage's perturbations:
//!
//! - **staged**: the stages in their order, each for its whole budget;
//! - **all at once**: one stage whose signals are every stage's signals weighted by the
//!   stages' budgets (replay folds into imitation: with one stage there is nothing earlier),
//!   with the union of their environment constraints;
//! - **reversed**: the stages in reverse order (replay in the new first stage folds into
//!   imitation).
//!
//! Gates are measured and logged as usual, but no variant leaves a stage early: a gate that
//! opened early would give the staged variant less compute than the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::engine::{Finished, train_to_end};
use super::spec::{CurriculumSpec, StageSpec};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::eval::{self, EvalOptions, EvalReport};

/// One way of giving the curriculum's signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The stages in order.
    Staged,
    /// All signals in one stage.
    AllAtOnce,
    /// The stages in reverse order.
    Reversed,
}

impl Variant {
    /// The three variants, in the order the report lists them.
    pub const ALL: [Variant; 3] = [Variant::Staged, Variant::AllAtOnce, Variant::Reversed];

    /// Name used for the run directory and the report.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Staged => "staged",
            Variant::AllAtOnce => "all-at-once",
            Variant::Reversed => "reversed",
        }
    }

    /// The curriculum this variant trains: `spec` rearranged, every stage budget scaled by
    /// `scale` (at least one evaluation interval).
    pub fn derive(self, spec: &CurriculumSpec, scale: f64) -> CurriculumSpec {
        let mut stages: Vec<StageSpec> = spec.stages.clone();
        for stage in &mut stages {
            stage.gate.on_budget = "advance".into();
            stage.gate.budget = ((stage.gate.budget as f64 * scale).round() as u64)
                .max(spec.eval_every.min(stage.gate.budget));
        }
        let stages = match self {
            Variant::Staged => stages,
            Variant::AllAtOnce => vec![merge(&stages)],
            Variant::Reversed => {
                let mut reversed: Vec<StageSpec> = stages.into_iter().rev().collect();
                fold_replay(&mut reversed[0]);
                reversed
            }
        };
        let mut derived = spec.clone();
        derived.name = format!("{}-{}", spec.name, self.name());
        derived.ablation = Some(self.name().into());
        derived.stages = stages;
        derived
    }
}

impl std::str::FromStr for Variant {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown ablation variant '{s}' (known: staged, all-at-once, reversed)"
                ))
            })
    }
}

/// Replay draws on earlier stages' data; a first stage has none, so its weight goes to
/// imitation of the same demonstrations.
fn fold_replay(stage: &mut StageSpec) {
    if let Some(w) = stage.signals.remove("replay") {
        *stage.signals.entry("imitation".into()).or_insert(0.0) += w;
    }
}

/// One stage holding every stage's signals (weighted by budget), the union of their
/// environment variations, the last stage's gate and the sum of the budgets.
fn merge(stages: &[StageSpec]) -> StageSpec {
    let total: u64 = stages.iter().map(|s| s.gate.budget).sum();
    let share = |s: &StageSpec| s.gate.budget as f64 / total.max(1) as f64;
    let mut signals: BTreeMap<String, f64> = BTreeMap::new();
    for stage in stages {
        for (name, weight) in &stage.signals {
            let name = if name == "replay" { "imitation" } else { name };
            *signals.entry(name.to_string()).or_insert(0.0) += weight * share(stage);
        }
    }
    let last = stages.last().expect("a validated curriculum has stages");
    let mut merged = last.clone();
    merged.name = "all-at-once".into();
    merged.description = "every stage's signals and constraints at once".into();
    merged.signals = signals;
    merged.lr = stages.iter().map(|s| s.lr * share(s)).sum();
    let mut variations: Vec<String> = Vec::new();
    for stage in stages {
        for v in &stage.constraints.environment.variations {
            if !variations.contains(v) {
                variations.push(v.clone());
            }
        }
    }
    merged.constraints.environment.variations = variations;
    if let Some(with_dagger) = stages.iter().find(|s| s.signals.contains_key("dagger")) {
        merged.dagger = with_dagger.dagger.clone();
        merged.dagger_every = with_dagger.dagger_every;
    }
    if let Some(augmented) = stages
        .iter()
        .find(|s| s.constraints.environment.augment.is_active())
    {
        merged.constraints.environment.augment = augmented.constraints.environment.augment;
    }
    merged.gate.budget = total;
    merged
}

/// What one variant reached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantResult {
    /// Variant name.
    pub variant: String,
    /// The stages it ran, in order.
    pub stages: Vec<String>,
    /// Updates trained.
    pub updates: u64,
    /// Seconds spent in the last (or only) training session of the variant, evaluations at
    /// gate intervals included.
    pub train_seconds: f64,
    /// Whether the variant continued an interrupted run (then `train_seconds` covers only
    /// the part after the restart).
    pub resumed: bool,
    /// Whole-suite success, nominal.
    pub nominal: EvalSummary,
    /// Whole-suite success under the last stage's gate perturbations.
    pub perturbed: EvalSummary,
}

/// The headline of an evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Success rate.
    pub success_rate: f64,
    /// 95% Wilson interval.
    pub ci95: [f64; 2],
    /// Episodes.
    pub episodes: usize,
}

impl From<&EvalReport> for EvalSummary {
    fn from(r: &EvalReport) -> Self {
        EvalSummary {
            success_rate: r.success_rate,
            ci95: r.ci95,
            episodes: r.episodes,
        }
    }
}

/// File in each variant's run directory holding its [`VariantResult`].
pub const RESULT_FILE: &str = "ablation.json";

/// Trains (or finishes, or reuses) one variant in `dir` and evaluates its final policy.
/// `open_device` gives the engine its device; `progress` hears `(updates done, updates in
/// total)`; `interrupt` stops between updates (the run then resumes on the next call).
pub fn run_variant(
    dir: &Path,
    spec: &CurriculumSpec,
    variant: Variant,
    scale: f64,
    open_device: &dyn Fn() -> Result<ComputeDevice>,
    progress: &mut dyn FnMut(u64, u64),
    interrupt: &dyn Fn() -> bool,
) -> Result<Option<VariantResult>> {
    let result_path = dir.join(RESULT_FILE);
    if result_path.is_file() {
        let text = std::fs::read_to_string(&result_path)
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", result_path.display())))?;
        return serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::invalid(format!("{}: {e}", result_path.display())));
    }
    let derived = variant.derive(spec, scale);
    let Some(finished) = train_to_end(dir, &derived, open_device, progress, interrupt)? else {
        return Ok(None);
    };
    let Finished {
        engine,
        train_seconds,
        resumed,
    } = finished;
    let last = spec.stages.last().expect("validated");
    let suite = spec.load_suite()?;
    let policy = engine.policy();
    let evaluate = |variations| {
        eval::evaluate(
            &policy,
            engine.tokenizer(),
            &suite,
            &EvalOptions {
                execute_steps: last.constraints.embodiment.execute_steps,
                variations,
                seed: spec.seed,
                ..EvalOptions::default()
            },
            |_, _| {},
        )
    };
    let nominal = evaluate(Default::default())?;
    let perturbed = evaluate(crate::sim::Variations::from_names(
        &last.gate.perturbations,
    )?)?;
    let result = VariantResult {
        variant: variant.name().into(),
        stages: derived.stages.iter().map(|s| s.name.clone()).collect(),
        updates: engine.state().step,
        train_seconds,
        resumed,
        nominal: (&nominal).into(),
        perturbed: (&perturbed).into(),
    };
    crate::atomic::write_file(
        &result_path,
        serde_json::to_string_pretty(&result)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(Some(result))
}

/// Where a variant's run lives inside the report directory.
pub fn variant_dir(out: &Path, variant: Variant) -> PathBuf {
    out.join(variant.name())
}

/// The ablation table as markdown, with the protocol above it.
pub fn to_markdown(spec: &CurriculumSpec, scale: f64, results: &[VariantResult]) -> String {
    let last = spec.stages.last().map(|s| s.gate.perturbations.join(", "));
    let pct = |s: &EvalSummary| crate::eval::percent_with_interval(s.success_rate, s.ci95);
    let mut md = format!(
        "# Curriculum ablation: `{}` on suite `{}`\n\n\
         Equal compute: every variant trains the same number of updates (stage budgets × {scale}); \
         no stage leaves early. Success on the whole suite ({} evaluation episodes), 95% Wilson \
         intervals; perturbed = {}.\n\n\
         | variant | stages | updates | nominal success | perturbed success | gap (points) | wall time |\n\
         |---|---|---|---|---|---|---|\n",
        spec.name,
        spec.suite,
        results.first().map_or(0, |r| r.nominal.episodes),
        last.unwrap_or_default(),
    );
    for r in results {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} min{} |\n",
            r.variant,
            r.stages.join(" → "),
            r.updates,
            pct(&r.nominal),
            pct(&r.perturbed),
            100.0 * (r.nominal.success_rate - r.perturbed.success_rate),
            r.train_seconds / 60.0,
            if r.resumed { " (after resume)" } else { "" },
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CurriculumSpec {
        let text = r#"
name = "t"
suite = "goal"
eval_every = 100
[[stages]]
name = "cognitive"
signals = { imitation = 1.0 }
lr = 1e-3
[stages.gate]
budget = 400
success = 0.5
[[stages]]
name = "associative"
signals = { imitation = 0.5, dagger = 0.5 }
lr = 1e-3
[stages.gate]
budget = 400
success = 0.8
[[stages]]
name = "autonomous"
signals = { dagger = 0.4, imitation = 0.3, replay = 0.3 }
lr = 2e-4
constraints.environment.variations = ["lighting"]
[stages.gate]
budget = 200
success = 0.85
robustness_gap = 0.1
perturbations = ["lighting"]
"#;
        CurriculumSpec::from_toml(text, "t", Path::new(".")).unwrap()
    }

    fn budgets(s: &CurriculumSpec) -> u64 {
        s.stages.iter().map(|s| s.gate.budget).sum()
    }

    #[test]
    fn every_variant_gets_the_same_updates() {
        let spec = spec();
        for scale in [1.0, 0.25] {
            let expected = budgets(&Variant::Staged.derive(&spec, scale));
            for v in Variant::ALL {
                let derived = v.derive(&spec, scale);
                assert_eq!(budgets(&derived), expected, "{v:?} at scale {scale}");
                derived.validate().unwrap();
                assert_eq!(derived.ablation.as_deref(), Some(v.name()));
            }
        }
        // 100 + 100 + 50, the last raised to one evaluation interval (100)
        assert_eq!(budgets(&Variant::Staged.derive(&spec, 0.25)), 300);
    }

    #[test]
    fn all_at_once_weighs_signals_by_budget_and_folds_replay() {
        let merged = Variant::AllAtOnce.derive(&spec(), 1.0);
        assert_eq!(merged.stages.len(), 1);
        let s = &merged.stages[0].signals;
        // imitation: 0.4·1 + 0.4·0.5 + 0.2·(0.3 + 0.3); dagger: 0.4·0.5 + 0.2·0.4
        assert!((s["imitation"] - 0.72).abs() < 1e-9, "{s:?}");
        assert!((s["dagger"] - 0.28).abs() < 1e-9, "{s:?}");
        assert!(!s.contains_key("replay"));
        assert!((merged.stages[0].lr - 8.4e-4).abs() < 1e-12);
        assert_eq!(
            merged.stages[0].constraints.environment.variations,
            vec!["lighting".to_string()]
        );
    }

    #[test]
    fn reversed_runs_the_stages_backwards_without_replay_first() {
        let reversed = Variant::Reversed.derive(&spec(), 1.0);
        let names: Vec<&str> = reversed.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["autonomous", "associative", "cognitive"]);
        let first = &reversed.stages[0].signals;
        assert!(!first.contains_key("replay"));
        assert!((first["imitation"] - 0.6).abs() < 1e-9);
        // the same order in a curriculum file is refused
        let mut plain = reversed.clone();
        plain.ablation = None;
        assert!(
            plain
                .validate()
                .unwrap_err()
                .to_string()
                .contains("out of order")
        );
    }
}
