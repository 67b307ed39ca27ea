//! What the network reads and what it is trained against, as device tensors, and the host-side
//! batch that builds them from raw observations (u8 images, joint states, instruction text).

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::RngExt;

use super::config::ModelConfig;
use super::tokenizer::Tokenizer;
use crate::error::{Error, Result};

/// Additive attention bias for keys that must not be attended to (instruction padding).
const MASKED: f32 = -1.0e9;

/// One batch of observations on a device: the network's whole input.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    /// Images `[B, 3, H, W]`, scaled to [-1, 1].
    pub images: Tensor<4>,
    /// Instruction token ids `[B, L]`.
    pub tokens: Tensor<2, Int>,
    /// Additive attention bias over keys `[B, 1, 1, T]`: 0 where a key may be attended to,
    /// a large negative number on instruction padding.
    pub key_bias: Tensor<4>,
    /// Proprioception `[B, S]`, zero-padded.
    pub state: Tensor<2>,
}

impl PolicyInput {
    /// Batch size.
    pub fn batch_size(&self) -> usize {
        self.state.dims()[0]
    }
}

/// Training targets for one batch on a device.
#[derive(Debug, Clone)]
pub struct ActionTargets {
    /// Teacher action chunks `[B, C, A]`, zero-padded.
    pub actions: Tensor<3>,
    /// 1 where a target value counts, 0 on padding (steps past the episode end, action
    /// dimensions the embodiment does not have) `[B, C, A]`.
    pub mask: Tensor<3>,
    /// Gaussian noise for the flow head's interpolation `[B, C, A]`.
    pub flow_noise: Tensor<3>,
    /// Flow time in [0, 1) per sample `[B]`.
    pub flow_time: Tensor<1>,
}

/// Targets of the auxiliary losses for one batch on a device (see
/// `train::recipes::auxiliary`).
#[derive(Debug, Clone)]
pub struct AuxiliaryTargets {
    /// Index of the current sub-goal `[B]`.
    pub subtask: Tensor<1, Int>,
    /// Index of the image patch holding the affordance point `[B]`.
    pub affordance_patch: Tensor<1, Int>,
    /// The state with the end-effector values zeroed (joints and gripper only) `[B, S]`.
    pub joint_state: Tensor<2>,
    /// End-effector position in decimetres `[B, 2]`.
    pub effector: Tensor<2>,
    /// 1 for samples whose state has joints (arms), 0 for the pusher `[B, 1]`.
    pub has_joints: Tensor<2>,
    /// Images `horizon` frames later (the last frame past the episode end) `[B, 3, H, W]`.
    pub future_images: Tensor<4>,
}

/// What a sample adds to the auxiliary targets.
#[derive(Debug, Clone, Copy)]
pub struct AuxiliarySample<'a> {
    /// Index of the current sub-goal.
    pub subtask: u32,
    /// Affordance point in image pixels (u right, v down).
    pub affordance_px: [f32; 2],
    /// The frame `horizon` steps later, RGB like the observation's image.
    pub future_image: &'a [u8],
}

/// Auxiliary targets gathered on the host, one entry per observation.
#[derive(Debug, Clone, Default)]
struct HostAuxiliary {
    subtask: Vec<i64>,
    affordance_patch: Vec<i64>,
    joint_state: Vec<f32>,
    effector: Vec<f32>,
    has_joints: Vec<f32>,
    future_images: Vec<f32>,
}

/// Appends `image` (RGB u8, row-major) as planar f32 in [-1, 1].
fn push_planar(out: &mut Vec<f32>, image: &[u8], side: usize) {
    let pixels = side * side;
    let start = out.len();
    out.resize(start + 3 * pixels, 0.0);
    let planes = &mut out[start..];
    for (p, rgb) in image.chunks_exact(3).enumerate() {
        for c in 0..3 {
            planes[c * pixels + p] = rgb[c] as f32 / 127.5 - 1.0;
        }
    }
}

/// One observation as the simulator or a dataset gives it.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// RGB image, row-major height × width × 3.
    pub image: &'a [u8],
    /// Side of the square image in pixels.
    pub image_size: usize,
    /// Proprioception (at most the model's `state_dim` values).
    pub state: &'a [f32],
    /// Natural-language instruction.
    pub instruction: &'a str,
}

