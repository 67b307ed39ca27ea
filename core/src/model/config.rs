//! Model configuration: the presets (`xs`, `s`, `m`) are values of [`ModelConfig`], not code.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which action generator sits on top of the backbone.
///
/// All three read the action-query outputs of the backbone; they differ in how they turn them
/// into a chunk of actions (see DESIGN.md, "Heads").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// MLP regression of the whole chunk, trained with an L1 loss.
    L1,
    /// Flow matching on the chunk, integrated with Euler steps at inference.
    Flow,
    /// 256 bins per action dimension, decoded in parallel; gives log-probabilities for RL.
    Bins,
}

impl HeadKind {
    /// Every head, in a fixed order (used by benchmarks and tests that cover all heads).
    pub const ALL: [HeadKind; 3] = [HeadKind::L1, HeadKind::Flow, HeadKind::Bins];

    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            HeadKind::L1 => "l1",
            HeadKind::Flow => "flow",
            HeadKind::Bins => "bins",
        }
    }
}

impl fmt::Display for HeadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HeadKind {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "l1" => Ok(HeadKind::L1),
            "flow" => Ok(HeadKind::Flow),
            "bins" => Ok(HeadKind::Bins),
            other => Err(crate::Error::invalid(format!(
                "unknown action head '{other}' (known: l1, flow, bins)"
            ))),
        }
    }
}

/// Everything needed to build a policy network. Saved with every checkpoint, so a checkpoint
/// always rebuilds the exact network it was taken from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Preset name this config came from (`xs`, `s`, `m`), or `custom`.
    pub preset: String,
    /// Side of the square RGB input image, in pixels.
    pub image_size: usize,
    /// Side of a square image patch; `image_size` must be a multiple of it.
    pub patch_size: usize,
    /// Transformer width (token embedding size).
    pub width: usize,
    /// Number of pre-norm transformer blocks.
    pub depth: usize,
    /// Attention heads per block; must divide `width`.
    pub heads: usize,
    /// Hidden size of each block's MLP as a multiple of `width`.
    pub mlp_ratio: usize,
    /// Maximum instruction length in tokens (longer instructions are truncated).
    pub max_instruction_tokens: usize,
    /// Proprioception vector length (joint angles, gripper, ...), zero-padded.
    pub state_dim: usize,
    /// Number of future actions predicted at once (one query token each).
    pub chunk_len: usize,
    /// Action vector length, zero-padded.
    pub action_dim: usize,
    /// The action head.
    pub head: HeadKind,
    /// Bins per action dimension for the `bins` head.
    pub bins: usize,
    /// Euler integration steps of the `flow` head at inference.
    pub flow_steps: usize,
}

impl ModelConfig {
    /// The names of the built-in presets.
    pub const PRESETS: [&'static str; 3] = ["xs", "s", "m"];

    /// A built-in preset with the given head. `s` (alias `praxis-s`) is the reference size of
    /// DESIGN.md; `xs` is for tests and quick CPU runs; `m` is for GPUs.
    pub fn preset(name: &str, head: HeadKind) -> Result<Self, crate::Error> {
        let base = ModelConfig {
            preset: String::new(),
            image_size: 64,
            patch_size: 8,
            width: 128,
            depth: 4,
            heads: 4,
            mlp_ratio: 4,
            max_instruction_tokens: 16,
            state_dim: 8,
            chunk_len: 8,
            action_dim: 8,
            head,
            bins: 256,
            flow_steps: 10,
        };
        let config = match name {
            "xs" | "praxis-xs" => ModelConfig {
                preset: "xs".into(),
                patch_size: 16,
                width: 32,
                depth: 2,
                heads: 2,
                mlp_ratio: 2,
                ..base
            },
            "s" | "praxis-s" => ModelConfig {
                preset: "s".into(),
                ..base
            },
            "m" | "praxis-m" => ModelConfig {
                preset: "m".into(),
                width: 256,
                depth: 8,
                heads: 8,
                ..base
            },
            other => {
                return Err(crate::Error::invalid(format!(
                    "unknown preset '{other}' (known: xs, s, m)"
                )));
            }
        };
        Ok(config)
    }

    /// Checks the invariants the network relies on, so a bad config fails before any tensor
    /// is built.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |msg: String| Err(crate::Error::invalid(format!("model config: {msg}")));
        if self.patch_size == 0
            || self.image_size == 0
            || !self.image_size.is_multiple_of(self.patch_size)
        {
            return bad(format!(
                "image_size {} must be a positive multiple of patch_size {}",
                self.image_size, self.patch_size
            ));
        }
        if self.heads == 0 || self.width == 0 || !self.width.is_multiple_of(self.heads) {
            return bad(format!(
                "width {} must be a positive multiple of heads {}",
                self.width, self.heads
            ));
        }
        for (name, value) in [
            ("depth", self.depth),
            ("mlp_ratio", self.mlp_ratio),
            ("max_instruction_tokens", self.max_instruction_tokens),
            ("state_dim", self.state_dim),
            ("chunk_len", self.chunk_len),
            ("action_dim", self.action_dim),
            ("flow_steps", self.flow_steps),
        ] {
            if value == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if self.bins < 2 {
            return bad(format!("bins must be at least 2, got {}", self.bins));
        }
        Ok(())
    }

    /// Image patches per frame (64 for `praxis-s`).
    pub fn num_patches(&self) -> usize {
        (self.image_size / self.patch_size).pow(2)
    }

    /// Values in one flattened patch (3 × patch × patch).
    pub fn patch_values(&self) -> usize {
        3 * self.patch_size * self.patch_size
    }

    /// Total tokens the backbone attends over: patches, instruction, one state token, action
    /// queries (89 for `praxis-s`).
    pub fn num_tokens(&self) -> usize {
        self.num_patches() + self.max_instruction_tokens + 1 + self.chunk_len
    }

    /// Index of the first instruction token in the sequence.
    pub fn instruction_offset(&self) -> usize {
        self.num_patches()
    }

    /// Index of the proprioception token.
    pub fn state_offset(&self) -> usize {
        self.num_patches() + self.max_instruction_tokens
    }

    /// Index of the first action-query token.
    pub fn query_offset(&self) -> usize {
        self.state_offset() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn praxis_s_matches_design() {
        let c = ModelConfig::preset("praxis-s", HeadKind::L1).unwrap();
        c.validate().unwrap();
        assert_eq!(c.num_patches(), 64);
        assert_eq!(c.num_tokens(), 89);
        assert_eq!((c.width, c.depth, c.heads, c.mlp_ratio), (128, 4, 4, 4));
        assert_eq!((c.chunk_len, c.action_dim, c.state_dim), (8, 8, 8));
    }

    #[test]
    fn unknown_preset_and_head_are_errors() {
        let e = ModelConfig::preset("xxl", HeadKind::L1).unwrap_err();
        assert!(e.to_string().contains("unknown preset 'xxl'"), "{e}");
        assert!("softmax".parse::<HeadKind>().is_err());
    }

    #[test]
    fn validate_rejects_bad_geometry() {
        let mut c = ModelConfig::preset("s", HeadKind::L1).unwrap();
        c.patch_size = 7;
        assert!(c.validate().is_err());
        let mut c = ModelConfig::preset("s", HeadKind::L1).unwrap();
        c.heads = 3;
        assert!(c.validate().is_err());
    }
}
