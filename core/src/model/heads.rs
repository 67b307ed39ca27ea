//! The three action heads. Each reads the backbone's action-query outputs `[B, C, W]` and turns
//! them into a chunk of `C` actions of `A` values.
//!
//! - [`L1Head`]: an MLP regresses the chunk; L1 loss (as ACT and OpenVLA-OFT do).
//! - [`FlowHead`]: flow matching (as pi0 does): the head predicts the velocity from noise to
//!   the action chunk, and inference integrates it with Euler steps. Only the head is
//!   re-evaluated per step; the backbone runs once.
//! - [`BinsHead`]: every action value is classified into one of `bins` uniform bins over
//!   [-1, 1] (as RT-2 and OpenVLA do), decoded in parallel; it gives log-probabilities for RL.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{gelu, log_softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Sinusoidal features of the flow time.
const TIME_FEATURES: usize = 16;

/// Mean of `values` where `mask` is 1 (0 when the mask is empty), as a one-element tensor.
pub fn masked_mean(values: Tensor<3>, mask: Tensor<3>) -> Tensor<1> {
    (values * mask.clone()).sum() / mask.sum().clamp_min(1.0)
}

/// MLP regression head trained with an L1 loss.
#[derive(Module, Debug)]
pub struct L1Head {
    hidden: Linear,
    out: Linear,
}

impl L1Head {
    /// A head from width `width` to `action_dim` values per query.
    pub fn new(width: usize, action_dim: usize, device: &Device) -> Self {
        L1Head {
            hidden: LinearConfig::new(width, width).init(device),
            out: LinearConfig::new(width, action_dim).init(device),
        }
    }

    /// Predicted chunk `[B, C, A]`.
    pub fn forward(&self, queries: Tensor<3>) -> Tensor<3> {
        self.out.forward(gelu(self.hidden.forward(queries)))
    }

    /// Masked mean absolute error against `actions`.
    pub fn loss(&self, queries: Tensor<3>, actions: Tensor<3>, mask: Tensor<3>) -> Tensor<1> {
        masked_mean((self.forward(queries) - actions).abs(), mask)
    }
}

/// Flow-matching head: predicts the velocity field from noise to the action chunk.
#[derive(Module, Debug)]
pub struct FlowHead {
    input: Linear,
    hidden: Linear,
    out: Linear,
}

impl FlowHead {
    /// A head over query features of width `width` and actions of `action_dim` values.
    pub fn new(width: usize, action_dim: usize, device: &Device) -> Self {
        FlowHead {
            input: LinearConfig::new(width + action_dim + TIME_FEATURES, width).init(device),
            hidden: LinearConfig::new(width, width).init(device),
            out: LinearConfig::new(width, action_dim).init(device),
        }
    }

    /// Velocity `[B, C, A]` at the noisy chunk `x_t` `[B, C, A]` and times `t` `[B]`.
    pub fn velocity(&self, queries: Tensor<3>, x_t: Tensor<3>, t: Tensor<1>) -> Tensor<3> {
        let [b, c, _] = queries.dims();
        let device = queries.device();
        let half = TIME_FEATURES / 2;
        let freqs: Vec<f32> = (0..half)
            .map(|i| (1000f32).powf(-(i as f32) / half as f32) * std::f32::consts::TAU)
            .collect();
        let freqs = Tensor::<3>::from_data(TensorData::new(freqs, [1, 1, half]), &device);
        let phase = t.reshape([b, 1, 1]) * freqs;
        let time = Tensor::cat(vec![phase.clone().sin(), phase.cos()], 2).repeat_dim(1, c);
        let h = gelu(self.input.forward(Tensor::cat(vec![queries, x_t, time], 2)));
        self.out.forward(gelu(self.hidden.forward(h)))
    }

