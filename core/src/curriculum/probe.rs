//! The probe episode: one fixed episode the current policy plays whenever the app should see
//! it, frame by frame with its attention maps and its planned effector path against the
//! teacher's. The teacher's path comes from replaying the policy's actions in a second,
//! unrendered copy of the episode (the simulator is deterministic), then letting the teacher
//! drive that copy for one chunk.

use crate::error::{Error, Result};
use crate::model::{HostBatch, Policy, Tokenizer};
use crate::sim::embodiment::MAX_EE_STEP;
use crate::sim::{Action, Env, EnvConfig, Suite, Teacher, TeacherConfig};
use crate::telemetry::ProbeFrame;

/// Which episode to probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSpec {
    /// Task name.
    pub task: String,
    /// Episode seed.
    pub seed: u64,
    /// Actions executed per re-plan.
    pub execute_steps: usize,
}

fn effector(proprio: &[f32]) -> [f32; 2] {
    let n = proprio.len();
    [proprio[n - 2], proprio[n - 1]]
}

/// Plays the probe episode with `policy` (labelled with update count `step`) and returns one
/// frame per re-plan.
pub fn run(
    policy: &Policy,
    tokenizer: &Tokenizer,
    suite: &Suite,
    spec: &ProbeSpec,
    step: u64,
) -> Result<Vec<ProbeFrame>> {
    let config = policy.config().clone();
    let device = crate::eval::policy_device(policy);
    let env_config = EnvConfig {
        image_size: config.image_size as u32,
        ..EnvConfig::default()
    };
    let mut env = Env::new(suite, &spec.task, env_config)?;
    let mut obs = env.reset(spec.seed)?;
    let words: Vec<String> = {
        let tokens = tokenizer.encode(&obs.instruction, config.max_instruction_tokens);
        tokens
            .ids
            .iter()
            .zip(&tokens.mask)
            .filter(|(_, real)| **real)
            .map(|(id, _)| tokenizer.word(*id).to_string())
            .collect()
    };
    let execute = spec.execute_steps.clamp(1, config.chunk_len);
    let mut executed: Vec<Action> = Vec::new();
    let mut frames = Vec::new();
    let (patches, grid) = (config.num_patches(), config.image_size / config.patch_size);
    let (words_at, queries_at) = (config.instruction_offset(), config.query_offset());
    let mut success = false;
    loop {
        let mut batch = HostBatch::default();
        batch.push_observation(&config, tokenizer, crate::eval::model_input(&obs))?;
        let encoding = policy.encode(&batch.input(&config, &device), true);
        let chunk = host(policy.act(
            &encoding,
            crate::model::input::flow_noise(
                &config,
                1,
                &mut crate::train::loader::step_rng(spec.seed, step, 5),
                &device,
            ),
        ))?;
        let mut attention = Vec::new();
        let mut word_attention = Vec::new();
        for layer in &encoding.attention {
            let [_, heads, t, _] = layer.dims();
            let values = host(layer.clone())?;
            let mut per_head = Vec::new();
            let mut to_words = vec![0.0f32; words.len()];
            for h in 0..heads {
                let mut per_query = Vec::new();
                for q in 0..config.chunk_len {
                    let row = &values[(h * t + queries_at + q) * t..][..t];
                    per_query.push(row[..patches].to_vec());
                    for (w, slot) in to_words.iter_mut().enumerate() {
                        *slot += row[words_at + w] / (heads * config.chunk_len) as f32;
                    }
                }
                per_head.push(per_query);
            }
            attention.push(per_head);
            word_attention.push(to_words);
        }
        let dims = env.action_dim();
        let actions: Vec<Action> = (0..config.chunk_len)
            .map(|k| {
                let start = k * config.action_dim;
                crate::eval::executable_action(&chunk[start..start + dims])
            })
            .collect();
        let start = effector(&obs.proprio);
        let mut predicted = vec![start];
        let mut at = start;
        for a in &actions {
            at = [at[0] + a.0[0] * MAX_EE_STEP, at[1] + a.0[1] * MAX_EE_STEP];
            predicted.push(at);
        }
        let teacher = teacher_path(suite, spec, env_config, &executed, config.chunk_len)?;
        let to_px = |p: &[f32; 2]| env.world_to_pixel(*p);
        frames.push(ProbeFrame {
            step,
            t: executed.len() as u32,
            image: obs.image.clone(),
            size: obs.width,
            attention,
            word_attention,
            words: words.clone(),
            grid: grid as u32,
            predicted: predicted.iter().map(to_px).collect(),
            teacher: teacher.iter().map(to_px).collect(),
            success,
            last: success,
        });
        if success {
            break;
        }
        let mut done = false;
        for action in actions.into_iter().take(execute) {
            let result = env.step(&action)?;
            executed.push(action);
            obs = result.obs;
            if result.terminated || result.truncated {
                success = result.terminated;
                done = true;
                break;
            }
        }
        if done && !success {
            if let Some(frame) = frames.last_mut() {
                frame.last = true;
            }
            break;
        }
    }
    Ok(frames)
}

/// The effector path the teacher would take over `horizon` steps from the state reached by
/// `executed`.
fn teacher_path(
    suite: &Suite,
    spec: &ProbeSpec,
    config: EnvConfig,
    executed: &[Action],
    horizon: usize,
) -> Result<Vec<[f32; 2]>> {
    let mut replay = Env::new(
        suite,
        &spec.task,
        EnvConfig {
            render: false,
            ..config
        },
    )?;
    let mut obs = replay.reset(spec.seed)?;
    for action in executed {
        obs = replay.step(action)?.obs;
    }
    let mut teacher = Teacher::new(TeacherConfig {
        seed: spec.seed,
        ..TeacherConfig::default()
    });
    let mut path = vec![effector(&obs.proprio)];
    for _ in 0..horizon {
        let action = teacher.act(&replay)?;
        let result = replay.step(&action)?;
        path.push(effector(&result.obs.proprio));
        if result.terminated || result.truncated {
            break;
        }
    }
    Ok(path)
}

fn host<const D: usize>(t: burn::tensor::Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::invalid(format!("cannot read a tensor back: {e:?}")))
}
