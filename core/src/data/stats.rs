//! Per-feature normalisation statistics (mean, std, min, max), accumulated in one pass with
//! Welford's algorithm in f64 so they are exact enough for any dataset size.

use serde::{Deserialize, Serialize};

/// Statistics of one vector feature, per dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureStats {
    pub mean: Vec<f32>,
    /// Population standard deviation.
    pub std: Vec<f32>,
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    /// Number of vectors seen.
    pub count: u64,
}

/// Streaming accumulator for [`FeatureStats`].
#[derive(Debug, Clone)]
pub struct StatsAccumulator {
    count: u64,
    mean: Vec<f64>,
    m2: Vec<f64>,
    min: Vec<f32>,
    max: Vec<f32>,
}

impl StatsAccumulator {
    /// An empty accumulator for `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Self {
        StatsAccumulator {
            count: 0,
            mean: vec![0.0; dim],
            m2: vec![0.0; dim],
            min: vec![f32::INFINITY; dim],
            max: vec![f32::NEG_INFINITY; dim],
        }
    }

    /// Adds every `dim`-sized row of `rows`.
    pub fn add_rows(&mut self, rows: &[f32]) {
        let dim = self.mean.len();
        if dim == 0 {
            return;
        }
        for row in rows.chunks_exact(dim) {
            self.count += 1;
            let n = self.count as f64;
            for (k, &x) in row.iter().enumerate() {
                let delta = x as f64 - self.mean[k];
                self.mean[k] += delta / n;
                self.m2[k] += delta * (x as f64 - self.mean[k]);
                self.min[k] = self.min[k].min(x);
                self.max[k] = self.max[k].max(x);
            }
        }
    }

    /// The statistics so far (zeros when empty).
    pub fn finish(&self) -> FeatureStats {
        let empty = self.count == 0;
        let pick = |v: &[f32]| {
            if empty {
                vec![0.0; v.len()]
            } else {
                v.to_vec()
            }
        };
        FeatureStats {
            mean: self.mean.iter().map(|m| *m as f32).collect(),
            std: self
                .m2
                .iter()
                .map(|m| {
                    if empty {
                        0.0
                    } else {
                        (m / self.count as f64).sqrt() as f32
                    }
                })
                .collect(),
            min: pick(&self.min),
            max: pick(&self.max),
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_the_textbook() {
        let mut acc = StatsAccumulator::new(2);
        acc.add_rows(&[1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0]);
        let s = acc.finish();
        assert_eq!(s.count, 4);
        assert!((s.mean[0] - 2.5).abs() < 1e-6 && (s.mean[1] - 25.0).abs() < 1e-5);
        assert!((s.std[0] - 1.118034).abs() < 1e-5);
        assert_eq!((s.min[1], s.max[1]), (10.0, 40.0));
    }
}
