//! Building the engine's learner and threads: from a checkpoint when a run is opened or
//! rewound, with the auxiliary heads the curriculum's stages use.

use std::path::Path;
use std::sync::Arc;

use crate::checkpoint;
use crate::curriculum::spec::CurriculumSpec;
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::train::ema::Ema;
use crate::train::finetune::FinetuneConfig;
use crate::train::{Learner, OptimizerConfig};

/// The training threads: one with `deterministic` (bit-exact reruns), else every core.
pub(super) fn thread_pool(deterministic: bool) -> Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(match deterministic {
            true => 1,
            false => rayon::current_num_threads(),
        })
        .thread_name(|i| format!("praxis-curriculum-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::invalid(format!("cannot start the training threads: {e}")))
}

/// The learner saved in the checkpoint at `dir`: the raw weights behind a moving average,
/// the optimizer state and the moving average itself, so training continues exactly.
pub(super) fn restore_learner(
    dir: &Path,
    ckpt: checkpoint::Checkpoint,
    spec: &CurriculumSpec,
    device: &ComputeDevice,
) -> Result<Learner> {
    let finetune = FinetuneConfig::default();
    let optimizer = OptimizerConfig::default();
    let trained = match ckpt.training.clone() {
        Some(bytes) => {
            let fresh = checkpoint::blank_policy(&ckpt.meta, &device.device)?;
            checkpoint::load_training(dir, fresh, bytes)?
        }
        None => ckpt.policy.clone(),
    };
    let mut learner = Learner::prepared(trained, &finetune, &optimizer, &device.device);
    if let Some(bytes) = ckpt.optimizer {
        let restored = checkpoint::load_optimizer(dir, learner.optimizer().clone(), bytes)?;
        learner = learner.with_optimizer(restored);
    }
    if let Some(decay) = spec.ema_decay {
        learner = learner.with_ema(Ema::resume(ckpt.policy, decay, ckpt.meta.step));
    }
    Ok(learner)
}

/// Gives the learner the auxiliary heads if any stage uses auxiliary losses (drawn from the
/// curriculum's seed; a resumed run draws them afresh, as checkpoints keep the policy alone)
/// and sets the weights of `stage`.
pub(super) fn with_stage_auxiliary(
    learner: Learner,
    spec: &CurriculumSpec,
    stage: usize,
    device: &ComputeDevice,
) -> Result<Learner> {
    let Some(first) = spec.stages.iter().find(|s| s.auxiliary.is_active()) else {
        return Ok(learner);
    };
    let anchor = match (
        spec.stages.iter().any(|s| s.auxiliary.distill > 0.0),
        &spec.init,
    ) {
        (true, Some(dir)) => Some(checkpoint::load(dir, &device.device)?.policy),
        _ => None,
    };
    let mut learner = learner.with_auxiliary(first.auxiliary, anchor, spec.seed)?;
    learner.set_auxiliary_weights(spec.stages[stage].auxiliary)?;
    Ok(learner)
}