/// A batch assembled on the host (CPU), ready to upload with [`HostBatch::input`] and
/// [`HostBatch::targets`]. Keeping this step on the host lets data loading run on background
/// threads while the device trains.
#[derive(Debug, Clone, Default)]
pub struct HostBatch {
    len: usize,
    images: Vec<f32>,
    tokens: Vec<i64>,
    key_bias: Vec<f32>,
    state: Vec<f32>,
    actions: Vec<f32>,
    action_mask: Vec<f32>,
    /// Lengths of the unpadded states.
    state_lens: Vec<usize>,
    auxiliary: HostAuxiliary,
}

impl HostBatch {
    /// The images as uploaded: planar f32 in [-1, 1], observation-major (for inspection).
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    /// The zero-padded states, observation-major (for inspection).
    pub fn states(&self) -> &[f32] {
        &self.state
    }

    /// The action targets, observation-major (for inspection).
    pub fn actions(&self) -> &[f32] {
        &self.actions
    }

    /// Number of observations pushed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no observation was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one observation: converts the image to planar f32 in [-1, 1], tokenizes the
    /// instruction and zero-pads the state.
    pub fn push_observation(
        &mut self,
        config: &ModelConfig,
        tokenizer: &Tokenizer,
        obs: Observation<'_>,
    ) -> Result<()> {
        let side = config.image_size;
        if obs.image_size != side || obs.image.len() != side * side * 3 {
            return Err(Error::invalid(format!(
                "image is {}x{} ({} bytes) but the model expects {side}x{side} RGB",
                obs.image_size,
                obs.image_size,
                obs.image.len()
            )));
        }
        if obs.state.len() > config.state_dim {
            return Err(Error::invalid(format!(
                "state has {} values but the model takes at most {}",
                obs.state.len(),
                config.state_dim
            )));
        }
        push_planar(&mut self.images, obs.image, side);
        let tokens = tokenizer.encode(obs.instruction, config.max_instruction_tokens);
        self.tokens.extend(tokens.ids.iter().map(|&id| id as i64));
        let mut bias = vec![0.0; config.num_tokens()];
        for (i, real) in tokens.mask.iter().enumerate() {
            if !real {
                bias[config.instruction_offset() + i] = MASKED;
            }
        }
        self.key_bias.extend(bias);
        self.state.extend_from_slice(obs.state);
        self.state
            .resize(self.state.len() + config.state_dim - obs.state.len(), 0.0);
        self.state_lens.push(obs.state.len());
        self.len += 1;
        Ok(())
    }

    /// Adds the action target of the observation pushed last: `actions[k]` is the action `k`
    /// steps ahead (at most `chunk_len` of them, each at most `action_dim` long) and
    /// `valid[k]` says whether step `k` is real or padding past the episode end.
    pub fn push_target(
        &mut self,
        config: &ModelConfig,
        actions: &[Vec<f32>],
        valid: &[bool],
    ) -> Result<()> {
        if actions.len() != config.chunk_len || valid.len() != config.chunk_len {
            return Err(Error::invalid(format!(
                "action chunk has {} steps ({} mask values) but the model predicts {}",
                actions.len(),
                valid.len(),
                config.chunk_len
            )));
        }
        for (action, &ok) in actions.iter().zip(valid) {
            if action.len() > config.action_dim {
                return Err(Error::invalid(format!(
                    "action has {} values but the model takes at most {}",
                    action.len(),
                    config.action_dim
                )));
            }
            for d in 0..config.action_dim {
                let real = d < action.len();
                self.actions.push(if real { action[d] } else { 0.0 });
                self.action_mask.push(if real && ok { 1.0 } else { 0.0 });
            }
        }
        Ok(())
    }

    /// Adds the auxiliary targets of the observation pushed last. Arms' states end with the
    /// effector position `[.., ee_x, ee_y]` after at least one joint; a state of two values
    /// (the pusher) has no joints, and its kinematics target is masked out.
    pub fn push_auxiliary(
        &mut self,
        config: &ModelConfig,
        sample: AuxiliarySample<'_>,
    ) -> Result<()> {
        let side = config.image_size;
        let state_len = match self.state_lens.last() {
            Some(&n) if self.auxiliary.subtask.len() + 1 == self.len => n,
            _ => {
                return Err(Error::invalid(
                    "auxiliary targets must follow their observation, one each",
                ));
            }
        };
        if sample.future_image.len() != side * side * 3 {
            return Err(Error::invalid(format!(
                "future image has {} bytes but the model expects {side}x{side} RGB",
                sample.future_image.len()
            )));
        }
        let aux = &mut self.auxiliary;
        aux.subtask.push(sample.subtask as i64);
        let grid = side / config.patch_size;
        let cell =
            |v: f32| ((v / config.patch_size as f32).floor().max(0.0) as usize).min(grid - 1);
        let [u, v] = sample.affordance_px;
        aux.affordance_patch.push((cell(v) * grid + cell(u)) as i64);
        let state = &self.state[self.state.len() - config.state_dim..];
        let arm = state_len > 2;
        let mut joints = state.to_vec();
        let mut effector = [0.0f32; 2];
        if state_len >= 2 {
            effector = [state[state_len - 2] * 10.0, state[state_len - 1] * 10.0];
            joints[state_len - 2] = 0.0;
            joints[state_len - 1] = 0.0;
        }
        aux.joint_state.extend(joints);
        aux.effector.extend(effector);
        aux.has_joints.push(if arm { 1.0 } else { 0.0 });
        push_planar(&mut aux.future_images, sample.future_image, side);
        Ok(())
    }

