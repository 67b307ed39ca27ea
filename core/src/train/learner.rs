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
use crate::train::recipes::ppo::ValueHead;

/// An imitation term mixed into an RL or preference update: the action loss on `batch`
/// (teacher demonstrations) times `weight`, so the policy keeps what it imitated.
#[derive(Clone, Copy)]
pub struct Imitation<'a> {
    /// Demonstration samples.
    pub batch: &'a HostBatch,
    /// Weight of their action loss.
    pub weight: f64,
}

/// The clipped surrogate's inputs per decision (see [`Learner::clipped_policy_step`]).
#[derive(Clone, Copy)]
pub struct Surrogate<'a> {
    /// Log-probability of every value of every chunk under the sampling policy, in the
    /// layout of [`Chunks::actions`].
    pub old_log_probs: &'a [f32],
    /// Advantage of each decision.
    pub advantages: &'a [f32],
    /// Clip range ε of the probability ratio.
    pub clip: f32,
    /// Temperature the rollouts were sampled at: the new log-probabilities are taken under the
    /// policy's distribution at the same temperature, so the ratio starts at 1.
    pub temperature: f32,
    /// Value-head targets (returns) and the value loss's weight, for PPO.
    pub value_targets: Option<(&'a [f32], f32)>,
    /// A reference policy's log-probabilities of the same values (layout of `old_log_probs`)
    /// and the weight β of a KL penalty to it, as GRPO has (DeepSeekMath): the k3 estimate
    /// `exp(r) - 1 - r`, `r = log π_ref - log π`, per credited value, averaged per decision.
    pub reference: Option<(&'a [f32], f32)>,
}

impl<'a> Surrogate<'a> {
    /// The plain clipped surrogate (GRPO without its KL term): no value loss, no reference.
    pub fn new(
        old_log_probs: &'a [f32],
        advantages: &'a [f32],
        clip: f32,
        temperature: f32,
    ) -> Self {
        Self {
            old_log_probs,
            advantages,
            clip,
            temperature,
            value_targets: None,
            reference: None,
        }
    }

    /// Adds PPO's value loss: the value head regresses on `targets`, weighted by `weight`.
    pub fn with_value_targets(self, targets: &'a [f32], weight: f32) -> Self {
        Self {
            value_targets: Some((targets, weight)),
            ..self
        }
    }

    /// Adds GRPO's KL penalty to a reference policy's log-probabilities, weighted by `beta`.
    pub fn with_reference(self, reference: &'a [f32], beta: f32) -> Self {
        Self {
            reference: Some((reference, beta)),
            ..self
        }
    }
}

/// What one RL or preference update is given per decision of its batch: the executed
/// actions as values on bin centres `[B × C × A]` and a mask of the credited values.
#[derive(Clone, Copy)]
pub struct Chunks<'a> {
    /// Observations.
    pub batch: &'a HostBatch,
    /// Sampled action values, `B × chunk_len × action_dim`.
    pub actions: &'a [f32],
    /// 1 on executed values, 0 elsewhere (same layout).
    pub mask: &'a [f32],
}

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
    value: Option<ValueHead>,
}

/// Mixed into the run seed before the auxiliary heads are drawn.
const AUXILIARY_SEED: u64 = 0x0061_7578;
/// Mixed into the run seed before the value head is drawn.
const VALUE_SEED: u64 = 0x0076_616c;
/// Largest log-probability ratio PPO exponentiates (keeps `exp` finite on a wild update).
const MAX_LOG_RATIO: f64 = 20.0;

