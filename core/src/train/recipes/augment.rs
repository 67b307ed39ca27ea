//! Image augmentation: random shift and colour jitter of each training image.
//!
//! Survey category: **environment perception** (making the visual encoder robust to what the
//! camera sees changing). The shift follows RAD (Laskin et al., 2020, "Reinforcement Learning
//! with Augmented Data") and DrQ (Yarats et al., 2021): pad the image by replicating its edge
//! and crop it back at a random offset of up to `shift` pixels. Colour jitter adds a random
//! brightness offset and scales contrast around the image's mean, per image. Illumination
//! jitter (domain randomisation of the light, as Tobin et al., 2017, randomise rendering)
//! multiplies the image by a random gain and a random linear gradient across it: the family of
//! changes the simulator's `lighting` variation makes.
//!
//! Applied on the host when a batch is assembled, from a random stream of its own (seed, step),
//! so the samples a batch draws and everything else in a run stay as they were without it.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// `[augment]` in a training config; all zero (the default) leaves images untouched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Largest shift in pixels, in each direction.
    #[serde(default)]
    pub shift: usize,
    /// Largest brightness offset, as a fraction of full scale (e.g. 0.1).
    #[serde(default)]
    pub brightness: f32,
    /// Largest relative contrast change (e.g. 0.2 scales contrast by 0.8..1.2).
    #[serde(default)]
    pub contrast: f32,
    /// Largest relative change of the light's intensity (e.g. 0.3 multiplies every pixel by
    /// 0.7..1.3).
    #[serde(default)]
    pub gain: f32,
    /// Largest slope of a linear light gradient across the image, per axis (e.g. 0.25: the
    /// light is up to 25% stronger on one side and 25% weaker on the other).
    #[serde(default)]
    pub gradient: f32,
}

impl AugmentConfig {
    /// Whether any augmentation is on.
    pub fn is_active(&self) -> bool {
        self.shift > 0
            || self.brightness > 0.0
            || self.contrast > 0.0
            || self.gain > 0.0
            || self.gradient > 0.0
    }

