//! How a LeRobot dataset's features become the model's inputs, and back: which camera, how
//! its frames are fitted to the preset's square image, how state and action are normalised
//! and padded to the model's 8 values. The resolved mapping is saved in every checkpoint
//! trained on the dataset, so inference applies exactly the transform training saw.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::meta::FeatureStats;

/// `[data.lerobot]` in a training config: the dataset and how to map it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeRobotSource {
    /// The dataset's root directory (the one holding `meta/info.json`).
    pub dir: PathBuf,
    /// Camera feature to feed the model (default: the dataset's first camera).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    /// Proprioceptive state feature.
    #[serde(default = "default_state")]
    pub state: String,
    /// Action feature.
    #[serde(default = "default_action")]
    pub action: String,
    /// How state and action are normalised (default: `min-max` for a `bins`-head model, whose
    /// bins cover exactly -1..1, else `mean-std`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalize>,
    /// How frames of another aspect ratio become square.
    #[serde(default)]
    pub fit: Fit,
    /// Episodes kept out of training for `praxis eval --dataset` (default: the last 10%,
    /// at least one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_episodes: Option<usize>,
}

impl LeRobotSource {
    /// The default mapping of the dataset at `dir`: its first camera, `observation.state`,
    /// `action`, the model's default normalisation, centre crop, the last 10% of episodes
    /// held out.
    pub fn new(dir: PathBuf) -> LeRobotSource {
        LeRobotSource {
            dir,
            camera: None,
            state: default_state(),
            action: default_action(),
            normalize: None,
            fit: Fit::default(),
            held_out_episodes: None,
        }
    }
}

fn default_state() -> String {
    "observation.state".into()
}
fn default_action() -> String {
    "action".into()
}

/// Normalisation of state and action, from the dataset's `meta/stats.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalize {
    /// (x - mean) / std.
    #[default]
    MeanStd,
    /// Min..max onto -1..1.
    MinMax,
    /// Values as stored.
    None,
}

/// How a camera frame is fitted to the model's square image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fit {
    /// Crop the centre square, then resize.
    #[default]
    Crop,
    /// Resize the whole frame, distorting its aspect ratio.
    Stretch,
}

/// `normalised = (raw - shift) / scale`, per dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affine {
    pub shift: Vec<f32>,
    pub scale: Vec<f32>,
}

impl Affine {
    /// The transform `normalize` asks for, from a feature's statistics.
    pub fn from_stats(stats: &FeatureStats, normalize: Normalize) -> Affine {
        let dim = stats.mean.len();
        let safe = |s: f32| {
            if s.abs() < 1e-6 || !s.is_finite() {
                1.0
            } else {
                s
            }
        };
        match normalize {
            Normalize::MeanStd => Affine {
                shift: stats.mean.clone(),
                scale: stats.std.iter().map(|s| safe(*s)).collect(),
            },
            Normalize::MinMax => Affine {
                shift: (0..dim)
                    .map(|k| (stats.max[k] + stats.min[k]) / 2.0)
                    .collect(),
                scale: (0..dim)
                    .map(|k| safe((stats.max[k] - stats.min[k]) / 2.0))
                    .collect(),
            },
            Normalize::None => Affine {
                shift: vec![0.0; dim],
                scale: vec![1.0; dim],
            },
        }
    }

    /// Raw → normalised.
    pub fn apply(&self, raw: &[f32]) -> Vec<f32> {
        raw.iter()
            .zip(self.shift.iter().zip(&self.scale))
            .map(|(x, (s, k))| (x - s) / k)
            .collect()
    }

    /// Normalised → raw (the first `shift.len()` values of `normalised`).
    pub fn invert(&self, normalised: &[f32]) -> Vec<f32> {
        normalised
            .iter()
            .zip(self.shift.iter().zip(&self.scale))
            .map(|(x, (s, k))| x * k + s)
            .collect()
    }
}

/// The resolved mapping, saved with each checkpoint (`meta.json`, `data_mapping`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataMapping {
    /// Where the data came from, e.g. `lerobot v3.0`.
    pub source: String,
    /// The dataset directory's name.
    pub dataset: String,
    pub camera: String,
    pub state: String,
    pub action: String,
    /// Values of the dataset's state and action (before padding to the model's size).
    pub state_dim: usize,
    pub action_dim: usize,
    /// Side of the model's square image.
    pub image_size: usize,
    pub fit: Fit,
    pub normalize: Normalize,
    pub state_norm: Affine,
    pub action_norm: Affine,
    /// Episode indices kept out of training.
    pub held_out: Vec<u32>,
}

