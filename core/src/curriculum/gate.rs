//! Gates: whether a stage's measured criteria say it may move on. Pure functions of the
//! stage's measurements, so they are tested on synthetic metric streams.

use serde::{Deserialize, Serialize};

use super::spec::GateSpec;
use crate::telemetry::{CriterionStatus, GateStatus};

/// One success measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SuccessPoint {
    /// Updates when measured.
    pub step: u64,
    /// Success rate.
    pub rate: f64,
    /// Episodes behind it.
    pub episodes: usize,
}

/// Everything measured in the current stage so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageMeasurements {
    /// Nominal success on the stage's tasks, in order.
    pub success: Vec<SuccessPoint>,
    /// Latest success under the gate's perturbations.
    pub perturbed: Option<SuccessPoint>,
    /// Latest teacher intervention rate.
    pub intervention_rate: Option<f64>,
    /// Latest success on earlier stages' tasks.
    pub retention: Option<SuccessPoint>,
}

fn criterion(name: &str, at_least: bool, threshold: f64, value: Option<f64>) -> CriterionStatus {
    let met = value.is_some_and(|v| {
        if at_least {
            v >= threshold
        } else {
            v <= threshold
        }
    });
    CriterionStatus {
        name: name.into(),
        comparison: if at_least { ">=" } else { "<=" }.into(),
        threshold,
        value,
        met,
    }
}

/// The gate's verdict on `m`. A success figure counts only if it rests on at least
/// `min_episodes` episodes; the plateau needs `plateau_window` measurements.
pub fn evaluate(gate: &GateSpec, m: &StageMeasurements, stage: usize, step: u64) -> GateStatus {
    let enough = |p: &SuccessPoint| p.episodes >= gate.min_episodes;
    let latest = m.success.last().filter(|p| enough(p));
    let mut criteria = Vec::new();
    if let Some(threshold) = gate.success {
        criteria.push(criterion(
            "success",
            true,
            threshold,
            latest.map(|p| p.rate),
        ));
    }
    if let Some(threshold) = gate.intervention_rate {
        criteria.push(criterion(
            "intervention_rate",
            false,
            threshold,
            m.intervention_rate,
        ));
    }
    if let Some(threshold) = gate.plateau {
        let window = gate.plateau_window;
        let span = (m.success.len() >= window).then(|| {
            let recent = &m.success[m.success.len() - window..];
            let max = recent.iter().map(|p| p.rate).fold(f64::MIN, f64::max);
            let min = recent.iter().map(|p| p.rate).fold(f64::MAX, f64::min);
            max - min
        });
        criteria.push(criterion("plateau", false, threshold, span));
    }
    if let Some(threshold) = gate.robustness_gap {
        let gap = latest
            .zip(m.perturbed.filter(|p| enough(p)))
            .map(|(nominal, perturbed)| nominal.rate - perturbed.rate);
        criteria.push(criterion("robustness_gap", false, threshold, gap));
    }
    if let Some(threshold) = gate.retention {
        let value = m.retention.filter(|p| enough(p)).map(|p| p.rate);
        criteria.push(criterion("retention", true, threshold, value));
    }
    let open = criteria.iter().all(|c| c.met);
    GateStatus {
        stage,
        step,
        criteria,
        open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> GateSpec {
        GateSpec {
            budget: 1000,
            on_budget: "stop".into(),
            min_episodes: 20,
            success: Some(0.8),
            intervention_rate: None,
            plateau: None,
            plateau_window: 3,
            robustness_gap: None,
            perturbations: Vec::new(),
            retention: None,
        }
    }

    fn point(step: u64, rate: f64, episodes: usize) -> SuccessPoint {
        SuccessPoint {
            step,
            rate,
            episodes,
        }
    }

    #[test]
    fn success_gate_opens_exactly_at_the_threshold_and_needs_enough_episodes() {
        let g = gate();
        let mut m = StageMeasurements::default();
        assert!(!evaluate(&g, &m, 0, 0).open, "nothing measured yet");
        m.success.push(point(100, 0.79, 70));
        assert!(!evaluate(&g, &m, 0, 100).open);
        m.success.push(point(200, 0.8, 70));
        assert!(evaluate(&g, &m, 0, 200).open);
        m.success.push(point(300, 0.95, 10));
        let status = evaluate(&g, &m, 0, 300);
        assert!(!status.open, "10 episodes are too few");
        assert_eq!(status.criteria[0].value, None);
        m.success.push(point(400, 0.7, 70));
        assert!(
            !evaluate(&g, &m, 0, 400).open,
            "the gate follows the latest figure"
        );
    }

    #[test]
    fn plateau_needs_a_full_window_of_flat_measurements() {
        let g = GateSpec {
            success: None,
            plateau: Some(0.05),
            ..gate()
        };
        let mut m = StageMeasurements::default();
        for (step, rate) in [(1, 0.2), (2, 0.5), (3, 0.52)] {
            m.success.push(point(step, rate, 70));
        }
        let status = evaluate(&g, &m, 0, 3);
        assert!(!status.open);
        assert!((status.criteria[0].value.unwrap() - 0.32).abs() < 1e-9);
        m.success.push(point(4, 0.54, 70));
        assert!(evaluate(&g, &m, 0, 4).open, "0.50, 0.52, 0.54 span 0.04");
        m.success.push(point(5, 0.7, 70));
        assert!(!evaluate(&g, &m, 0, 5).open);
    }

    #[test]
    fn every_criterion_must_hold() {
        let g = GateSpec {
            robustness_gap: Some(0.1),
            intervention_rate: Some(0.2),
            retention: Some(0.6),
            perturbations: vec!["distractors".into()],
            ..gate()
        };
        let mut m = StageMeasurements {
            success: vec![point(1, 0.9, 70)],
            perturbed: Some(point(1, 0.75, 70)),
            intervention_rate: Some(0.1),
            retention: Some(point(1, 0.7, 70)),
        };
        let status = evaluate(&g, &m, 1, 1);
        assert!(!status.open, "gap 0.15 > 0.1");
        let gap = status
            .criteria
            .iter()
            .find(|c| c.name == "robustness_gap")
            .unwrap();
        assert!(!gap.met && (gap.value.unwrap() - 0.15).abs() < 1e-9);
        m.perturbed = Some(point(1, 0.85, 70));
        assert!(evaluate(&g, &m, 1, 1).open);
        m.intervention_rate = Some(0.25);
        assert!(!evaluate(&g, &m, 1, 1).open);
        m.intervention_rate = Some(0.2);
        m.retention = Some(point(1, 0.5, 70));
        assert!(!evaluate(&g, &m, 1, 1).open);
    }
}
