//! The rollout recipes on the xs preset with the `bins` head: PPO fits its value head and
//! makes positive-advantage actions more likely; DPO makes the chosen rollouts more likely
//! than the rejected ones relative to its reference; an `[rl]` training run writes round
//! metrics and checkpoints and resumes bit for bit; bad `[rl]` configs are refused.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use praxis_core::checkpoint;
use praxis_core::data::Dataset;
use praxis_core::device::{self, Backend};
use praxis_core::model::params::named_params;
use praxis_core::model::{Policy, Tokenizer};
use praxis_core::sim::Suite;
use praxis_core::train::recipes::dpo;
use praxis_core::train::recipes::ppo::{self, PpoOptions};
use praxis_core::train::recipes::rollouts::{self, Decision, RolloutOptions, Trajectory};
use praxis_core::train::run::RunDir;
use praxis_core::train::{self, Chunks, Learner, Surrogate, TrainConfig, TrainOutcome};
use rand::SeedableRng;

mod common;

const REACH: [&str; 2] = ["reach-purple", "reach-yellow"];

fn record(dir: &Path, episodes: usize) -> std::path::PathBuf {
    common::teacher_demos(&dir.join("demos"), "goal", episodes, 0.05, 3)
}

/// An xs bins-head learner after a little imitation, so that rollouts of the reach tasks
/// have mixed outcomes.
fn imitated(dir: &Path) -> (Learner, Tokenizer) {
    common::imitated_xs_bins(Dataset::open(&record(dir, 14)).unwrap())
}

fn sample(
    learner: &Learner,
    tokenizer: &Tokenizer,
    starts: usize,
    group: usize,
) -> Vec<Trajectory> {
    let suite = Suite::builtin("goal").unwrap();
    let tasks: Vec<String> = REACH.iter().map(|t| t.to_string()).collect();
    rollouts::sample(
        &learner.policy(),
        tokenizer,
        &suite,
        &rollouts::starts(&tasks, starts, 500),
        &RolloutOptions {
            group_size: group,
            ..RolloutOptions::default()
        },
        9,
    )
    .unwrap()
}

/// Log-probability of each decision's credited values under `policy`.
fn log_probs(policy: &Policy, tokenizer: &Tokenizer, decisions: &[&Decision]) -> Vec<f32> {
    let (batch, actions, mask) = rollouts::update_inputs(policy, tokenizer, decisions).unwrap();
    rollouts::chunk_log_probs(policy, &batch, &actions, &mask).unwrap()
}

#[test]
fn sampled_log_probabilities_match_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let (learner, tokenizer) = imitated(dir.path());
    let trajectories = sample(&learner, &tokenizer, 2, 2);
    let decisions: Vec<&Decision> = trajectories.iter().flat_map(|t| &t.decisions).collect();
    let recomputed = log_probs(&learner.policy(), &tokenizer, &decisions);
    for (d, lp) in decisions.iter().zip(recomputed) {
        let sampled = d.log_prob(8);
        assert!((sampled - lp).abs() < 1e-3, "{sampled} vs {lp}");
        assert!(d.action_dims == 3 && d.executed >= 1);
    }
}

