//! Which parameters a post-training run updates: everything (full fine-tuning), everything but
//! the vision stem, only the action head, or low-rank adapters on the transformer's weights
//! (LoRA, Hu et al. 2021) plus the head.
//!
//! Frozen parameters simply do not require gradients, so Burn's autodiff never computes their
//! gradients and AdamW never touches them; LoRA uses Burn's own reparameterization
//! ([`Module::apply_lora`]), which freezes each base weight and trains `base + α/r · A·B`.
//! Checkpoints always hold the merged, dense weights ([`Module::materialize`]), so a LoRA run's
//! output loads like any other checkpoint.

use burn::module::{Lora, Module, ModuleVisitor, Param, ParamGroup};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Policy;

/// How much of the network a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinetuneMode {
    /// Every parameter.
    #[default]
    Full,
    /// Everything except the patch embedding (the vision stem that turns pixels into tokens).
    FrozenVision,
    /// Only the action head (`l1`, `flow` or `bins`).
    HeadOnly,
    /// Rank-`r` adapters on the targeted transformer weights, plus the action head and the
    /// layers listed in `trainable`.
    Lora,
}

/// `[finetune]`: the fine-tuning mode and its LoRA settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinetuneConfig {
    /// What to train.
    pub mode: FinetuneMode,
    /// LoRA rank.
    pub rank: usize,
    /// LoRA scale numerator (the update is scaled by `alpha / rank`).
    pub alpha: f64,
    /// Layers that get adapters, as parts of parameter paths (e.g. `attention.qkv`, `mlp_in`).
    pub targets: Vec<String>,
    /// Layers trained in full next to the adapters (e.g. `state_embed` for a new arm).
    pub trainable: Vec<String>,
    /// LoRA: train the action head in full next to the adapters (`false`: the head is frozen
    /// too, and adapted only if `targets` names it, e.g. `bins.out`).
    pub train_head: bool,
    /// Layers drawn afresh when the run starts, then trained in full (in every mode), e.g.
    /// `state_embed`: a new proprioception projection for a body whose joint readings mean
    /// something else than the base's.
    pub reinit: Vec<String>,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig {
            mode: FinetuneMode::Full,
            rank: 8,
            alpha: 16.0,
            targets: vec![
                "attention.qkv".into(),
                "attention.out".into(),
                "mlp_in".into(),
                "mlp_out".into(),
            ],
            trainable: Vec::new(),
            train_head: true,
            reinit: Vec::new(),
        }
    }
}

/// Parameter paths of the action heads (whichever the policy has).
const HEAD_PATHS: &str = r"^(l1|flow|bins)\.";
/// Parameter paths of the vision stem.
const VISION_PATHS: &str = r"^patch_embed\.";

fn regex_group(pattern: &str) -> Result<ParamGroup> {
    ParamGroup::from_regex(pattern)
        .map_err(|e| Error::invalid(format!("bad parameter pattern '{pattern}': {e:?}")))
}