    /// Masked mean squared error between the predicted and the true velocity
    /// (`actions - noise`) at `x_t = t * actions + (1 - t) * noise`.
    pub fn loss(
        &self,
        queries: Tensor<3>,
        actions: Tensor<3>,
        mask: Tensor<3>,
        noise: Tensor<3>,
        t: Tensor<1>,
    ) -> Tensor<1> {
        let b = t.dims()[0];
        let tt = t.clone().reshape([b, 1, 1]);
        let x_t = actions.clone() * tt.clone() + noise.clone() * (tt.neg() + 1.0);
        let target = actions - noise;
        let predicted = self.velocity(queries, x_t, t);
        masked_mean((predicted - target).powi_scalar(2), mask)
    }

    /// Integrates the velocity field from `noise` at t = 0 to t = 1 in `steps` Euler steps.
    pub fn sample(&self, queries: Tensor<3>, noise: Tensor<3>, steps: usize) -> Tensor<3> {
        let b = noise.dims()[0];
        let device = noise.device();
        let dt = 1.0 / steps as f64;
        let mut x = noise;
        for i in 0..steps {
            let t = Tensor::<1>::full([b], i as f64 * dt, &device);
            x = x.clone() + self.velocity(queries.clone(), x, t).mul_scalar(dt);
        }
        x
    }
}

/// Discrete head: `bins` uniform bins over [-1, 1] per action value.
#[derive(Module, Debug)]
pub struct BinsHead {
    out: Linear,
    action_dim: usize,
    bins: usize,
}

impl BinsHead {
    /// A head over query features of width `width`.
    pub fn new(width: usize, action_dim: usize, bins: usize, device: &Device) -> Self {
        BinsHead {
            out: LinearConfig::new(width, action_dim * bins).init(device),
            action_dim,
            bins,
        }
    }

    /// Log-probabilities of every bin `[B, C, A, bins]`.
    pub fn log_probs(&self, queries: Tensor<3>) -> Tensor<4> {
        let [b, c, _] = queries.dims();
        let logits = self
            .out
            .forward(queries)
            .reshape([b, c, self.action_dim, self.bins]);
        log_softmax(logits, 3)
    }

    /// The bin index of each action value `[B, C, A]`.
    pub fn bin_of(&self, actions: Tensor<3>) -> Tensor<3, Int> {
        let n = self.bins as f64;
        ((actions + 1.0) * (n / 2.0))
            .floor()
            .clamp(0.0, n - 1.0)
            .int()
    }

    /// The value a bin index decodes to: the bin's centre.
    pub fn value_of(&self, bins: Tensor<3, Int>) -> Tensor<3> {
        let n = self.bins as f64;
        (bins.float() + 0.5) * (2.0 / n) - 1.0
    }

    /// Log-probability of each value of `actions` under the head `[B, C, A]`.
    pub fn action_log_probs(&self, queries: Tensor<3>, actions: Tensor<3>) -> Tensor<3> {
        self.action_log_probs_at(queries, actions, 1.0)
    }

    /// Log-probability of each value of `actions` under the head's distribution at
    /// `temperature` (softmax of the logits divided by it) `[B, C, A]`: what an RL update
    /// compares against when its rollouts were sampled at that temperature.
    pub fn action_log_probs_at(
        &self,
        queries: Tensor<3>,
        actions: Tensor<3>,
        temperature: f32,
    ) -> Tensor<3> {
        let [b, c, a] = actions.dims();
        let index = self.bin_of(actions).reshape([b, c, a, 1]);
        let log_probs = match temperature == 1.0 {
            true => self.log_probs(queries),
            // log_softmax(log_softmax(z) / T) = log_softmax(z / T)
            false => log_softmax(self.log_probs(queries) / temperature as f64, 3),
        };
        log_probs.gather(3, index).reshape([b, c, a])
    }

    /// Masked mean negative log-likelihood (cross-entropy) of the target bins.
    pub fn loss(&self, queries: Tensor<3>, actions: Tensor<3>, mask: Tensor<3>) -> Tensor<1> {
        masked_mean(self.action_log_probs(queries, actions).neg(), mask)
    }

    /// The most likely chunk `[B, C, A]` (every value decoded in parallel).
    pub fn decode(&self, queries: Tensor<3>) -> Tensor<3> {
        let [b, c, _] = queries.dims();
        let best = self
            .log_probs(queries)
            .argmax(3)
            .reshape([b, c, self.action_dim]);
        self.value_of(best)
    }
}
