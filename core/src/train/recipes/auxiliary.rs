//! Auxiliary losses: small heads trained beside the action head on the same backbone, each
//! teaching the shared representation something the action loss alone teaches slowly. One
//! recipe per term, each switched on by a positive weight in `[auxiliary]`:
//!
//! - `affordance` (*environment perception*; spatial affordance prediction, as RoboPoint,
//!   Yuan et al. 2024): over the image-patch outputs, classify which patch holds the point
//!   where the gripper should act next (the simulator's affordance point).
//! - `distill` (*environment perception*; the encoder kept near its pre-trained features, the
//!   feature-space form of L2-SP, Li et al. 2018, against the feature distortion of
//!   fine-tuning, Kumar et al. 2022): mean squared distance between the patch embeddings and
//!   those of the starting checkpoint's encoder.
//! - `forward_kinematics` (*embodiment awareness*; predicting the body's own state, as the
//!   sensorimotor pre-training of RPT, Radosavovic et al. 2023, predicts masked
//!   proprioception): from the proprioception projection of the joints alone (effector
//!   values zeroed), predict the effector position.
//! - `inverse_dynamics` (*embodiment awareness*; predictive inverse dynamics, Seer, Tian et
//!   al. 2024): from the patch embeddings of frames t and t+k, side by side per patch, predict
//!   the k actions taken in between.
//! - `subtask` (*task comprehension*; sub-task prediction, as Hi Robot, Shi et al. 2025, and
//!   RT-H's language motions): from the pooled action-query outputs, classify the current
//!   sub-goal.
//! - `future_latent` (*multi-component integration*; future latent prediction, FLARE, Zheng
//!   et al. 2025, and GR-1's future frames, Wu et al. 2023): from the patch outputs at t,
//!   predict the patch embeddings of frame t+k, both standardised per patch (the target is
//!   not differentiated through).
//!
//! The heads exist only while training: checkpoints keep the policy alone.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{gelu, log_softmax};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::model::heads::masked_mean;
use crate::model::{ActionTargets, AuxiliaryTargets, ModelConfig, Policy, PolicyInput};

/// Features per patch the inverse-dynamics head keeps of frames t and t+k (the patches stay
/// in place, so the head sees where the image changed).
const DYNAMICS_FEATURES: usize = 8;

/// Sub-goals the sub-task head tells apart (a task has at most 5).
pub const MAX_SUBTASKS: usize = 5;

/// Weights of the auxiliary losses (0: off) and the look-ahead of the two that read a
/// later frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuxiliaryConfig {
    /// Affordance-patch classification.
    pub affordance: f64,
    /// Distance of the patch embeddings from the starting encoder's.
    pub distill: f64,
    /// Effector position from the joints.
    pub forward_kinematics: f64,
    /// Actions between frames t and t + `horizon`.
    pub inverse_dynamics: f64,
    /// Current sub-goal.
    pub subtask: f64,
    /// Patch embeddings of frame t + `horizon`.
    pub future_latent: f64,
    /// Frames ahead for `inverse_dynamics` and `future_latent` (at most the chunk length).
    pub horizon: usize,
}

impl Default for AuxiliaryConfig {
    fn default() -> Self {
        AuxiliaryConfig {
            affordance: 0.0,
            distill: 0.0,
            forward_kinematics: 0.0,
            inverse_dynamics: 0.0,
            subtask: 0.0,
            future_latent: 0.0,
            horizon: 4,
        }
    }
}

impl AuxiliaryConfig {
    /// The terms by name with their weights.
    pub fn terms(&self) -> [(&'static str, f64); 6] {
        [
            ("affordance", self.affordance),
            ("distill", self.distill),
            ("forward_kinematics", self.forward_kinematics),
            ("inverse_dynamics", self.inverse_dynamics),
            ("subtask", self.subtask),
            ("future_latent", self.future_latent),
        ]
    }

    /// Whether any term is on.
    pub fn is_active(&self) -> bool {
        self.terms().iter().any(|(_, w)| *w > 0.0)
    }

    /// Fails on a negative or non-finite weight, or a horizon the chunk cannot cover.
    pub fn validate(&self, chunk_len: usize) -> Result<(), String> {
        for (name, w) in self.terms() {
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!("auxiliary.{name} must be a weight >= 0, got {w}"));
            }
        }
        if self.horizon == 0 || self.horizon > chunk_len {
            return Err(format!(
                "auxiliary.horizon must be in 1..={chunk_len} (the chunk length), got {}",
                self.horizon
            ));
        }
        Ok(())
    }
}

/// The auxiliary heads (all of them; the ones with weight 0 get no gradient).
#[derive(Module, Debug)]
pub struct AuxiliaryHeads {
    affordance: Linear,
    subtask: Linear,
    kinematics_hidden: Linear,
    kinematics_out: Linear,
    dynamics_patch: Linear,
    dynamics_hidden: Linear,
    dynamics_out: Linear,
    future: Linear,
    horizon: usize,
}

impl crate::device::DrawParams for AuxiliaryHeads {
    fn draw_params(&self) {
        crate::device::draw_module(self);
    }
}

