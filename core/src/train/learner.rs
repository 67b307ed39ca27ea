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
use crate::train::recipes::auxiliary::{AuxiliaryConfig, AuxiliaryHeads, AuxiliaryInputs};

/// What one step measured.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// The loss before the update (the action loss plus the weighted auxiliary terms).
    pub loss: f32,
    /// Global L2 norm of the policy's gradient (before clipping).
    pub grad_norm: f32,
    /// The action head's loss alone.
    pub action_loss: f32,
    /// Each auxiliary term, unweighted, by name (empty without auxiliary losses).
    pub auxiliary: Vec<(&'static str, f32)>,
}

/// The auxiliary losses being trained, with their heads.
struct Auxiliary {
    config: AuxiliaryConfig,
    heads: AuxiliaryHeads,
    /// The starting policy, for the `distill` term.
    anchor: Option<Policy>,
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
    auxiliary: Option<Auxiliary>,
}

/// Mixed into the run seed before the auxiliary heads are drawn.
const AUXILIARY_SEED: u64 = 0x0061_7578;

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
            auxiliary: None,
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

    /// Also trains the auxiliary losses `config` switches on, with fresh heads drawn from
    /// `seed`; `anchor` is the starting policy the `distill` term keeps the encoder near.
    /// Fails when the look-ahead does not fit the chunk or `distill` has no anchor.
    pub fn with_auxiliary(
        mut self,
        config: AuxiliaryConfig,
        anchor: Option<Policy>,
        seed: u64,
    ) -> Result<Self> {
        if !config.is_active() {
            return Ok(self);
        }
        let model = self.policy.config().clone();
        config.validate(model.chunk_len).map_err(Error::invalid)?;
        if config.distill > 0.0 && anchor.is_none() {
            return Err(Error::invalid(
                "auxiliary.distill needs a starting checkpoint ([model] init) to stay near",
            ));
        }
        let heads = crate::device::seeded(&self.device, seed ^ AUXILIARY_SEED, || {
            AuxiliaryHeads::new(&model, config.horizon, &self.device)
        });
        self.auxiliary = Some(Auxiliary {
            config,
            heads: heads.train(),
            anchor: anchor.map(|p| p.to_device(&self.device).valid()),
        });
        Ok(self)
    }

    /// Whether batches must carry auxiliary targets, and the look-ahead they need (`None`
    /// also while every weight is 0).
    pub fn auxiliary_horizon(&self) -> Option<usize> {
        self.auxiliary
            .as_ref()
            .filter(|a| a.config.is_active())
            .map(|a| a.config.horizon)
    }

    /// Changes the auxiliary weights (a curriculum stage's), keeping the heads; all zero
    /// switches the terms off. Fails without heads or with another look-ahead.
    pub fn set_auxiliary_weights(&mut self, config: AuxiliaryConfig) -> Result<()> {
        match self.auxiliary.as_mut() {
            None if !config.is_active() => Ok(()),
            Some(aux) if !config.is_active() || config.horizon == aux.config.horizon => {
                aux.config = config;
                Ok(())
            }
            _ => Err(Error::invalid(
                "the auxiliary heads were built for another look-ahead (or not at all)",
            )),
        }
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

    /// Back-propagates `loss` (already checked finite), checks the gradient, and takes the
    /// AdamW step of the policy and of the auxiliary heads; returns the policy's gradient norm.
    fn apply(&mut self, loss: Tensor<1>, lr: f64) -> Result<f32> {
        let mut gradients = loss.backward();
        let grads = GradientsParams::from_module(&mut gradients, &self.policy);
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
        if let Some(aux) = self.auxiliary.as_mut() {
            let head_grads = GradientsParams::from_module(&mut gradients, &aux.heads);
            if !head_grads.is_empty() {
                aux.heads = self.optimizer.step(lr, aux.heads.clone(), head_grads);
            }
        }
        self.policy = self.optimizer.step(lr, self.policy.clone(), grads);
        Ok(grad_norm)
    }

    /// One policy-gradient step (GRPO, `recipes::grpo`): maximises the sum of `weights` ×
    /// log-probability of `actions` (`[B × C × A]` values on bin centres) under the `bins`
    /// head, per observation of `batch`. Returns the loss before the update (the negated
    /// weighted log-likelihood) and the gradient norm; fails for the other heads.
    pub fn policy_gradient_step(
        &mut self,
        batch: &HostBatch,
        actions: &[f32],
        weights: &[f32],
        lr: f64,
    ) -> Result<StepOutcome> {
        let config = self.policy.config().clone();
        let shape = [batch.len(), config.chunk_len, config.action_dim];
        let n: usize = shape.iter().product();
        if actions.len() != n || weights.len() != n {
            return Err(Error::invalid(format!(
                "policy-gradient batch: {} observations need {n} action values and weights, got {} and {}",
                batch.len(),
                actions.len(),
                weights.len()
            )));
        }
        let input = batch.input(&config, &self.device);
        let encoding = self.policy.encode(&input, false);
        let tensor = |v: &[f32]| {
            Tensor::<3>::from_data(
                burn::tensor::TensorData::new(v.to_vec(), shape),
                &self.device,
            )
        };
        let log_probs = self
            .policy
            .action_log_probs(&encoding, tensor(actions))
            .ok_or_else(|| Error::invalid("policy-gradient updates need the bins head"))?;
        let loss = (log_probs * tensor(weights)).sum().neg() / batch.len().max(1) as f64;
        let value = scalar(loss.clone());
        if !value.is_finite() {
            return Err(Error::Numerics(format!("loss is {value}; update skipped")));
        }
        let grad_norm = self.apply(loss, lr)?;
        Ok(StepOutcome {
            loss: value,
            grad_norm,
            action_loss: value,
            auxiliary: Vec::new(),
        })
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
        let (loss, action_loss, terms) =
            match self.auxiliary.as_ref().filter(|a| a.config.is_active()) {
                None => {
                    let loss = self.policy.loss(&input, &targets);
                    (loss.clone(), loss, Vec::new())
                }
                Some(aux) => {
                    let aux_targets = batch.auxiliary_targets(&config, &self.device)?;
                    let tokens = self.policy.encode_tokens(&input);
                    let queries = tokens
                        .clone()
                        .narrow(1, config.query_offset(), config.chunk_len);
                    let action_loss = self.policy.head_loss(queries, &targets);
                    let terms = aux.config.losses(
                        &aux.heads,
                        AuxiliaryInputs {
                            policy: &self.policy,
                            tokens,
                            input: &input,
                            actions: &targets,
                            targets: &aux_targets,
                            anchor: aux.anchor.as_ref(),
                        },
                    );
                    let mut total = action_loss.clone();
                    for (_, weight, term) in &terms {
                        total = total + term.clone().mul_scalar(*weight);
                    }
                    (total, action_loss, terms)
                }
            };
        let value = scalar(loss.clone());
        if !value.is_finite() {
            return Err(Error::Numerics(format!("loss is {value}; update skipped")));
        }
        let action_value = if terms.is_empty() {
            value
        } else {
            scalar(action_loss)
        };
        let auxiliary: Vec<(&'static str, f32)> = terms
            .into_iter()
            .map(|(name, _, term)| (name, scalar(term)))
            .collect();
        let grad_norm = self.apply(loss, lr)?;
        Ok(StepOutcome {
            loss: value,
            grad_norm,
            action_loss: action_value,
            auxiliary,
        })
    }
}
