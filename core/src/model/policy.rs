//! The VLA policy network: image patches, instruction words, one proprioception token and one
//! learned query per future action go through a bidirectional transformer; the query outputs
//! feed the action head.
//!
//! The network knows no world and no trainer: it reads [`PolicyInput`] tensors and returns
//! actions, losses and attention weights.

use burn::module::{Initializer, Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::block::Block;
use super::config::{HeadKind, ModelConfig};
use super::heads::{BinsHead, FlowHead, L1Head};
use super::input::{ActionTargets, PolicyInput};
use crate::error::Result;

/// The backbone's output for one batch.
#[derive(Debug, Clone)]
pub struct Encoding {
    /// Final-normed outputs of the action-query tokens `[B, C, W]`.
    pub queries: Tensor<3>,
    /// Attention weights of every block `[B, heads, T, T]`, if they were asked for.
    pub attention: Vec<Tensor<4>>,
}

/// The policy network (preset-sized; see [`ModelConfig`]).
#[derive(Module, Debug)]
pub struct Policy {
    patch_embed: Linear,
    word_embed: Embedding,
    state_embed: Linear,
    action_queries: Param<Tensor<2>>,
    positions: Param<Tensor<2>>,
    blocks: Vec<Block>,
    final_norm: LayerNorm,
    l1: Option<L1Head>,
    flow: Option<FlowHead>,
    bins: Option<BinsHead>,
    #[module(skip)]
    config: ModelConfig,
}

impl crate::device::DrawParams for Policy {
    fn draw_params(&self) {
        crate::device::draw_module(self);
    }
}

impl Policy {
    /// A freshly initialised network for `config` with an instruction vocabulary of
    /// `vocab_size` ids, on `device`. The weights come from the device's random generator,
    /// lazily: build it inside [`crate::device::seeded`], which seeds the generator and draws
    /// them all under its lock, for a reproducible initialisation.
    pub fn new(config: &ModelConfig, vocab_size: usize, device: &Device) -> Result<Self> {
        config.validate()?;
        let w = config.width;
        let small = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        let head = config.head;
        let policy = Policy {
            patch_embed: LinearConfig::new(config.patch_values(), w).init(device),
            word_embed: EmbeddingConfig::new(vocab_size.max(2), w).init(device),
            state_embed: LinearConfig::new(config.state_dim, w).init(device),
            action_queries: small.init([config.chunk_len, w], device),
            positions: small.init([config.num_tokens(), w], device),
            blocks: (0..config.depth)
                .map(|_| Block::new(w, config.heads, config.mlp_ratio, device))
                .collect(),
            final_norm: LayerNormConfig::new(w).init(device),
            l1: (head == HeadKind::L1).then(|| L1Head::new(w, config.action_dim, device)),
            flow: (head == HeadKind::Flow).then(|| FlowHead::new(w, config.action_dim, device)),
            bins: (head == HeadKind::Bins)
                .then(|| BinsHead::new(w, config.action_dim, config.bins, device)),
            config: config.clone(),
        };
        Ok(policy)
    }

    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        Module::num_params(self)
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Cuts images `[B, 3, H, W]` into flattened patches `[B, N, 3·P·P]`, row by row, each
    /// patch flattened channel-major (the layout of a PyTorch `Conv2d` kernel).
    fn patches(&self, images: Tensor<4>) -> Tensor<3> {
        let [b, c, h, w] = images.dims();
        let p = self.config.patch_size;
        let (gh, gw) = (h / p, w / p);
        images
            .reshape([b, c, gh, p, gw, p])
            .permute([0, 2, 4, 1, 3, 5])
            .reshape([b, gh * gw, c * p * p])
    }

    /// The input token sequence `[B, T, W]` with positions added.
    fn embed(&self, input: &PolicyInput) -> Tensor<3> {
        let b = input.batch_size();
        let c = &self.config;
        let image_tokens = self.embed_patches(input.images.clone());
        let word_tokens = self.word_embed.forward(input.tokens.clone());
        let state_token = self
            .embed_state(input.state.clone())
            .reshape([b, 1, c.width]);
        let queries = self
            .action_queries
            .val()
            .reshape([1, c.chunk_len, c.width])
            .repeat_dim(0, b);
        Tensor::cat(vec![image_tokens, word_tokens, state_token, queries], 1)
            + self.positions.val().reshape([1, c.num_tokens(), c.width])
    }

    /// Runs the backbone. With `with_attention`, also returns every block's attention
    /// weights (costs a copy per block; training leaves it off).
    pub fn encode(&self, input: &PolicyInput, with_attention: bool) -> Encoding {
        let c = &self.config;
        let mut x = self.embed(input);
        let mut attention = Vec::new();
        // Action queries are the last tokens; without attention maps, the last block computes
        // only their outputs (exactly the same values, ~a fifth less work).
        let (last, body) = self.blocks.split_last().expect("config.depth >= 1");
        for block in body {
            let (next, weights) = block.forward(x, input.key_bias.clone());
            x = next;
            if with_attention {
                attention.push(weights);
            }
        }
        let queries = if with_attention {
            let (out, weights) = last.forward(x, input.key_bias.clone());
            attention.push(weights);
            out.narrow(1, c.query_offset(), c.chunk_len)
        } else {
            last.forward_last(x, input.key_bias.clone(), c.chunk_len)
        };
        Encoding {
            queries: self.final_norm.forward(queries),
            attention,
        }
    }

    /// The training loss of the configured head on one batch (a one-element tensor).
    pub fn loss(&self, input: &PolicyInput, targets: &ActionTargets) -> Tensor<1> {
        self.head_loss(self.encode(input, false).queries, targets)
    }

    /// The configured head's loss on the action-query outputs `[B, C, W]`.
    pub fn head_loss(&self, queries: Tensor<3>, targets: &ActionTargets) -> Tensor<1> {
        let (actions, mask) = (targets.actions.clone(), targets.mask.clone());
        if let Some(head) = &self.l1 {
            head.loss(queries, actions, mask)
        } else if let Some(head) = &self.flow {
            head.loss(
                queries,
                actions,
                mask,
                targets.flow_noise.clone(),
                targets.flow_time.clone(),
            )
        } else {
            self.bins_head().loss(queries, actions, mask)
        }
    }

    /// The final-normed outputs of every token `[B, T, W]` (patches, instruction words, the
    /// state token, then the action queries): what the auxiliary heads read. Costs the last
    /// block's full sequence, which [`encode`](Self::encode) skips.
    pub fn encode_tokens(&self, input: &PolicyInput) -> Tensor<3> {
        let mut x = self.embed(input);
        for block in &self.blocks {
            x = block.forward(x, input.key_bias.clone()).0;
        }
        self.final_norm.forward(x)
    }

    /// The patch embeddings of `images` `[B, 3, H, W]` before any attention `[B, N, W]`: the
    /// vision encoder's own features (for distillation and future-latent targets).
    pub fn embed_patches(&self, images: Tensor<4>) -> Tensor<3> {
        self.patch_embed.forward(self.patches(images))
    }

    /// The proprioception projection of `state` `[B, S]` `[B, W]`.
    pub fn embed_state(&self, state: Tensor<2>) -> Tensor<2> {
        self.state_embed.forward(state)
    }

    /// Predicts action chunks `[B, C, A]` from an encoding. The flow head starts from
    /// `flow_noise` `[B, C, A]` (ignored by the other heads) and takes `flow_steps` steps.
    pub fn act(&self, encoding: &Encoding, flow_noise: Tensor<3>) -> Tensor<3> {
        let queries = encoding.queries.clone();
        if let Some(head) = &self.l1 {
            head.forward(queries)
        } else if let Some(head) = &self.flow {
            head.sample(queries, flow_noise, self.config.flow_steps)
        } else {
            self.bins_head().decode(queries)
        }
    }

    /// Log-probability of each value of `actions` `[B, C, A]` under the `bins` head, for
    /// policy-gradient methods. `None` for the other heads (they have no tractable density).
    pub fn action_log_probs(&self, encoding: &Encoding, actions: Tensor<3>) -> Option<Tensor<3>> {
        self.action_log_probs_at(encoding, actions, 1.0)
    }

    /// [`action_log_probs`](Self::action_log_probs) under the `bins` head's distribution at
    /// `temperature`, the one rollouts sampled at that temperature were drawn from.
    pub fn action_log_probs_at(
        &self,
        encoding: &Encoding,
        actions: Tensor<3>,
        temperature: f32,
    ) -> Option<Tensor<3>> {
        self.bins
            .as_ref()
            .map(|head| head.action_log_probs_at(encoding.queries.clone(), actions, temperature))
    }

    /// Log-probabilities of every bin of every action value `[B, C, A, bins]` under the
    /// `bins` head, for sampling; `None` for the other heads.
    pub fn bin_log_probs(&self, encoding: &Encoding) -> Option<Tensor<4>> {
        self.bins
            .as_ref()
            .map(|head| head.log_probs(encoding.queries.clone()))
    }

    fn bins_head(&self) -> &BinsHead {
        self.bins
            .as_ref()
            .expect("a policy always has exactly one head")
    }
}
