//! Multi-head self-attention that also hands back its attention weights, so the app can show
//! which image patches each action query looks at.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

/// Bidirectional multi-head self-attention with a fused query/key/value projection.
#[derive(Module, Debug)]
pub struct SelfAttention {
    qkv: Linear,
    out: Linear,
    heads: usize,
}

impl SelfAttention {
    /// A new attention layer of the given width and head count (`width % heads == 0`).
    pub fn new(width: usize, heads: usize, device: &burn::tensor::Device) -> Self {
        SelfAttention {
            qkv: LinearConfig::new(width, 3 * width).init(device),
            out: LinearConfig::new(width, width).init(device),
            heads,
        }
    }

    /// Attends over `x` `[B, T, W]`; `key_bias` `[B, 1, 1, T]` is added to the scores before
    /// the softmax (large negative values hide a key). Returns the output `[B, T, W]` and the
    /// weights `[B, heads, T, T]` (each query's row sums to one).
    pub fn forward(&self, x: Tensor<3>, key_bias: Tensor<4>) -> (Tensor<3>, Tensor<4>) {
        let [b, t, w] = x.dims();
        let h = self.heads;
        let d = w / h;
        let split = |part: Tensor<3>| part.reshape([b, t, h, d]).swap_dims(1, 2);
        let mut qkv = self.qkv.forward(x).chunk(3, 2).into_iter();
        let (q, k, v) = (
            split(qkv.next().unwrap()),
            split(qkv.next().unwrap()),
            split(qkv.next().unwrap()),
        );
        let scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar((d as f64).powf(-0.5))
            + key_bias;
        let weights = softmax(scores, 3);
        let context = weights.clone().matmul(v).swap_dims(1, 2).reshape([b, t, w]);
        (self.out.forward(context), weights)
    }

    /// Like [`forward`](Self::forward), but computes outputs only for the `queries` last
    /// tokens (which still attend over all `T` keys). Exact for those tokens, and much cheaper
    /// when only they are read, as for the backbone's last block in training. Returns
    /// `[B, queries, W]`.
    pub fn forward_last(&self, x: Tensor<3>, key_bias: Tensor<4>, queries: usize) -> Tensor<3> {
        let [b, t, w] = x.dims();
        let h = self.heads;
        let d = w / h;
        let mut qkv = self.qkv.forward(x).chunk(3, 2).into_iter();
        let q = qkv.next().unwrap().narrow(1, t - queries, queries);
        let q = q.reshape([b, queries, h, d]).swap_dims(1, 2);
        let k = qkv.next().unwrap().reshape([b, t, h, d]).swap_dims(1, 2);
        let v = qkv.next().unwrap().reshape([b, t, h, d]).swap_dims(1, 2);
        let scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar((d as f64).powf(-0.5))
            + key_bias;
        let context = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([b, queries, w]);
        self.out.forward(context)
    }
}
