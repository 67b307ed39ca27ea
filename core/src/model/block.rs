//! One pre-norm transformer block: attention and a GELU MLP, each behind a layer norm and a
//! residual connection.

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Tensor};

use super::attention::SelfAttention;

/// A pre-norm transformer block.
#[derive(Module, Debug)]
pub struct Block {
    norm_attention: LayerNorm,
    attention: SelfAttention,
    norm_mlp: LayerNorm,
    mlp_in: Linear,
    mlp_out: Linear,
}

impl Block {
    /// A block of the given width, head count and MLP expansion ratio.
    pub fn new(width: usize, heads: usize, mlp_ratio: usize, device: &Device) -> Self {
        Block {
            norm_attention: LayerNormConfig::new(width).init(device),
            attention: SelfAttention::new(width, heads, device),
            norm_mlp: LayerNormConfig::new(width).init(device),
            mlp_in: LinearConfig::new(width, width * mlp_ratio).init(device),
            mlp_out: LinearConfig::new(width * mlp_ratio, width).init(device),
        }
    }

    /// Transforms `x` `[B, T, W]`; returns the new tokens and this block's attention weights.
    pub fn forward(&self, x: Tensor<3>, key_bias: Tensor<4>) -> (Tensor<3>, Tensor<4>) {
        let (attended, weights) = self
            .attention
            .forward(self.norm_attention.forward(x.clone()), key_bias);
        let x = x + attended;
        let hidden = gelu(self.mlp_in.forward(self.norm_mlp.forward(x.clone())));
        (x.clone() + self.mlp_out.forward(hidden), weights)
    }

    /// Like [`forward`](Self::forward), but returns only the `queries` last tokens `[B, Q, W]`
    /// (see [`SelfAttention::forward_last`]); used for the last block when no attention map
    /// is wanted.
    pub fn forward_last(&self, x: Tensor<3>, key_bias: Tensor<4>, queries: usize) -> Tensor<3> {
        let t = x.dims()[1];
        let attended =
            self.attention
                .forward_last(self.norm_attention.forward(x.clone()), key_bias, queries);
        let x = x.narrow(1, t - queries, queries) + attended;
        let hidden = gelu(self.mlp_in.forward(self.norm_mlp.forward(x.clone())));
        x + self.mlp_out.forward(hidden)
    }
}