    /// Checks the ranges (one line naming the field).
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.brightness) {
            return Err("augment.brightness must be in [0, 1]".into());
        }
        if !(0.0..1.0).contains(&self.contrast) {
            return Err("augment.contrast must be in [0, 1)".into());
        }
        if self.shift > 32 {
            return Err("augment.shift must be at most 32 pixels".into());
        }
        if !(0.0..1.0).contains(&self.gain) || !(0.0..1.0).contains(&self.gradient) {
            return Err("augment.gain and augment.gradient must be in [0, 1)".into());
        }
        Ok(())
    }

    /// Augments a square RGB image (`side × side × 3`, row-major) in place.
    pub fn apply(&self, image: &mut [u8], side: usize, rng: &mut impl Rng) {
        if self.shift > 0 {
            let s = self.shift as i64;
            let dx = rng.random_range(-s..=s);
            let dy = rng.random_range(-s..=s);
            shift(image, side, dx, dy);
        }
        if self.brightness > 0.0 || self.contrast > 0.0 {
            let offset = if self.brightness > 0.0 {
                rng.random_range(-self.brightness..=self.brightness) * 255.0
            } else {
                0.0
            };
            let scale = if self.contrast > 0.0 {
                rng.random_range(1.0 - self.contrast..=1.0 + self.contrast)
            } else {
                1.0
            };
            let mean = image.iter().map(|v| *v as f32).sum::<f32>() / image.len().max(1) as f32;
            for v in image.iter_mut() {
                *v = ((*v as f32 - mean) * scale + mean + offset)
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
        if self.gain > 0.0 || self.gradient > 0.0 {
            let gain = match self.gain > 0.0 {
                true => rng.random_range(1.0 - self.gain..=1.0 + self.gain),
                false => 1.0,
            };
            let (gx, gy) = match self.gradient > 0.0 {
                true => (
                    rng.random_range(-self.gradient..=self.gradient),
                    rng.random_range(-self.gradient..=self.gradient),
                ),
                false => (0.0, 0.0),
            };
            illuminate(image, side, gain, gx, gy);
        }
    }
}

/// Multiplies pixel (x, y) by `gain · (1 + gx·u + gy·v)`, with u, v running from -1 to 1
/// across the image (the simulator's lighting model).
pub fn illuminate(image: &mut [u8], side: usize, gain: f32, gx: f32, gy: f32) {
    for y in 0..side {
        let v = 2.0 * (y as f32 + 0.5) / side as f32 - 1.0;
        for x in 0..side {
            let u = 2.0 * (x as f32 + 0.5) / side as f32 - 1.0;
            let factor = gain * (1.0 + gx * u + gy * v);
            for c in &mut image[(y * side + x) * 3..(y * side + x) * 3 + 3] {
                *c = (*c as f32 * factor).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// Moves the picture by (dx, dy) pixels, repeating edge pixels into the uncovered border:
/// output pixel (x, y) is input pixel (x - dx, y - dy), clamped to the image.
pub fn shift(image: &mut [u8], side: usize, dx: i64, dy: i64) {
    if dx == 0 && dy == 0 {
        return;
    }
    let source = image.to_vec();
    let last = side as i64 - 1;
    for y in 0..side {
        let sy = (y as i64 - dy).clamp(0, last) as usize;
        for x in 0..side {
            let sx = (x as i64 - dx).clamp(0, last) as usize;
            let (to, from) = ((y * side + x) * 3, (sy * side + sx) * 3);
            image[to..to + 3].copy_from_slice(&source[from..from + 3]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn dot(side: usize, x: usize, y: usize) -> Vec<u8> {
        let mut img = vec![0u8; side * side * 3];
        img[(y * side + x) * 3..(y * side + x) * 3 + 3].copy_from_slice(&[255, 255, 255]);
        img
    }

    #[test]
    fn off_is_the_identity() {
        let mut img: Vec<u8> = (0..8 * 8 * 3).map(|i| i as u8).collect();
        let before = img.clone();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        AugmentConfig::default().apply(&mut img, 8, &mut rng);
        assert_eq!(img, before);
    }

    #[test]
    fn shift_moves_the_picture_and_repeats_the_edge() {
        let mut img = dot(8, 3, 4);
        shift(&mut img, 8, 2, -1);
        assert_eq!(img, dot(8, 5, 3));
        let mut edge = dot(8, 0, 0);
        shift(&mut edge, 8, 1, 1);
        // The corner pixel is repeated into the new top row and left column.
        for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            assert_eq!(edge[(y * 8 + x) * 3], 255, "({x}, {y})");
        }
    }

    #[test]
    fn shifts_stay_within_range_and_jitter_changes_brightness() {
        let config = AugmentConfig {
            shift: 2,
            ..AugmentConfig::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut moved = 0;
        for _ in 0..50 {
            let mut img = dot(16, 8, 8);
            config.apply(&mut img, 16, &mut rng);
            let at = img.iter().position(|v| *v == 255).unwrap() / 3;
            let (x, y) = (at % 16, at / 16);
            assert!((6..=10).contains(&x) && (6..=10).contains(&y), "({x}, {y})");
            moved += usize::from((x, y) != (8, 8));
        }
        assert!(moved > 30, "only {moved} of 50 images moved");
        let bright = AugmentConfig {
            brightness: 0.2,
            ..AugmentConfig::default()
        };
        let means: Vec<f32> = (0..20)
            .map(|_| {
                let mut img = vec![128u8; 4 * 4 * 3];
                bright.apply(&mut img, 4, &mut rng);
                img.iter().map(|v| *v as f32).sum::<f32>() / img.len() as f32
            })
            .collect();
        assert!(means.iter().any(|m| *m > 140.0) && means.iter().any(|m| *m < 116.0));
        assert!(means.iter().all(|m| (76.0..=180.0).contains(m)));
    }

    #[test]
    fn illumination_scales_and_tilts_the_light() {
        // a uniform grey image: gain scales it, a gradient makes one side brighter
        let mut img = vec![100u8; 8 * 8 * 3];
        illuminate(&mut img, 8, 1.2, 0.0, 0.0);
        assert!(img.iter().all(|v| *v == 120));
        let mut img = vec![100u8; 8 * 8 * 3];
        illuminate(&mut img, 8, 1.0, 0.25, 0.0);
        let left = img[(4 * 8) * 3];
        let right = img[(4 * 8 + 7) * 3];
        assert!(left < 80 && right > 120, "left {left}, right {right}");
        let config = AugmentConfig {
            gain: 0.3,
            gradient: 0.25,
            ..AugmentConfig::default()
        };
        assert!(config.is_active());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let means: Vec<f32> = (0..40)
            .map(|_| {
                let mut img = vec![100u8; 8 * 8 * 3];
                config.apply(&mut img, 8, &mut rng);
                img.iter().map(|v| *v as f32).sum::<f32>() / img.len() as f32
            })
            .collect();
        assert!(means.iter().any(|m| *m > 120.0) && means.iter().any(|m| *m < 80.0));
        assert!(means.iter().all(|m| (65.0..=135.0).contains(m)));
        assert!(
            AugmentConfig {
                gain: 1.5,
                ..config
            }
            .validate()
            .is_err()
        );
    }
}