#[test]
fn ppo_fits_its_values_and_favours_positive_advantages() {
    let dir = tempfile::tempdir().unwrap();
    let (learner, tokenizer) = imitated(dir.path());
    let mut learner = learner.with_value_head(1);
    let mut trajectories = sample(&learner, &tokenizer, 4, 4);
    let policy = learner.policy();
    let decisions: Vec<&Decision> = trajectories.iter().flat_map(|t| &t.decisions).collect();
    let (batch, actions, mask) = rollouts::update_inputs(&policy, &tokenizer, &decisions).unwrap();
    let values = learner.values(&batch).unwrap();
    let options = PpoOptions::default();
    let returns = ppo::assign_advantages(&mut trajectories, &values, &options);
    let decisions: Vec<&Decision> = trajectories.iter().flat_map(|t| &t.decisions).collect();
    let old_values: Vec<f32> = decisions
        .iter()
        .flat_map(|d| d.value_log_probs.iter().copied())
        .collect();
    let old: Vec<f32> = decisions.iter().map(|d| d.log_prob(8)).collect();
    let adv: Vec<f32> = decisions.iter().map(|d| d.advantage).collect();
    let chunks = Chunks {
        batch: &batch,
        actions: &actions,
        mask: &mask,
    };
    let surrogate = Surrogate::new(&old_values, &adv, 0.2, 1.0)
        .with_value_targets(&returns, options.value_weight);
    let mut value_losses = Vec::new();
    for _ in 0..12 {
        let outcome = learner
            .clipped_policy_step(chunks, surrogate, 1e-3, None)
            .unwrap();
        let term = |name| {
            outcome
                .auxiliary
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap()
                .1
        };
        value_losses.push(term("value_loss"));
        assert!(term("clip_fraction") <= 1.0 && term("approx_kl") >= 0.0);
    }
    assert!(
        value_losses[11] < 0.5 * value_losses[0],
        "value loss {value_losses:?}"
    );
    let after = log_probs(&learner.policy(), &tokenizer, &decisions);
    let change = |positive: bool| {
        let picked: Vec<f32> = (0..decisions.len())
            .filter(|&i| (adv[i] > 0.0) == positive)
            .map(|i| after[i] - old[i])
            .collect();
        picked.iter().sum::<f32>() / picked.len().max(1) as f32
    };
    let (up, down) = (change(true), change(false));
    assert!(
        up > down + 0.05,
        "log-probability change: A>0 {up:+.3}, A<0 {down:+.3}"
    );
}

#[test]
fn dpo_makes_chosen_rollouts_likelier_than_rejected_relative_to_its_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (mut learner, tokenizer) = imitated(dir.path());
    let reference = learner.policy();
    let trajectories = sample(&learner, &tokenizer, 6, 4);
    let pairs = dpo::pairs(&trajectories, 6, 0.05);
    assert!(pairs.len() >= 3, "only {} pairs", pairs.len());
    // Every decision of the paired trajectories, chosen then rejected, per pair.
    let margin = |policy: &Policy| -> f32 {
        let mean = |t: usize| {
            let d: Vec<&Decision> = trajectories[t].decisions.iter().collect();
            let lp = log_probs(policy, &tokenizer, &d);
            let rf = log_probs(&reference, &tokenizer, &d);
            lp.iter().zip(&rf).map(|(a, b)| a - b).sum::<f32>() / d.len() as f32
        };
        pairs
            .iter()
            .map(|p| mean(p.chosen) - mean(p.rejected))
            .sum::<f32>()
            / pairs.len() as f32
    };
    assert!(margin(&learner.policy()).abs() < 1e-4);
    let per = 4;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let mut losses = Vec::new();
    for _ in 0..10 {
        let slots = dpo::draw_decisions(&trajectories, &pairs, per, &mut rng);
        let decisions: Vec<&Decision> = slots
            .iter()
            .map(|&(t, d)| &trajectories[t].decisions[d])
            .collect();
        let (batch, actions, mask) =
            rollouts::update_inputs(&reference, &tokenizer, &decisions).unwrap();
        let ref_lp = rollouts::chunk_log_probs(&reference, &batch, &actions, &mask).unwrap();
        let chunks = Chunks {
            batch: &batch,
            actions: &actions,
            mask: &mask,
        };
        let outcome = learner
            .dpo_step(
                chunks,
                &ref_lp,
                &dpo::pair_matrix(pairs.len(), per),
                pairs.len(),
                0.5,
                1e-3,
                None,
            )
            .unwrap();
        losses.push(outcome.loss);
    }
    assert!(
        (losses[0] - 2f32.ln()).abs() < 0.05,
        "starts at log 2: {losses:?}"
    );
    assert!(losses[9] < 0.8 * losses[0], "preference loss {losses:?}");
    let m = margin(&learner.policy());
    assert!(m > 0.1, "chosen-minus-rejected log-ratio margin {m}");
}

fn rl_config(dir: &Path, method: &str, extra: &str) -> TrainConfig {
    let text = format!(
        "seed = 5\nsteps = 6\nbatch_size = 4\ncheckpoint_every = 2\nlog_every = 1\n\
         [model]\npreset = \"xs\"\nhead = \"bins\"\n[data]\ndatasets = [\"demos\"]\n\
         [schedule]\nlr = 0.001\nwarmup_steps = 1\n\
         [rl]\nmethod = \"{method}\"\nsuite = \"goal\"\ntasks = [\"reach-purple\"]\nstarts = 2\n\
         group_size = 3\nupdates_per_round = 2\nminibatch = 8\nbc_weight = 0.5\n{extra}\n"
    );
    TrainConfig::from_toml(&text, "rl.toml", dir).unwrap()
}

