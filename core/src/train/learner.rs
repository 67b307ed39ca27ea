//! One gradient step of a policy: forward, loss, backward, AdamW update. The trainer, the
//! benchmarks and the parity tests all go through here, so there is one definition of a step.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};

use crate::error::{Error, Result};
use crate::model::{HostBatch, Policy};
use crate::train::ema::Ema;
use crate::train::finetune::{self, FinetuneConfig};
use crate::train::optimizer::OptimizerConfig;

/// What one step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// The loss before the update.
    pub loss: f32,
    /// Global L2 norm of the gradient (before clipping).
    pub grad_norm: f32,
}

/// Sums the squares of every parameter's gradient.
struct SquaredGradients<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let sum = grad.powi_scalar(2).sum();
            self.total = Some(match self.total.take() {
                Some(total) => total + sum,
                None => sum,
            });
        }
    }
}

fn scalar(t: Tensor<1>) -> f32 {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(f32::NAN)
}

/// A policy being trained, with its optimizer, on one device.
pub struct Learner {
    policy: Policy,
    optimizer: ModuleOptimizer,
    device: Device,
    adapters: bool,
    ema: Option<Ema>,
}

impl Learner {
    /// Starts training every parameter of `policy` on `device` (plain device; autodiff is
    /// enabled here).
    pub fn new(policy: Policy, optimizer: &OptimizerConfig, device: &Device) -> Self {
        Learner {
            policy: policy.to_device(device).train(),
            optimizer: optimizer.build(),
            device: device.clone(),
            adapters: false,
            ema: None,
        }
    }

    /// Starts training `policy`, already prepared by [`FinetuneConfig::prepare`] (frozen
    /// parts, adapters), on `device`.
    pub fn prepared(
        policy: Policy,
        finetune: &FinetuneConfig,
        optimizer: &OptimizerConfig,
        device: &Device,
    ) -> Self {
        Learner {
            adapters: finetune.has_adapters(),
            ..Learner::new(policy, optimizer, device)
        }
    }

    /// Also keeps a moving average of the weights, which [`policy`](Self::policy) then returns.
    pub fn with_ema(mut self, ema: Ema) -> Self {
        self.ema = Some(ema);
        self
    }

    /// Starts a moving average at the current weights.
    pub fn start_ema(self, decay: f64) -> Self {
        let current = self.dense();
        self.with_ema(Ema::new(current, decay))
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

    /// The policy to evaluate and save: the moving average when there is one, else the
    /// current weights, with adapters merged in (no autodiff).
    pub fn policy(&self) -> Policy {
        match &self.ema {
            Some(ema) => ema.policy().clone(),
            None => self.dense(),
        }
    }

    /// The current weights, dense (adapters merged), for inference.
    fn dense(&self) -> Policy {
        if self.adapters {
            finetune::merged(&self.policy)
        } else {
            self.policy.valid()
        }
    }

    /// The weights being trained, as they must be saved to resume, when they differ from
    /// [`policy`](Self::policy) (a moving average or adapters); `None` otherwise.
    pub fn training_state(&self) -> Option<Policy> {
        (self.adapters || self.ema.is_some()).then(|| self.policy.valid())
    }

    /// `(trainable, total)` scalar parameters.
    pub fn trainable_params(&self) -> (usize, usize) {
        finetune::trainable_params(&self.policy)
    }

    /// The optimizer (for checkpoints).
    pub fn optimizer(&self) -> &ModuleOptimizer {
        &self.optimizer
    }

    /// One AdamW step at learning rate `lr` on `batch`, with flow noise drawn from `rng`.
    /// A non-finite loss or gradient skips the update and is returned as
    /// [`Error::Numerics`]. The moving average, if any, folds in the weights either way, so
    /// it has seen exactly one state per step.
    pub fn step(
        &mut self,
        batch: &HostBatch,
        lr: f64,
        rng: &mut impl rand::Rng,
    ) -> Result<StepOutcome> {
        let outcome = self.update(batch, lr, rng);
        if self.ema.is_some() {
            let current = self.dense();
            if let Some(ema) = self.ema.as_mut() {
                ema.update(&current);
            }
        }
        outcome
    }

    fn update(
        &mut self,
        batch: &HostBatch,
        lr: f64,
        rng: &mut impl rand::Rng,
    ) -> Result<StepOutcome> {
        let config = self.policy.config().clone();
        let input = batch.input(&config, &self.device);
        let targets = batch.targets(&config, rng, &self.device)?;
        let loss = self.policy.loss(&input, &targets);
        let value = scalar(loss.clone());
        if !value.is_finite() {
            return Err(Error::Numerics(format!("loss is {value}; update skipped")));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.policy);
        let mut squared = SquaredGradients {
            grads: &grads,
            total: None,
        };
        self.policy.visit(&mut squared);
        let grad_norm = squared.total.map(scalar).unwrap_or(0.0).sqrt();
        if !grad_norm.is_finite() {
            return Err(Error::Numerics(format!(
                "gradient norm is {grad_norm}; update skipped"
            )));
        }
        self.policy = self.optimizer.step(lr, self.policy.clone(), grads);
        Ok(StepOutcome {
            loss: value,
            grad_norm,
        })
    }
}
