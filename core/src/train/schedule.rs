//! Learning-rate schedule: linear warm-up, then cosine decay to a floor.

use serde::{Deserialize, Serialize};

/// Warm-up then cosine schedule over a run of `total_steps` updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Peak learning rate.
    pub lr: f64,
    /// Updates of linear warm-up from `lr / warmup_steps` to `lr`.
    pub warmup_steps: u64,
    /// Final learning rate as a fraction of `lr`.
    pub min_lr_ratio: f64,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            lr: 3e-4,
            warmup_steps: 100,
            min_lr_ratio: 0.1,
        }
    }
}

impl Schedule {
    /// The learning rate of update `step` (0-based) of `total_steps`.
    pub fn lr_at(&self, step: u64, total_steps: u64) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = ((step - self.warmup_steps) as f64 / span).min(1.0);
        let floor = self.lr * self.min_lr_ratio;
        floor + (self.lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays_to_the_floor() {
        let s = Schedule {
            lr: 1.0,
            warmup_steps: 10,
            min_lr_ratio: 0.1,
        };
        assert!((s.lr_at(0, 100) - 0.1).abs() < 1e-12);
        assert!((s.lr_at(9, 100) - 1.0).abs() < 1e-12);
        assert!((s.lr_at(10, 100) - 1.0).abs() < 1e-12);
        assert!(s.lr_at(55, 100) < 0.6 && s.lr_at(55, 100) > 0.5);
        assert!((s.lr_at(100, 100) - 0.1).abs() < 1e-12);
    }
}