/// Schulman's k3 estimate of KL(q ‖ p) from log-ratios `r = log p - log q` at samples of `q`
/// (the rollouts' values): `exp(r) - 1 - r`, never negative, 0 where `r` is 0. Both the
/// update's `approx_kl` diagnostic and GRPO's KL penalty use it. In this order of operations
/// small `r` stays non-negative in f32 (`exp(r) - r - 1` can round below 0).
fn k3<const D: usize>(r: Tensor<D>) -> Tensor<D> {
    r.clone().exp() - 1.0 - r
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
            auxiliary: None,
            value: None,
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

    /// Also trains a value head (PPO's critic, [`ValueHead`]), drawn from `seed`.
    pub fn with_value_head(mut self, seed: u64) -> Self {
        let width = self.policy.config().width;
        let head = crate::device::seeded(&self.device, seed ^ VALUE_SEED, || {
            ValueHead::new(width, &self.device)
        });
        self.value = Some(head.train());
        self
    }

    /// The value head's estimates for the observations of `batch` (no gradient); fails
    /// without a value head.
    pub fn values(&self, batch: &HostBatch) -> Result<Vec<f32>> {
        let head = self
            .value
            .as_ref()
            .ok_or_else(|| Error::invalid("this learner has no value head"))?;
        let config = self.policy.config().clone();
        let policy = self.policy.valid();
        let input = batch.input(&config, &self.device);
        let values = head.valid().forward(policy.encode(&input, false).queries);
        values
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| Error::invalid(format!("cannot read values back: {e:?}")))
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
        if let Some(value) = self.value.as_mut() {
            let head_grads = GradientsParams::from_module(&mut gradients, &*value);
            if !head_grads.is_empty() {
                *value = self.optimizer.step(lr, value.clone(), head_grads);
            }
        }
        self.policy = self.optimizer.step(lr, self.policy.clone(), grads);
        Ok(grad_norm)
    }

    /// The tensor of `values` shaped like the chunks of `batch` `[B, C, A]`.
    fn chunk_tensor(&self, values: &[f32], b: usize) -> Result<Tensor<3>> {
        let config = self.policy.config();
        let shape = [b, config.chunk_len, config.action_dim];
        let n: usize = shape.iter().product();
        if values.len() != n {
            return Err(Error::invalid(format!(
                "RL batch: {b} observations need {n} action values, got {}",
                values.len()
            )));
        }
        Ok(Tensor::<3>::from_data(
            burn::tensor::TensorData::new(values.to_vec(), shape),
            &self.device,
        ))
    }

    fn vector(&self, values: &[f32]) -> Tensor<1> {
        Tensor::<1>::from_data(
            burn::tensor::TensorData::new(values.to_vec(), [values.len()]),
            &self.device,
        )
    }

    /// The backbone's query outputs for `chunks.batch` and the log-probability of each
    /// decision's credited values `[B]` under the `bins` head (with gradient).
    fn chunk_log_probs(&self, chunks: Chunks<'_>) -> Result<(Tensor<3>, Tensor<1>)> {
        let config = self.policy.config().clone();
        let b = chunks.batch.len();
        let input = chunks.batch.input(&config, &self.device);
        let encoding = self.policy.encode(&input, false);
        let actions = self.chunk_tensor(chunks.actions, b)?;
        let mask = self.chunk_tensor(chunks.mask, b)?;
        let per_value = self
            .policy
            .action_log_probs(&encoding, actions)
            .ok_or_else(|| Error::invalid("RL and preference updates need the bins head"))?;
        let log_probs = (per_value * mask).sum_dim(2).sum_dim(1).reshape([b]);
        Ok((encoding.queries, log_probs))
    }

    /// `loss` plus the weighted imitation term, if any.
    fn with_imitation(
        &self,
        loss: Tensor<1>,
        imitation: Option<Imitation<'_>>,
    ) -> Result<Tensor<1>> {
        let Some(imitation) = imitation.filter(|i| i.weight > 0.0 && !i.batch.is_empty()) else {
            return Ok(loss);
        };
        let config = self.policy.config().clone();
        let input = imitation.batch.input(&config, &self.device);
        // The bins and l1 heads draw no noise; a fixed stream keeps the call deterministic.
        let mut rng = crate::train::loader::step_rng(0, 0, 0);
        let targets = imitation.batch.targets(&config, &mut rng, &self.device)?;
        Ok(loss
            + self
                .policy
                .loss(&input, &targets)
                .mul_scalar(imitation.weight))
    }

    /// Checks `loss`, back-propagates it and steps; the outcome carries `terms`.
    fn finish(
        &mut self,
        loss: Tensor<1>,
        lr: f64,
        terms: Vec<(&'static str, f32)>,
    ) -> Result<StepOutcome> {
        let value = scalar(loss.clone());
        if !value.is_finite() {
            return Err(Error::Numerics(format!("loss is {value}; update skipped")));
        }
        let grad_norm = self.apply(loss, lr)?;
        Ok(StepOutcome {
            loss: value,
            grad_norm,
            action_loss: value,
            auxiliary: terms,
        })
    }

    /// One clipped-surrogate step, the update of GRPO and PPO (`recipes::grpo`,
    /// `recipes::ppo`): per credited action value (a "token" of the chunk), the ratio `ρ` of
    /// its probability now to `surrogate.old_log_probs` (the sampling policy's), and the
    /// objective `min(ρ·A, clip(ρ, 1-ε, 1+ε)·A)` with its decision's advantage `A`, averaged
    /// over each decision's credited values and then over the batch. With value targets, the
    /// value head ([`with_value_head`](Self::with_value_head)) is regressed onto them too.
    /// Logs the surrogate, the value loss, the share of clipped ratios and an estimate of the
    /// KL divergence from the sampling policy.
    pub fn clipped_policy_step(
        &mut self,
        chunks: Chunks<'_>,
        surrogate: Surrogate<'_>,
        lr: f64,
        imitation: Option<Imitation<'_>>,
    ) -> Result<StepOutcome> {
        let b = chunks.batch.len();
        if surrogate.advantages.len() != b
            || surrogate.value_targets.is_some_and(|(t, _)| t.len() != b)
            || surrogate
                .reference
                .is_some_and(|(r, _)| r.len() != surrogate.old_log_probs.len())
        {
            return Err(Error::invalid(format!(
                "clipped-surrogate batch: {b} decisions need {b} advantages (and value targets, and reference log-probabilities of every value)"
            )));
        }
        let config = self.policy.config().clone();
        let input = chunks.batch.input(&config, &self.device);
        let encoding = self.policy.encode(&input, false);
        let per_value = self
            .policy
            .action_log_probs_at(
                &encoding,
                self.chunk_tensor(chunks.actions, b)?,
                surrogate.temperature,
            )
            .ok_or_else(|| Error::invalid("RL updates need the bins head"))?;
        let mask = self.chunk_tensor(chunks.mask, b)?;
        let old = self.chunk_tensor(surrogate.old_log_probs, b)?;
        let log_ratio =
            ((per_value.clone() - old) * mask.clone()).clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO);
        let ratio = log_ratio.clone().exp();
        let [_, c, a] = ratio.dims();
        let adv = self
            .vector(surrogate.advantages)
            .reshape([b, 1, 1])
            .repeat_dim(1, c)
            .repeat_dim(2, a);
        let eps = surrogate.clip as f64;
        let unclipped = ratio.clone() * adv.clone();
        let clipped = ratio.clone().clamp(1.0 - eps, 1.0 + eps) * adv;
        let counted = mask
            .clone()
            .sum_dim(2)
            .sum_dim(1)
            .reshape([b])
            .clamp_min(1.0);
        let per_decision = (unclipped.min_pair(clipped) * mask.clone())
            .sum_dim(2)
            .sum_dim(1)
            .reshape([b])
            / counted.clone();
        let objective = per_decision.mean().neg();
        // Diagnostics, as PPO implementations report them, over the credited values.
        let credited = scalar(mask.clone().sum()).max(1.0);
        let outside = (ratio
            .clone()
            .sub_scalar(1.0)
            .abs()
            .greater_elem(eps)
            .float()
            * mask.clone())
        .sum();
        let clip_fraction = scalar(outside) / credited;
        let kl = scalar((k3(log_ratio) * mask.clone()).sum()) / credited;
        let mut terms = vec![
            ("policy_loss", scalar(objective.clone())),
            ("clip_fraction", clip_fraction),
            ("approx_kl", kl),
        ];
        let mut loss = objective;
        if let Some((reference, beta)) = surrogate.reference {
            let r = ((self.chunk_tensor(reference, b)? - per_value) * mask)
                .clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO);
            // 0 on the values not credited (r = 0 there)
            let kl = (k3(r).sum_dim(2).sum_dim(1).reshape([b]) / counted).mean();
            terms.push(("kl_reference", scalar(kl.clone())));
            loss = loss + kl.mul_scalar(beta as f64);
        }
        if let Some((targets, weight)) = surrogate.value_targets {
            let head = self.value.clone().ok_or_else(|| {
                Error::invalid("value targets need a value head (Learner::with_value_head)")
            })?;
            let value_loss = (head.forward(encoding.queries) - self.vector(targets))
                .powi_scalar(2)
                .mean();
            terms.push(("value_loss", scalar(value_loss.clone())));
            loss = loss + value_loss.mul_scalar(weight as f64);
        }
        let loss = self.with_imitation(loss, imitation)?;
        self.finish(loss, lr, terms)
    }

    /// One DPO step (`recipes::dpo`): per pair, the margin `Σ_b pair_matrix[p, b] ×
    /// (log π(b) - reference_log_probs[b])` over the decisions of `chunks`, and the loss
    /// `-log σ(β · margin)` averaged over the `pairs`. Logs the loss, the share of pairs the
    /// policy already ranks right, and the mean margin.
    #[allow(clippy::too_many_arguments)]
    pub fn dpo_step(
        &mut self,
        chunks: Chunks<'_>,
        reference_log_probs: &[f32],
        pair_matrix: &[f32],
        pairs: usize,
        beta: f32,
        lr: f64,
        imitation: Option<Imitation<'_>>,
    ) -> Result<StepOutcome> {
        let b = chunks.batch.len();
        if reference_log_probs.len() != b || pair_matrix.len() != pairs * b || pairs == 0 {
            return Err(Error::invalid(format!(
                "DPO batch: {b} decisions need {b} reference log-probabilities and a {pairs}×{b} pair matrix"
            )));
        }
        let (_, log_probs) = self.chunk_log_probs(chunks)?;
        let log_ratio = (log_probs - self.vector(reference_log_probs)).reshape([b, 1]);
        let matrix = Tensor::<2>::from_data(
            burn::tensor::TensorData::new(pair_matrix.to_vec(), [pairs, b]),
            &self.device,
        );
        let margins = matrix.matmul(log_ratio).reshape([pairs]);
        let margin_values = margins
            .clone()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        let accuracy = margin_values.iter().filter(|m| **m > 0.0).count() as f32 / pairs as f32;
        let mean_margin = margin_values.iter().sum::<f32>() / pairs as f32;
        let preference = burn::tensor::activation::log_sigmoid(margins.mul_scalar(beta as f64))
            .mean()
            .neg();
        let terms = vec![
            ("preference_loss", scalar(preference.clone())),
            ("preference_accuracy", accuracy),
            ("margin", mean_margin),
        ];
        let loss = self.with_imitation(preference, imitation)?;
        self.finish(loss, lr, terms)
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