impl DataMapping {
    /// A camera frame (row-major RGB, `width × height`) as the model's square image.
    pub fn image(&self, rgb: &[u8], width: usize, height: usize) -> Vec<u8> {
        fit_square(rgb, width, height, self.image_size, self.fit)
    }

    /// A raw state as the model's (unpadded) state.
    pub fn state_in(&self, raw: &[f32]) -> Vec<f32> {
        self.state_norm.apply(raw)
    }

    /// A raw action as the model's (unpadded) action.
    pub fn action_in(&self, raw: &[f32]) -> Vec<f32> {
        self.action_norm.apply(raw)
    }

    /// The model's action (padded) in the dataset's units.
    pub fn action_out(&self, model: &[f32]) -> Vec<f32> {
        self.action_norm
            .invert(&model[..self.action_dim.min(model.len())])
    }
}

/// Crops (or not) and resizes an RGB image to `side × side` with bilinear filtering,
/// averaging over the source pixels each output pixel covers when shrinking.
pub fn fit_square(rgb: &[u8], width: usize, height: usize, side: usize, fit: Fit) -> Vec<u8> {
    let (x0, y0, cw, ch) = match fit {
        Fit::Crop => {
            let s = width.min(height);
            ((width - s) / 2, (height - s) / 2, s, s)
        }
        Fit::Stretch => (0, 0, width, height),
    };
    if (cw, ch) == (side, side) {
        return (0..side)
            .flat_map(|y| {
                let row = ((y0 + y) * width + x0) * 3;
                rgb[row..row + side * 3].iter().copied()
            })
            .collect();
    }
    let (sx, sy) = (cw as f32 / side as f32, ch as f32 / side as f32);
    // Box-average when shrinking: sample a grid of `taps` points per output pixel.
    let taps = |s: f32| (s.ceil() as usize).max(1);
    let (tx, ty) = (taps(sx), taps(sy));
    let sample = |x: f32, y: f32, c: usize| -> f32 {
        let x = x.clamp(0.0, cw as f32 - 1.0);
        let y = y.clamp(0.0, ch as f32 - 1.0);
        let (xa, ya) = (x.floor() as usize, y.floor() as usize);
        let (xb, yb) = ((xa + 1).min(cw - 1), (ya + 1).min(ch - 1));
        let (fx, fy) = (x - xa as f32, y - ya as f32);
        let at = |x: usize, y: usize| rgb[((y0 + y) * width + x0 + x) * 3 + c] as f32;
        let top = at(xa, ya) * (1.0 - fx) + at(xb, ya) * fx;
        let bottom = at(xa, yb) * (1.0 - fx) + at(xb, yb) * fx;
        top * (1.0 - fy) + bottom * fy
    };
    let mut out = Vec::with_capacity(side * side * 3);
    for oy in 0..side {
        for ox in 0..side {
            for c in 0..3 {
                let mut acc = 0.0;
                for j in 0..ty {
                    for i in 0..tx {
                        let x = (ox as f32 + (i as f32 + 0.5) / tx as f32) * sx - 0.5;
                        let y = (oy as f32 + (j as f32 + 0.5) / ty as f32) * sy - 0.5;
                        acc += sample(x, y, c);
                    }
                }
                out.push((acc / (tx * ty) as f32).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_crop_is_the_identity_and_shrinking_averages() {
        let rgb: Vec<u8> = (0..4 * 4 * 3).map(|i| i as u8).collect();
        assert_eq!(fit_square(&rgb, 4, 4, 4, Fit::Crop), rgb);
        let flat = vec![100u8; 8 * 6 * 3];
        assert_eq!(fit_square(&flat, 8, 6, 3, Fit::Crop), vec![100u8; 27]);
        assert_eq!(fit_square(&flat, 8, 6, 3, Fit::Stretch), vec![100u8; 27]);
    }

    #[test]
    fn normalisation_inverts() {
        let stats = FeatureStats {
            mean: vec![1.0, -2.0],
            std: vec![0.5, 0.0],
            min: vec![0.0, -3.0],
            max: vec![2.0, -1.0],
        };
        for n in [Normalize::MeanStd, Normalize::MinMax, Normalize::None] {
            let a = Affine::from_stats(&stats, n);
            let x = [1.7, -2.4];
            let back = a.invert(&a.apply(&x));
            assert!((back[0] - x[0]).abs() < 1e-6 && (back[1] - x[1]).abs() < 1e-6);
        }
    }
}
