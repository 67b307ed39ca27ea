//! One gradient step of a policy: forward, loss, backward, AdamW update. The trainer, the
//! benchmarks and the parity tests all go through here, so there is one definition of a step.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Device;

use crate::error::{Error, Result};
use crate::model::{HostBatch, Policy};
use crate::train::optimizer::OptimizerConfig;

/// What one step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// The loss before the update.
    pub loss: f32,
}

/// A policy being trained, with its optimizer, on one device.
pub struct Learner {
    policy: Policy,
    optimizer: ModuleOptimizer,
    device: Device,
}

impl Learner {
    /// Starts training `policy` on `device` (plain device; autodiff is enabled here).
    pub fn new(policy: Policy, optimizer: &OptimizerConfig, device: &Device) -> Self {
        Learner {
            policy: policy.to_device(device).train(),
            optimizer: optimizer.build(),
            device: device.clone(),
        }
    }

    /// Continues from restored optimizer state.
    pub fn with_optimizer(mut self, optimizer: ModuleOptimizer) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// The device training runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A copy of the policy for inference (no autodiff).
    pub fn policy(&self) -> Policy {
        self.policy.valid()
    }

    /// The optimizer (for checkpoints).
    pub fn optimizer(&self) -> &ModuleOptimizer {
        &self.optimizer
    }

    /// One AdamW step at learning rate `lr` on `batch`, with flow noise drawn from `rng`.
    /// A non-finite loss skips the update and is returned as [`Error::Numerics`].
    pub fn step(
        &mut self,
        batch: &HostBatch,
        lr: f64,
        rng: &mut impl rand::Rng,
    ) -> Result<StepOutcome> {
        let config = self.policy.config().clone();
        let input = batch.input(&config, &self.device);
        let targets = batch.targets(&config, rng, &self.device)?;
        let loss = self.policy.loss(&input, &targets);
        let value = loss
            .clone()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .ok()
            .and_then(|v| v.first().copied())
            .unwrap_or(f32::NAN);
        if !value.is_finite() {
            return Err(Error::Numerics(format!("loss is {value}; update skipped")));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.policy);
        self.policy = self.optimizer.step(lr, self.policy.clone(), grads);
        Ok(StepOutcome { loss: value })
    }
}
