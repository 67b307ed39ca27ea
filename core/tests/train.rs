//! The training loop on the xs preset: exact resume, metrics, the numerics guard and bad input.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use praxis_core::checkpoint;
use praxis_core::device::{self, Backend};
use praxis_core::model::params::named_params;
use praxis_core::train::run::RunDir;
use praxis_core::train::{self, TrainConfig};

mod common;

fn demos(dir: &Path) -> PathBuf {
    common::teacher_demos(&dir.join("demos"), "goal", 3, 0.0, 0)
}

fn config(dir: &Path, extra: &str) -> TrainConfig {
    let text = format!(
        "seed = 3\nsteps = 6\nbatch_size = 4\ncheckpoint_every = 3\nlog_every = 1\n{extra}\n\
         [model]\npreset = \"xs\"\nhead = \"l1\"\n[data]\ndatasets = [\"demos\"]\n\
         [schedule]\nlr = 0.001\nwarmup_steps = 2\nmin_lr_ratio = 0.1\n"
    );
    TrainConfig::from_toml(&text, "test.toml", dir).unwrap()
}

fn final_weights(run: &Path) -> Vec<praxis_core::model::params::NamedParam> {
    let latest = RunDir::open(run).unwrap().latest().unwrap().unwrap();
    named_params(&checkpoint::load(&latest, &Device::flex()).unwrap().policy)
}

#[test]
fn an_interrupted_and_resumed_run_ends_bit_identical() {
    interrupted_and_resumed_run_ends_bit_identical("");
}

/// The same with a moving average and LoRA adapters: both live outside `model.bpk`, in the
/// checkpoint's training state.
#[test]
fn a_resumed_lora_run_with_a_moving_average_ends_bit_identical() {
    interrupted_and_resumed_run_ends_bit_identical("ema_decay = 0.9");
    interrupted_and_resumed_run_ends_bit_identical(
        "[finetune]\nmode = \"lora\"\nrank = 2\ntrainable = [\"state_embed\"]",
    );
    interrupted_and_resumed_run_ends_bit_identical(
        "ema_decay = 0.9\n[finetune]\nmode = \"lora\"\nrank = 2\ntrainable = [\"state_embed\"]",
    );
}

fn interrupted_and_resumed_run_ends_bit_identical(extra: &str) {
    let dir = tempfile::tempdir().unwrap();
    demos(dir.path());
    let cfg = config(dir.path(), extra);
    let flex = device::open(Backend::Flex).unwrap();
    let never = AtomicBool::new(false);

    let straight = dir.path().join("straight");
    let outcome = train::train(&straight, &cfg, &flex, &never, |_| {}).unwrap();
    assert_eq!((outcome.step, outcome.interrupted), (6, false));

    let split = dir.path().join("split");
    let stop = AtomicBool::new(false);
    let outcome = train::train(&split, &cfg, &flex, &stop, |p| {
        if p.step == 4 {
            stop.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert_eq!((outcome.step, outcome.interrupted), (4, true));
    let outcome = train::resume(&split, &flex, &never, |_| {}).unwrap();
    assert_eq!((outcome.step, outcome.interrupted), (6, false));

    let (a, b) = (final_weights(&straight), final_weights(&split));
    let differing: Vec<(&str, f32)> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.values != y.values)
        .map(|(x, y)| {
            let max = x
                .values
                .iter()
                .zip(&y.values)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max);
            (x.name.as_str(), max)
        })
        .collect();
    assert!(
        differing.is_empty(),
        "{extra}: {} params differ: {differing:?}",
        differing.len()
    );
    let metrics = RunDir::open(&split).unwrap().metrics().unwrap();
    let steps: Vec<u64> = metrics.iter().map(|m| m.step).collect();
    assert_eq!(
        steps,
        vec![1, 2, 3, 4, 5, 6],
        "resume must not duplicate metric lines"
    );
    assert!(
        metrics
            .iter()
            .all(|m| m.loss.is_finite() && m.grad_norm > 0.0)
    );
    assert!(
        metrics
            .iter()
            .all(|m| m.update_ms > 0.0 && m.samples_per_s > 0.0)
    );
}

#[test]
fn non_finite_updates_stop_the_run_and_keep_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    demos(dir.path());
    let mut cfg = config(dir.path(), "max_bad_steps = 2");
    cfg.checkpoint_every = 1;
    cfg.schedule.lr = 1e30; // the first update blows the weights up
    cfg.schedule.warmup_steps = 0;
    cfg.optimizer.clip_grad_norm = None;
    let flex = device::open(Backend::Flex).unwrap();
    let run = dir.path().join("run");
    let e = train::train(&run, &cfg, &flex, &AtomicBool::new(false), |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-finite updates in a row"), "{e}");
    assert!(!e.contains('\n'));
    let latest = RunDir::open(&run).unwrap().latest().unwrap().unwrap();
    assert!(e.contains(&latest.display().to_string()), "{e}");
    checkpoint::load(&latest, &Device::flex()).unwrap();
}

#[test]
fn bad_runs_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let flex = device::open(Backend::Flex).unwrap();
    let never = AtomicBool::new(false);
    // no dataset on disk
    let e = train::train(
        &dir.path().join("r"),
        &config(dir.path(), ""),
        &flex,
        &never,
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("demos"), "{e}");
    assert!(
        !dir.path().join("r").exists(),
        "a failed start left a run directory"
    );
    // an existing run is not overwritten
    demos(dir.path());
    let run = dir.path().join("r");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("keep.txt"), "x").unwrap();
    let e = train::train(&run, &config(dir.path(), ""), &flex, &never, |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(std::fs::read_to_string(run.join("keep.txt")).unwrap(), "x");
    // resuming something that is not a run
    let e = train::resume(&dir.path().join("demos"), &flex, &never, |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a run directory"), "{e}");
}