    /// Uploads the auxiliary targets to `device`; fails if some observation has none.
    pub fn auxiliary_targets(
        &self,
        config: &ModelConfig,
        device: &Device,
    ) -> Result<AuxiliaryTargets> {
        let aux = &self.auxiliary;
        let b = self.len;
        if aux.subtask.len() != b {
            return Err(Error::invalid(format!(
                "batch has {b} observations but {} auxiliary targets",
                aux.subtask.len()
            )));
        }
        let side = config.image_size;
        Ok(AuxiliaryTargets {
            subtask: Tensor::from_data(TensorData::new(aux.subtask.clone(), [b]), device),
            affordance_patch: Tensor::from_data(
                TensorData::new(aux.affordance_patch.clone(), [b]),
                device,
            ),
            joint_state: Tensor::from_data(
                TensorData::new(aux.joint_state.clone(), [b, config.state_dim]),
                device,
            ),
            effector: Tensor::from_data(TensorData::new(aux.effector.clone(), [b, 2]), device),
            has_joints: Tensor::from_data(TensorData::new(aux.has_joints.clone(), [b, 1]), device),
            future_images: Tensor::from_data(
                TensorData::new(aux.future_images.clone(), [b, 3, side, side]),
                device,
            ),
        })
    }

    /// Uploads the observations to `device`.
    pub fn input(&self, config: &ModelConfig, device: &Device) -> PolicyInput {
        let b = self.len;
        let side = config.image_size;
        PolicyInput {
            images: Tensor::from_data(
                TensorData::new(self.images.clone(), [b, 3, side, side]),
                device,
            ),
            tokens: Tensor::from_data(
                TensorData::new(self.tokens.clone(), [b, config.max_instruction_tokens]),
                device,
            ),
            key_bias: Tensor::from_data(
                TensorData::new(self.key_bias.clone(), [b, 1, 1, config.num_tokens()]),
                device,
            ),
            state: Tensor::from_data(
                TensorData::new(self.state.clone(), [b, config.state_dim]),
                device,
            ),
        }
    }

    /// Uploads the action targets to `device`, with flow noise and times drawn from `rng`.
    /// Fails if some observation has no target.
    pub fn targets(
        &self,
        config: &ModelConfig,
        rng: &mut impl rand::Rng,
        device: &Device,
    ) -> Result<ActionTargets> {
        let shape = [self.len, config.chunk_len, config.action_dim];
        let n: usize = shape.iter().product();
        if self.actions.len() != n {
            return Err(Error::invalid(format!(
                "batch has {} observations but {} action targets",
                self.len,
                self.actions.len() / (config.chunk_len * config.action_dim).max(1)
            )));
        }
        let noise: Vec<f32> = (0..n).map(|_| standard_normal(rng)).collect();
        let time: Vec<f32> = (0..self.len).map(|_| rng.random::<f32>()).collect();
        Ok(ActionTargets {
            actions: Tensor::from_data(TensorData::new(self.actions.clone(), shape), device),
            mask: Tensor::from_data(TensorData::new(self.action_mask.clone(), shape), device),
            flow_noise: Tensor::from_data(TensorData::new(noise, shape), device),
            flow_time: Tensor::from_data(TensorData::new(time, [self.len]), device),
        })
    }
}

/// A standard normal sample by the Box-Muller transform (keeps noise generation on the host,
/// so every backend sees the same numbers for the same seed).
pub fn standard_normal(rng: &mut impl rand::Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    ((-2.0f64 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// Host-drawn Gaussian noise of shape `[batch, chunk, action]` for flow-head inference.
pub fn flow_noise(
    config: &ModelConfig,
    batch: usize,
    rng: &mut impl rand::Rng,
    device: &Device,
) -> Tensor<3> {
    let shape = [batch, config.chunk_len, config.action_dim];
    let values: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| standard_normal(rng))
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}
