//! An exponential moving average of the weights being trained, the policy that gets
//! evaluated and saved when a run asks for it. Averaging the last few hundred updates smooths
//! out the noise of small-batch imitation steps, as diffusion-policy and ACT training do.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::model::Policy;

/// The average and its decay.
#[derive(Debug, Clone)]
pub struct Ema {
    decay: f64,
    updates: u64,
    average: Policy,
}

/// Collects a module's float tensors, flattened, in visiting order.
struct Flatten {
    tensors: Vec<Tensor<1>>,
}

impl ModuleVisitor for Flatten {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.tensors.push(value.reshape([n]));
    }
}

/// Moves each parameter of the average toward the matching current tensor.
struct Blend {
    current: std::vec::IntoIter<Tensor<1>>,
    keep: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(current) = self.current.next() else {
            return param;
        };
        let keep = self.keep;
        param.map(|average| {
            let shape = average.shape();
            average.mul_scalar(keep) + current.reshape(shape).mul_scalar(1.0 - keep)
        })
    }
}

impl Ema {
    /// Starts the average at `policy` (a dense inference copy).
    pub fn new(policy: Policy, decay: f64) -> Self {
        Ema {
            decay,
            updates: 0,
            average: policy,
        }
    }

    /// Continues an average saved at `updates` updates.
    pub fn resume(average: Policy, decay: f64, updates: u64) -> Self {
        Ema {
            decay,
            updates,
            average,
        }
    }

    /// Folds in the weights after one more update (`current` is a dense inference copy with
    /// the same structure as the average). The decay ramps up as `(1+n)/(10+n)` so the
    /// average does not drag the starting weights along for thousands of steps.
    pub fn update(&mut self, current: &Policy) {
        self.updates += 1;
        let n = self.updates as f64;
        let keep = self.decay.min((1.0 + n) / (10.0 + n));
        let mut flatten = Flatten {
            tensors: Vec::new(),
        };
        current.visit(&mut flatten);
        let mut blend = Blend {
            current: flatten.tensors.into_iter(),
            keep,
        };
        self.average = self.average.clone().map(&mut blend);
    }

    /// The averaged policy.
    pub fn policy(&self) -> &Policy {
        &self.average
    }

    /// Updates folded in so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }
}