impl AuxiliaryHeads {
    /// Heads for a backbone of `config`'s width and actions, looking `horizon` frames ahead
    /// (drawn lazily: build them inside [`crate::device::seeded`]).
    pub fn new(config: &ModelConfig, horizon: usize, device: &Device) -> Self {
        let w = config.width;
        AuxiliaryHeads {
            affordance: LinearConfig::new(w, 1).init(device),
            subtask: LinearConfig::new(w, MAX_SUBTASKS).init(device),
            kinematics_hidden: LinearConfig::new(w, w).init(device),
            kinematics_out: LinearConfig::new(w, 2).init(device),
            dynamics_patch: LinearConfig::new(2 * w, DYNAMICS_FEATURES).init(device),
            dynamics_hidden: LinearConfig::new(config.num_patches() * DYNAMICS_FEATURES, w)
                .init(device),
            dynamics_out: LinearConfig::new(w, horizon * config.action_dim).init(device),
            future: LinearConfig::new(w, w).init(device),
            horizon,
        }
    }
}

/// Mean negative log-likelihood of `target` `[B]` under `logits` `[B, K]`.
fn cross_entropy(logits: Tensor<2>, target: Tensor<1, burn::tensor::Int>) -> Tensor<1> {
    let b = logits.dims()[0];
    log_softmax(logits, 1)
        .gather(1, target.reshape([b, 1]))
        .neg()
        .mean()
}

/// Each token `[B, N, W]` shifted and scaled to zero mean and unit variance over its `W`
/// features.
fn standardise(x: Tensor<3>) -> Tensor<3> {
    let mean = x.clone().mean_dim(2);
    let centred = x - mean;
    let var = centred.clone().powi_scalar(2).mean_dim(2);
    centred / (var + 1e-5).sqrt()
}

/// Everything the auxiliary losses read for one batch.
pub struct AuxiliaryInputs<'a> {
    /// The policy being trained.
    pub policy: &'a Policy,
    /// Its final token outputs `[B, T, W]` ([`Policy::encode_tokens`]).
    pub tokens: Tensor<3>,
    /// The batch's input.
    pub input: &'a PolicyInput,
    /// The batch's action targets.
    pub actions: &'a ActionTargets,
    /// The batch's auxiliary targets.
    pub targets: &'a AuxiliaryTargets,
    /// The starting checkpoint's policy (for `distill`), without gradients.
    pub anchor: Option<&'a Policy>,
}

impl AuxiliaryConfig {
    /// The weighted terms that are on, each `(name, weight, loss)`.
    pub fn losses(
        &self,
        heads: &AuxiliaryHeads,
        x: AuxiliaryInputs<'_>,
    ) -> Vec<(&'static str, f64, Tensor<1>)> {
        let config = x.policy.config();
        let [b, _, w] = x.tokens.dims();
        let n = config.num_patches();
        let patch_out = || x.tokens.clone().narrow(1, 0, n);
        let mut out = Vec::new();
        if self.affordance > 0.0 {
            let logits = heads.affordance.forward(patch_out()).reshape([b, n]);
            let loss = cross_entropy(logits, x.targets.affordance_patch.clone());
            out.push(("affordance", self.affordance, loss));
        }
        if self.distill > 0.0
            && let Some(anchor) = x.anchor
        {
            let now = x.policy.embed_patches(x.input.images.clone());
            let base = anchor.embed_patches(x.input.images.clone()).detach();
            out.push(("distill", self.distill, (now - base).powi_scalar(2).mean()));
        }
        if self.forward_kinematics > 0.0 {
            let hidden = gelu(x.policy.embed_state(x.targets.joint_state.clone()));
            let predicted = heads
                .kinematics_out
                .forward(gelu(heads.kinematics_hidden.forward(hidden)));
            let err = (predicted - x.targets.effector.clone()).abs();
            let mask = x.targets.has_joints.clone().repeat_dim(1, 2);
            let loss = masked_mean(err.unsqueeze_dim(0), mask.unsqueeze_dim(0));
            out.push(("forward_kinematics", self.forward_kinematics, loss));
        }
        if self.inverse_dynamics > 0.0 {
            let both = Tensor::cat(
                vec![
                    x.policy.embed_patches(x.input.images.clone()),
                    x.policy.embed_patches(x.targets.future_images.clone()),
                ],
                2,
            );
            let per_patch = gelu(heads.dynamics_patch.forward(both));
            let flat = per_patch.reshape([b, n * DYNAMICS_FEATURES]);
            let a = config.action_dim;
            let h = heads.horizon;
            let predicted = heads
                .dynamics_out
                .forward(gelu(heads.dynamics_hidden.forward(flat)))
                .reshape([b, h, a]);
            let actions = x.actions.actions.clone().narrow(1, 0, h);
            let mask = x.actions.mask.clone().narrow(1, 0, h);
            let loss = masked_mean((predicted - actions).abs(), mask);
            out.push(("inverse_dynamics", self.inverse_dynamics, loss));
        }
        if self.subtask > 0.0 {
            let queries = x
                .tokens
                .clone()
                .narrow(1, config.query_offset(), config.chunk_len)
                .mean_dim(1)
                .reshape([b, w]);
            let logits = heads.subtask.forward(queries);
            let target = x.targets.subtask.clone().clamp(0, MAX_SUBTASKS as i64 - 1);
            out.push(("subtask", self.subtask, cross_entropy(logits, target)));
        }
        if self.future_latent > 0.0 {
            // Both sides standardised per patch: the target comes from the encoder being
            // trained, and unnormalised it can grow without bound to chase the prediction.
            let predicted = standardise(heads.future.forward(patch_out()));
            let target = standardise(
                x.policy
                    .embed_patches(x.targets.future_images.clone())
                    .detach(),
            );
            let loss = (predicted - target).powi_scalar(2).mean();
            out.push(("future_latent", self.future_latent, loss));
        }
        out
    }
}
