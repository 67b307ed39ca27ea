//! Export of a policy's weights to SafeTensors, with PyTorch conventions, so the model can be
//! loaded outside Praxis (e.g. `safetensors.torch.load_file`).
//!
//! Tensor names follow the module tree (`blocks.0.attention.qkv.weight`, ...), with these
//! conversions to PyTorch's layout:
//!
//! - every `Linear` weight is stored `[out, in]` (Burn keeps `[in, out]`);
//! - `patch_embed.weight` is stored as a `Conv2d` kernel `[width, 3, patch, patch]` (a patch is
//!   flattened channel-major, so an 8×8 stride-8 convolution with this kernel computes the
//!   same patch embeddings);
//! - `LayerNorm` parameters `gamma` / `beta` are named `weight` / `bias`.
//!
//! All tensors are float32. The header's `__metadata__` holds `praxis.model_config` and
//! `praxis.vocabulary` (JSON), so the tokenizer travels with the weights.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use crate::atomic;
use crate::error::{Error, Result};
use crate::model::Policy;
use crate::model::Tokenizer;
use crate::model::params::{NamedParam, named_params};

/// One tensor as it is exported.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedTensor {
    /// PyTorch-style name.
    pub name: String,
    /// PyTorch-layout shape.
    pub shape: Vec<usize>,
    /// Values, row-major in that shape.
    pub values: Vec<f32>,
}

fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Converts one Burn parameter to its exported name, shape and layout.
fn to_pytorch(param: NamedParam, patch: usize) -> ExportedTensor {
    let NamedParam {
        name,
        shape,
        values,
    } = param;
    let leaf = name.rsplit('.').next().unwrap_or_default().to_string();
    let is_embedding = name.starts_with("word_embed.");
    let name = match leaf.as_str() {
        "gamma" => format!("{}weight", name.strip_suffix("gamma").unwrap_or_default()),
        "beta" => format!("{}bias", name.strip_suffix("beta").unwrap_or_default()),
        _ => name,
    };
    if leaf == "weight" && shape.len() == 2 && !is_embedding {
        let (rows, cols) = (shape[0], shape[1]);
        let values = transpose(&values, rows, cols);
        let shape = if name == "patch_embed.weight" {
            vec![cols, 3, patch, patch]
        } else {
            vec![cols, rows]
        };
        return ExportedTensor {
            name,
            shape,
            values,
        };
    }
    ExportedTensor {
        name,
        shape,
        values,
    }
}

/// Every parameter of `policy` in exported form.
pub fn exported_tensors(policy: &Policy) -> Vec<ExportedTensor> {
    let patch = policy.config().patch_size;
    named_params(policy)
        .into_iter()
        .map(|p| to_pytorch(p, patch))
        .collect()
}

/// Writes `policy`'s weights (and its config and vocabulary as metadata) to a `.safetensors`
/// file at `path`, atomically.
pub fn write_safetensors(policy: &Policy, tokenizer: &Tokenizer, path: &Path) -> Result<()> {
    let tensors = exported_tensors(policy);
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            TensorView::new(Dtype::F32, t.shape.clone(), b)
                .map(|view| (t.name.clone(), view))
                .map_err(|e| Error::invalid(format!("tensor {}: {e}", t.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([
        (
            "praxis.model_config".to_string(),
            serde_json::to_string(policy.config()).unwrap_or_default(),
        ),
        (
            "praxis.vocabulary".to_string(),
            serde_json::to_string(tokenizer.words()).unwrap_or_default(),
        ),
        ("format".to_string(), "pt".to_string()),
    ]);
    let serialized = safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::invalid(format!("cannot serialize safetensors: {e}")))?;
    atomic::write_file(path, &serialized)
}