fn paths_containing(parts: &[String]) -> Result<ParamGroup> {
    let escaped: Vec<String> = parts.iter().map(|p| regex_escape(p)).collect();
    regex_group(&format!("({})", escaped.join("|")))
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

impl FinetuneConfig {
    /// Checks the settings against the policy they will be applied to.
    pub fn validate(&self, policy: &Policy) -> Result<()> {
        let names = crate::model::params::param_names(policy);
        if let Some(field) = [
            ("reinit", &self.reinit),
            ("trainable", &self.trainable),
            ("targets", &self.targets),
        ]
        .iter()
        .find(|(_, parts)| parts.iter().any(|p| p.trim().is_empty()))
        .map(|(f, _)| f)
        {
            return Err(Error::invalid(format!(
                "finetune.{field} has an empty name (it would match every parameter)"
            )));
        }
        for part in &self.reinit {
            if !names.iter().any(|n| n.contains(part.as_str())) {
                return Err(Error::invalid(format!(
                    "finetune.reinit: no parameter path contains '{part}' (paths look like 'state_embed.weight')"
                )));
            }
        }
        if self.mode != FinetuneMode::Lora {
            return Ok(());
        }
        if self.rank == 0 {
            return Err(Error::invalid("finetune.rank must be at least 1"));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::invalid("finetune.alpha must be a positive number"));
        }
        if self.targets.is_empty() {
            return Err(Error::invalid("finetune.targets names no layer to adapt"));
        }
        for part in self.targets.iter().chain(&self.trainable) {
            if !names.iter().any(|n| n.contains(part.as_str())) {
                return Err(Error::invalid(format!(
                    "finetune: no parameter path contains '{part}' (paths look like \
                     'blocks.0.attention.qkv.weight')"
                )));
            }
        }
        Ok(())
    }

    /// Freezes or adapts `policy` for this mode. LoRA factors are drawn from the generator
    /// of the policy's device: seed it first for a reproducible run.
    pub fn prepare(&self, policy: Policy) -> Result<Policy> {
        self.validate(&policy)?;
        Ok(match self.mode {
            FinetuneMode::Full => policy,
            FinetuneMode::FrozenVision => {
                let frozen = regex_group(VISION_PATHS)?;
                let frozen = match self.reinit.is_empty() {
                    true => frozen,
                    false => frozen.exclude(paths_containing(&self.reinit)?),
                };
                policy.freeze_group(frozen)
            }
            FinetuneMode::HeadOnly => {
                let mut kept = regex_group(HEAD_PATHS)?;
                if !self.reinit.is_empty() {
                    kept = regex_group(&format!(
                        "{HEAD_PATHS}|({})",
                        self.reinit
                            .iter()
                            .map(|p| regex_escape(p))
                            .collect::<Vec<_>>()
                            .join("|")
                    ))?;
                }
                policy.freeze_group(ParamGroup::all().exclude(kept))
            }
            FinetuneMode::Lora => {
                let targets = paths_containing(&self.targets)?;
                let lora = Lora::new(self.rank, self.alpha).set_param_group(targets);
                let mut thawed = Vec::new();
                if self.train_head {
                    thawed.push(HEAD_PATHS.to_string());
                }
                let full: Vec<&String> = self.trainable.iter().chain(&self.reinit).collect();
                if !full.is_empty() {
                    let escaped: Vec<String> = full.iter().map(|p| regex_escape(p)).collect();
                    thawed.push(format!("({})", escaped.join("|")));
                }
                // `apply_lora` froze every base tensor and left the factors trainable; thaw
                // the head and the listed layers in full.
                let adapted = policy.apply_lora(lora);
                match thawed.is_empty() {
                    true => adapted,
                    false => adapted.unfreeze_group(regex_group(&thawed.join("|"))?),
                }
            }
        })
    }

    /// Draws the [`reinit`](Self::reinit) layers of `policy` afresh (call once, when a run
    /// starts, before [`prepare`](Self::prepare); a resumed run keeps what it trained). As the
    /// layers are first initialised: a `Linear` weight uniform in ±1/√fan-in, biases and
    /// LayerNorm shifts zero, LayerNorm scales one, any other tensor (embeddings, positions,
    /// action queries) normal with standard deviation 0.02. The draws come from the generator
    /// of the policy's device: seed it first.
    pub fn reinitialize(&self, policy: Policy) -> Result<Policy> {
        if self.reinit.is_empty() {
            return Ok(policy);
        }
        self.validate(&policy)?;
        let mut redraw = Redraw {
            parts: &self.reinit,
            path: Vec::new(),
            kinds: Vec::new(),
        };
        Ok(policy.map(&mut redraw))
    }

    /// Whether checkpoints must merge adapters before saving.
    pub fn has_adapters(&self) -> bool {
        self.mode == FinetuneMode::Lora
    }
}

/// Replaces the parameters whose path contains one of `parts` with fresh draws.
struct Redraw<'a> {
    parts: &'a [String],
    path: Vec<String>,
    /// For each entry of `path`, the type of the struct holding it (e.g. `Struct:Linear`).
    kinds: Vec<String>,
}

impl burn::module::ModuleMapper for Redraw<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.to_string());
        self.kinds.push(container_type.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
        self.kinds.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        // Entering a field passes the type of the struct that holds it.
        let in_linear = self.kinds.last().is_some_and(|k| k == "Struct:Linear");
        if !self.parts.iter().any(|p| path.contains(p.as_str())) {
            return param;
        }
        let leaf = self.path.last().cloned().unwrap_or_default();
        param.map(|tensor| {
            let dims = tensor.dims();
            let device = tensor.device();
            let fresh = match leaf.as_str() {
                "gamma" => Tensor::ones(dims, &device),
                "beta" | "bias" => Tensor::zeros(dims, &device),
                "weight" if D == 2 && in_linear => {
                    let bound = 1.0 / (dims[0].max(1) as f64).sqrt();
                    Tensor::random(
                        dims,
                        burn::tensor::Distribution::Uniform(-bound, bound),
                        &device,
                    )
                }
                _ => Tensor::random(dims, burn::tensor::Distribution::Normal(0.0, 0.02), &device),
            };
            fresh.set_require_grad(tensor.is_require_grad())
        })
    }
}

/// Counts scalar parameters that will receive gradients.
struct TrainableCounter {
    trainable: usize,
    total: usize,
}

impl ModuleVisitor for TrainableCounter {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let n = param.lazy_shape().num_elements();
        self.total += n;
        if param.base().is_require_grad() {
            self.trainable += n;
        }
    }
}

/// `(trainable, total)` scalar parameter counts of a prepared policy (LoRA factors count in
/// both).
pub fn trainable_params(policy: &Policy) -> (usize, usize) {
    let mut counter = TrainableCounter {
        trainable: 0,
        total: 0,
    };
    policy.visit(&mut counter);
    (counter.trainable, counter.total)
}

/// The dense network a prepared policy computes (adapters merged in; no autodiff).
pub fn merged(policy: &Policy) -> Policy {
    policy.valid().materialize()
}