/// A temporary directory holding the 3 recorded `goal` demonstrations [`rl_config`] names.
fn dir_with_demos() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 3);
    dir
}

/// Trains `cfg` into `out` on the CPU to its last step, uninterrupted.
fn train_on_flex(out: &Path, cfg: &TrainConfig) -> TrainOutcome {
    let flex = device::open(Backend::Flex).unwrap();
    train::train(out, cfg, &flex, &AtomicBool::new(false), |_| {}).unwrap()
}

#[test]
fn an_rl_run_logs_its_rounds_and_resumes_bit_identical() {
    let dir = dir_with_demos();
    let cfg = rl_config(dir.path(), "dpo", "dpo = { decisions_per_trajectory = 2 }");
    let flex = device::open(Backend::Flex).unwrap();

    let straight = dir.path().join("straight");
    let outcome = train_on_flex(&straight, &cfg);
    assert_eq!((outcome.step, outcome.interrupted), (6, false));
    let metrics = RunDir::open(&straight).unwrap().metrics().unwrap();
    let rounds: Vec<u64> = metrics
        .iter()
        .filter_map(|m| m.rl.as_ref().map(|r| r.round))
        .collect();
    assert_eq!(rounds, vec![0, 1, 2], "one round line per round");
    let first = metrics[1].rl.as_ref().unwrap();
    assert_eq!(first.rollouts, 6);
    assert!(first.rollout_steps > 0 && first.decisions > 0);
    // per task, the share of the round's rollouts that succeeded: the one task practised
    let tasks: Vec<&String> = first.task_success.keys().collect();
    assert_eq!(tasks, vec!["reach-purple"]);
    assert_eq!(first.task_success["reach-purple"], first.success_rate);

    let split = dir.path().join("split");
    let stop = AtomicBool::new(false);
    let outcome = train::train(&split, &cfg, &flex, &stop, |p| {
        if p.step == 3 {
            stop.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    // the stop is honoured at the next round boundary
    assert_eq!((outcome.step, outcome.interrupted), (4, true));
    let outcome = train::resume(&split, &flex, &AtomicBool::new(false), |_| {}).unwrap();
    assert_eq!((outcome.step, outcome.interrupted), (6, false));
    let weights = |run: &Path| {
        let latest = RunDir::open(run).unwrap().latest().unwrap().unwrap();
        named_params(&checkpoint::load(&latest, &Device::flex()).unwrap().policy)
    };
    let (a, b) = (weights(&straight), weights(&split));
    let differing: Vec<&str> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.values != y.values)
        .map(|(x, _)| x.name.as_str())
        .collect();
    assert!(
        differing.is_empty(),
        "params differ after resume: {differing:?}"
    );
}

#[test]
fn grpo_and_ppo_runs_train_through_the_trainer() {
    let dir = dir_with_demos();
    // GRPO with its KL penalty to the starting policy (which the trainer then loads), on the
    // progress reward so that the untrained policy's groups carry a signal
    for (method, extra) in [("grpo", "kl = 0.04\nreward = \"progress\"\n"), ("ppo", "")] {
        let cfg = rl_config(dir.path(), method, extra);
        let out = dir.path().join(method);
        let outcome = train_on_flex(&out, &cfg);
        assert_eq!(outcome.step, 6, "{method}");
        let metrics = RunDir::open(&out).unwrap().metrics().unwrap();
        assert_eq!(
            metrics.iter().filter(|m| m.rl.is_some()).count(),
            3,
            "{method}"
        );
        let logs = |term: &str| metrics.iter().any(|m| m.auxiliary.contains_key(term));
        if method == "ppo" {
            assert!(logs("value_loss"), "PPO logs its value loss");
        } else {
            assert!(
                logs("kl_reference"),
                "GRPO with rl.kl logs its KL to the reference"
            );
        }
    }
}

#[test]
fn a_pass_trains_on_every_signal_decision_of_a_round_once() {
    let dir = dir_with_demos();
    // the progress reward, so that the untrained policy's groups carry a signal
    let covered = |draw: &str| {
        let cfg = rl_config(
            dir.path(),
            "grpo",
            &format!("reward = \"progress\"\ndraw = \"{draw}\"\n"),
        );
        let out = dir.path().join(draw);
        train_on_flex(&out, &cfg);
        let metrics = RunDir::open(&out).unwrap().metrics().unwrap();
        let rounds: Vec<(usize, usize)> = metrics
            .iter()
            .filter_map(|m| m.rl.as_ref().map(|r| (r.trained_on, r.signal_decisions)))
            .collect();
        assert_eq!(rounds.len(), 3, "{draw}");
        rounds
    };
    // two updates of 8 random draws see at most 16 decisions of a round; a pass sees them all
    for (trained_on, signal) in covered("sample") {
        assert!(signal > 16 && trained_on <= 16, "{trained_on} of {signal}");
    }
    for (trained_on, signal) in covered("pass") {
        assert!(
            signal > 16 && trained_on == signal,
            "{trained_on} of {signal}"
        );
    }
}

#[test]
fn a_pass_with_fewer_decisions_than_updates_skips_none() {
    let dir = dir_with_demos();
    // one round of 150 updates over the few dozen decisions of 2 starts × 3 rollouts
    let mut cfg = rl_config(
        dir.path(),
        "grpo",
        "reward = \"progress\"\ndraw = \"pass\"\n",
    );
    cfg.steps = 150;
    cfg.checkpoint_every = 150;
    cfg.log_every = 150;
    cfg.rl.as_mut().unwrap().updates_per_round = 150;
    let out = dir.path().join("pass");
    train_on_flex(&out, &cfg);
    let metrics = RunDir::open(&out).unwrap().metrics().unwrap();
    let last = metrics.last().unwrap();
    let round = last.rl.as_ref().unwrap();
    assert!(
        round.signal_decisions > 0 && round.signal_decisions < 150,
        "{} signal decisions",
        round.signal_decisions
    );
    assert_eq!(round.trained_on, round.signal_decisions);
    assert_eq!(last.skipped, 0, "every update took a decision");
}

#[test]
fn bad_rl_configs_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = |rl: &str, head: &str| {
        format!(
            "steps = 4\n[model]\npreset = \"xs\"\nhead = \"{head}\"\n[rl]\nsuite = \"goal\"\n{rl}\n"
        )
    };
    let parse = |t: String| TrainConfig::from_toml(&t, "rl.toml", dir.path()).map(|_| ());
    for (rl, needle) in [
        ("method = \"sac\"", "unknown variant"),
        ("method = \"grpo\"\ngroup_size = 1", "group_size"),
        ("method = \"grpo\"\ntasks = [\"fly\"]", "no task `fly`"),
        (
            "method = \"dpo\"\nbc_weight = 1.0",
            "bc_weight needs demonstrations",
        ),
        ("method = \"ppo\"\nclip = 2.0", "clip"),
        ("method = \"grpo\"\nvariations = [\"fog\"]", "fog"),
        (
            "method = \"ppo\"\nreward = \"progress\"",
            "rl.reward = \"progress\" is a GRPO setting",
        ),
        (
            "method = \"grpo\"\nreward = \"distance\"",
            "unknown variant",
        ),
        (
            "method = \"dpo\"\ndraw = \"pass\"",
            "rl.draw = \"pass\" is a GRPO and PPO setting",
        ),
        ("method = \"grpo\"\ndraw = \"all\"", "unknown variant"),
        ("method = \"grpo\"\nkl = -0.1", "rl.kl must be 0 or more"),
        (
            "method = \"dpo\"\nkl = 0.04",
            "rl.kl is a GRPO and PPO setting",
        ),
    ] {
        let err = parse(text(rl, "bins")).unwrap_err().to_string();
        assert!(err.contains(needle) && !err.contains('\n'), "{rl}: {err}");
    }
    // a head without log-probabilities is refused before the run directory exists
    let cfg =
        TrainConfig::from_toml(&text("method = \"grpo\"", "l1"), "rl.toml", dir.path()).unwrap();
    let out = dir.path().join("run");
    let flex = device::open(Backend::Flex).unwrap();
    let err = train::train(&out, &cfg, &flex, &AtomicBool::new(false), |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("bins head"), "{err}");
    assert!(!out.exists());
}
