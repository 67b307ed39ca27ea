//! End to end on the xs preset, as the imitation issue asks of CI: pre-train briefly on broad
//! teacher data, post-train on the `goal` suite, evaluate in closed loop, and check that
//! success rose above the starting point by more than the confidence intervals.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use burn::tensor::Device;
use praxis_core::checkpoint;
use praxis_core::device::{self, Backend};
use praxis_core::eval::{EvalOptions, EvalReport, evaluate};
use praxis_core::sim::Suite;
use praxis_core::train::{self, TrainConfig};

mod common;

fn record(dir: &Path, suite: &str, episodes: usize) -> PathBuf {
    common::teacher_demos(
        &dir.join(format!("{suite}-demos")),
        suite,
        episodes,
        0.05,
        1,
    )
}

fn eval_goal(checkpoint_dir: &Path) -> EvalReport {
    let ckpt = checkpoint::load(checkpoint_dir, &Device::flex()).unwrap();
    let suite = Suite::builtin("goal").unwrap();
    evaluate(
        &ckpt.policy,
        &ckpt.meta.tokenizer,
        &suite,
        &EvalOptions::default(),
        |_, _| {},
    )
    .unwrap()
}

#[test]
fn post_training_raises_goal_success_beyond_the_confidence_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let flex = device::open(Backend::Flex).unwrap();
    let never = AtomicBool::new(false);
    for suite in ["spatial", "object", "goal"] {
        record(dir.path(), suite, 100);
    }

    let pretrain = TrainConfig::from_toml(
        "seed = 0\nsteps = 300\nbatch_size = 32\ncheckpoint_every = 300\nlog_every = 50\n\
         [model]\npreset = \"xs\"\n[data]\ndatasets = [\"spatial-demos\", \"object-demos\"]\n\
         [schedule]\nlr = 0.001\nwarmup_steps = 30\n",
        "pretrain.toml",
        dir.path(),
    )
    .unwrap();
    let base = train::train(&dir.path().join("base"), &pretrain, &flex, &never, |_| {})
        .unwrap()
        .checkpoint;

    let post = TrainConfig::from_toml(
        &format!(
            "seed = 0\nsteps = 700\nbatch_size = 32\ncheckpoint_every = 700\nlog_every = 50\n\
             [model]\ninit = \"{}\"\n[data]\ndatasets = [\"goal-demos\"]\n\
             [schedule]\nlr = 0.001\nwarmup_steps = 30\n",
            base.display()
        ),
        "post.toml",
        dir.path(),
    )
    .unwrap();
    let tuned = train::train(&dir.path().join("post"), &post, &flex, &never, |_| {})
        .unwrap()
        .checkpoint;

    let before = eval_goal(&base);
    let after = eval_goal(&tuned);
    eprintln!(
        "goal success: base {:.1}% {:?} -> post-trained {:.1}% {:?}",
        100.0 * before.success_rate,
        before.ci95,
        100.0 * after.success_rate,
        after.ci95
    );
    assert!(
        after.ci95[0] > before.ci95[1],
        "post-training did not clearly raise success: {:.3} {:?} -> {:.3} {:?}",
        before.success_rate,
        before.ci95,
        after.success_rate,
        after.ci95
    );
}
