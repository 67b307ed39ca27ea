//! End-to-end tests of the `praxis` program: help, devices, bad input and the model benchmark.

use std::path::Path;
use std::process::{Command, Output};

fn praxis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_praxis"))
        .args(args)
        .env_remove("BURN_DEVICE")
        .output()
        .expect("the praxis binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts a failure with exit status 2 and exactly one line on stderr starting `error:`.
fn assert_one_line_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
}

#[test]
fn help_lists_the_subcommands() {
    let out = praxis(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for sub in ["devices", "init", "export", "bench"] {
        assert!(text.contains(sub), "--help does not list {sub}: {text}");
    }
}

#[test]
fn devices_lists_the_cpu() {
    let out = praxis(&["devices"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("compiled backends: flex"));
    let out = praxis(&["devices", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|d| d["backend"] == "flex")
    );
}

#[test]
fn unknown_or_missing_backends_are_one_line_errors() {
    let out = praxis(&["--backend", "tpu", "bench", "model", "--preset", "xs"]);
    assert_one_line_error(&out, "unknown backend 'tpu' (this build has: flex");
    if !cfg!(feature = "cuda") {
        let out = praxis(&["--backend", "cuda", "bench", "model", "--preset", "xs"]);
        assert_one_line_error(&out, "'cuda' is not compiled into this build");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_praxis"))
        .args(["bench", "model", "--preset", "xs"])
        .env("BURN_DEVICE", "opencl")
        .output()
        .unwrap();
    assert_one_line_error(&out, "unknown backend 'opencl'");
}

#[test]
fn unknown_preset_and_head_are_one_line_errors() {
    assert_one_line_error(
        &praxis(&["bench", "model", "--preset", "xxl"]),
        "unknown preset 'xxl'",
    );
    assert_one_line_error(
        &praxis(&["bench", "model", "--preset", "xs", "--heads", "l2"]),
        "unknown action head 'l2'",
    );
}

#[test]
fn checkpoint_commands_reject_bad_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out_file = dir.path().join("w.safetensors");
    let out = praxis(&[
        "export",
        "--checkpoint",
        missing.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "not found");
    assert!(!out_file.exists());

    // a real checkpoint, then a truncated copy of it
    let good = dir.path().join("good");
    let out = praxis(&[
        "init",
        "--preset",
        "xs",
        "--head",
        "flow",
        "--out",
        good.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for entry in std::fs::read_dir(&good).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        let keep = if entry.file_name() == "model.bpk" {
            bytes.len() - 100
        } else {
            bytes.len()
        };
        std::fs::write(bad.join(entry.file_name()), &bytes[..keep]).unwrap();
    }
    let out = praxis(&[
        "export",
        "--checkpoint",
        bad.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "model.bpk is truncated");
    assert!(!out_file.exists());

    let out = praxis(&[
        "export",
        "--checkpoint",
        good.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out_file.exists());
    assert_no_temporaries(dir.path());
}

fn assert_no_temporaries(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "left a temporary: {name}");
    }
}

#[test]
fn bench_model_prints_a_table_and_json_on_the_last_line() {
    let out = praxis(&[
        "bench",
        "model",
        "--preset",
        "xs",
        "--batch",
        "4",
        "--steps",
        "1",
        "--inferences",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let last = text.lines().last().unwrap();
    let report: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(report["backend"], "flex");
    assert_eq!(report["heads"].as_array().unwrap().len(), 3);
    for head in report["heads"].as_array().unwrap() {
        assert!(head["train_samples_per_s"].as_f64().unwrap() > 0.0);
        assert!(head["infer_ms_median"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(report["system"]["burn"], "0.22.1");
}

/// `praxis demos --teacher-smoothing` records with the smoothed teacher and says so in the
/// dataset's meta; a radius that is not a number from 0 to 0.1 m is refused in one line.
#[test]
fn demos_record_a_smoothed_teacher_and_refuse_a_bad_radius() {
    let dir = tempfile::tempdir().unwrap();
    let demos = dir.path().join("demos");
    let args = |radius: &str| {
        vec![
            "demos".to_string(),
            "--suite".into(),
            "goal".into(),
            "--episodes".into(),
            "2".into(),
            "--teacher-smoothing".into(),
            radius.into(),
            "--out".into(),
            demos.to_str().unwrap().into(),
        ]
    };
    let run = |radius: &str| {
        let args = args(radius);
        praxis(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_one_line_error(&run("NaN"), "--teacher-smoothing");
    assert_one_line_error(&run("0.5"), "between 0 and 0.1, not 0.5");
    assert!(!demos.exists(), "a refused call wrote {}", demos.display());
    let out = run("0.0083");
    assert!(out.status.success(), "{}", stderr(&out));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demos.join("meta.json")).unwrap()).unwrap();
    let radius = meta["teacher_smoothing"].as_f64().unwrap();
    assert!((radius - 0.0083).abs() < 1e-6, "{meta}");
}

#[test]
fn demos_train_and_eval_run_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let demos = dir.path().join("demos");
    let out = praxis(&[
        "demos",
        "--suite",
        "goal",
        "--episodes",
        "3",
        "--out",
        demos.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let config = dir.path().join("train.toml");
    std::fs::write(
        &config,
        "steps = 4\nbatch_size = 4\ncheckpoint_every = 2\n[model]\npreset = \"xs\"\n\
         [data]\ndatasets = [\"demos\"]\n",
    )
    .unwrap();
    let run = dir.path().join("run");
    let out = praxis(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run.join("config.toml").is_file() && run.join("metrics.jsonl").is_file());
    let ckpt = run.join("checkpoints/step-0000004");
    let out = praxis(&[
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--suite",
        "goal",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval-goal.json")).unwrap()).unwrap();
    assert_eq!(report["episodes"], 70);
    let rate = report["success_rate"].as_f64().unwrap();
    let ci = report["ci95"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= rate && rate <= ci[1].as_f64().unwrap());
    assert!(stdout(&out).contains("| task | success |"));

    // a run that records its own demonstrations
    std::fs::write(
        &config,
        "steps = 2\nbatch_size = 2\n[model]\npreset = \"xs\"\n\
         [data.record]\nsuite = \"spatial\"\nepisodes = 2\n",
    )
    .unwrap();
    let run3 = dir.path().join("run3");
    let out = praxis(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run3.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run3.join("data/spatial/meta.json").is_file());
    let saved = std::fs::read_to_string(run3.join("config.toml")).unwrap();
    assert!(
        !saved.contains("[data.record]"),
        "a resume must not record again: {saved}"
    );

    // bad config keys and an unknown suite are one-line errors
    std::fs::write(
        &config,
        "steps = 4\nlearning_rate = 1\n[model]\n[data]\ndatasets = []\n",
    )
    .unwrap();
    let out = praxis(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        dir.path().join("run2").to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "learning_rate");
    let out = praxis(&[
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--suite",
        "kitchen",
    ]);
    assert_one_line_error(&out, "kitchen");
}

/// A tiny xs curriculum whose first gate cannot open, so the CLI's steering is visible.
const TINY_CURRICULUM: &str = r#"
name = "tiny"
suite = "goal"
preset = "xs"
batch_size = 8
eval_every = 10
demos = 14
[[stages]]
name = "cognitive"
signals = { imitation = 1.0 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 20
success = 1.0
min_episodes = 20
[[stages]]
name = "associative"
signals = { imitation = 0.5, replay = 0.5 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 20
success = 1.0
min_episodes = 20
"#;

#[test]
fn curriculum_commands_run_step_advance_and_rewind() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tiny.toml");
    std::fs::write(&file, TINY_CURRICULUM).unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    // the first stage spends its budget with its gate shut and waits (on_budget = "stop")
    let out = praxis(&[
        "curriculum",
        "run",
        "--curriculum",
        file.to_str().unwrap(),
        "--out",
        run_s,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("spent its budget"),
        "{}",
        stdout(&out)
    );
    let status = stdout(&praxis(&["curriculum", "status", run_s]));
    assert!(status.contains("step 20; stage 1 (cognitive)"), "{status}");
    // the timeline gives the stage's wall time, read from the event log's times
    assert!(
        status
            .lines()
            .any(|l| l.contains("stage 1 cognitive") && l.trim_end().ends_with(" min")),
        "{status}"
    );
    // a person promotes it, trains 10 updates, then rewinds to update 10 of stage 1
    let advanced = stdout(&praxis(&["curriculum", "advance", run_s]));
    assert!(advanced.contains("stage 2 (associative)"), "{advanced}");
    let stepped = stdout(&praxis(&["curriculum", "step", run_s, "10"]));
    assert!(stepped.contains("step 30; stage 2"), "{stepped}");
    let rewound = stdout(&praxis(&["curriculum", "rewind", run_s, "--to", "10"]));
    assert!(
        rewound.contains("step 10; stage 1 (cognitive)"),
        "{rewound}"
    );
    // bad input: a step the run has no checkpoint for, a directory that is not a run
    assert_one_line_error(
        &praxis(&["curriculum", "rewind", run_s, "--to", "7"]),
        "no checkpoint at step 7",
    );
    assert_one_line_error(
        &praxis(&["curriculum", "status", dir.path().to_str().unwrap()]),
        "not a run directory",
    );
}

#[test]
fn bench_rl_reports_rollout_and_update_rates() {
    let out = praxis(&[
        "bench",
        "rl",
        "--preset",
        "xs",
        "--groups",
        "2",
        "--group-size",
        "2",
        "--batch-size",
        "8",
        "--updates",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("| rollouts ("), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(text.trim_end().lines().last().unwrap()).unwrap();
    assert_eq!(json["rollouts"], 4);
    assert!(json["rollout_steps"].as_u64().unwrap() > 0);
    assert!(json["rollout_steps_per_s"].as_f64().unwrap() > 0.0);
    assert!(json["updates_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn report_ablates_the_curriculum_at_equal_compute() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tiny.toml");
    std::fs::write(&file, TINY_CURRICULUM).unwrap();
    let out_dir = dir.path().join("ablation");
    let args = [
        "report",
        "--curriculum",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--scale",
        "0.5",
    ];
    let out = praxis(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = std::fs::read_to_string(out_dir.join("curriculum-ablation.md")).unwrap();
    // every variant ran 2 × (20 × 0.5) updates; gates that never open did not stop them
    for row in [
        "| staged | cognitive → associative | 20 |",
        "| all-at-once | all-at-once | 20 |",
        "| reversed | associative → cognitive | 20 |",
    ] {
        assert!(table.contains(row), "missing '{row}' in:\n{table}");
    }
    assert_eq!(stdout(&out), table);
    for variant in ["staged", "all-at-once", "reversed"] {
        assert!(out_dir.join(variant).join("ablation.json").is_file());
        assert_no_temporaries(&out_dir.join(variant));
    }
    // a second call reuses the finished variants and prints the same table
    let again = praxis(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), table);
    // bad input, refused before anything trains
    assert_one_line_error(
        &praxis(&[
            "report",
            "--curriculum",
            file.to_str().unwrap(),
            "--out",
            dir.path().join("x").to_str().unwrap(),
            "--scale",
            "0",
        ]),
        "--scale must be in (0, 10]",
    );
    assert!(!dir.path().join("x").exists());
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, TINY_CURRICULUM.replace("replay", "telepathy")).unwrap();
    assert_one_line_error(
        &praxis(&[
            "report",
            "--curriculum",
            bad.to_str().unwrap(),
            "--out",
            dir.path().join("y").to_str().unwrap(),
        ]),
        "unknown recipe 'telepathy'",
    );
    assert!(!dir.path().join("y").exists());
}

#[test]
fn lerobot_datasets_are_written_trained_on_and_evaluated_open_loop() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lerobot");
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let out = praxis(&[
        "demos",
        "--suite",
        "goal",
        "--episodes",
        "4",
        "--format",
        "lerobot",
        "--camera",
        "png",
        "--out",
        &path(&data),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("LeRobot v3.0"), "{}", stdout(&out));
    assert!(data.join("meta/info.json").is_file());
    assert_no_temporaries(dir.path());
    // Never over an existing directory.
    let again = praxis(&[
        "demos",
        "--suite",
        "goal",
        "--episodes",
        "1",
        "--format",
        "lerobot",
        "--out",
        &path(&data),
    ]);
    assert_one_line_error(&again, "already exists");

    // Train on it; the checkpoint keeps the mapping, and eval --dataset uses it.
    std::fs::write(
        dir.path().join("train.toml"),
        "steps = 3\nbatch_size = 4\ncheckpoint_every = 3\n[model]\npreset = \"xs\"\n\
         [data.lerobot]\ndir = \"lerobot\"\nheld_out_episodes = 1\n",
    )
    .unwrap();
    let run = dir.path().join("run");
    let out = praxis(&[
        "train",
        "--config",
        &path(&dir.path().join("train.toml")),
        "--out",
        &path(&run),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ckpt = run.join("checkpoints/step-0000003");
    let meta = std::fs::read_to_string(ckpt.join("meta.json")).unwrap();
    assert!(meta.contains("data_mapping") && meta.contains("observation.images.front"));
    // The run and its checkpoints name the CPU they ran on.
    let info = std::fs::read_to_string(run.join("run.json")).unwrap();
    assert!(
        info.contains("\"cpu\":") && meta.contains("\"cpu\":"),
        "{info}"
    );
    let out = praxis(&[
        "eval",
        "--checkpoint",
        &path(&ckpt),
        "--dataset",
        &path(&data),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("held-out split, 1 episodes"),
        "{}",
        stdout(&out)
    );
    // The simulator is not the dataset's robot.
    let out = praxis(&["eval", "--checkpoint", &path(&ckpt), "--suite", "goal"]);
    assert_one_line_error(&out, "--dataset");
    let out = praxis(&[
        "eval",
        "--checkpoint",
        &path(&ckpt),
        "--dataset",
        &path(&data),
        "--episodes",
        "some",
    ]);
    assert_one_line_error(&out, "unknown episode split");

    // An older dataset version names LeRobot's conversion.
    let info = data.join("meta/info.json");
    let text = std::fs::read_to_string(&info).unwrap();
    std::fs::write(&info, text.replace("\"v3.0\"", "\"v2.1\"")).unwrap();
    let out = praxis(&[
        "eval",
        "--checkpoint",
        &path(&ckpt),
        "--dataset",
        &path(&data),
    ]);
    assert_one_line_error(&out, "convert_dataset_v21_to_v30");
    let out = praxis(&[
        "train",
        "--config",
        &path(&dir.path().join("train.toml")),
        "--out",
        &path(&dir.path().join("run2")),
    ]);
    assert_one_line_error(&out, "v2.1");
    assert!(!dir.path().join("run2").exists());
}

/// A tiny recipe protocol: imitation, GRPO on top of it, and a one-stage curriculum, on xs.
fn tiny_protocol(dir: &Path) -> std::path::PathBuf {
    let imitation = r#"
steps = 8
batch_size = 8
checkpoint_every = 8
[model]
preset = "xs"
head = "bins"
[data.record]
suite = "goal"
episodes = 6
"#;
    let grpo = r#"
steps = 2
batch_size = 8
checkpoint_every = 2
[model]
preset = "xs"
head = "bins"
[rl]
method = "grpo"
suite = "goal"
tasks = ["reach-purple"]
starts = 2
group_size = 2
updates_per_round = 2
minibatch = 8
"#;
    let curriculum = r#"
name = "one-stage"
suite = "goal"
preset = "xs"
batch_size = 8
eval_every = 10
demos = 7
[[stages]]
name = "cognitive"
signals = { imitation = 1.0 }
[stages.gate]
budget = 10
success = 1.0
min_episodes = 20
"#;
    let protocol = r#"
name = "tiny"
description = "three runs on xs"
[[runs]]
name = "imitation"
recipe = "imitation"
category = "baseline"
config = "imitation.toml"
eval = [{ suite = "goal" }]
[[runs]]
name = "grpo"
recipe = "GRPO"
category = "multi-component integration"
config = "grpo.toml"
init_from = "imitation"
baseline = "imitation"
eval = [{ suite = "goal" }]
note = "two updates of RL on top of imitation"
[[runs]]
name = "curriculum"
recipe = "one stage"
category = "baseline"
curriculum = "curriculum.toml"
baseline = "imitation"
eval = [{ suite = "goal" }, { suite = "goal", variations = ["lighting"] }]
"#;
    for (name, text) in [
        ("imitation.toml", imitation),
        ("grpo.toml", grpo),
        ("curriculum.toml", curriculum),
        ("protocol.toml", protocol),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.join("protocol.toml")
}

/// `praxis report --recipes PROTOCOL --out OUT_DIR` followed by `extra`.
fn report(protocol: &Path, out_dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "report",
        "--recipes",
        protocol.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    praxis(&args)
}

#[test]
fn report_measures_recipes_against_their_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let protocol = tiny_protocol(dir.path());
    let out_dir = dir.path().join("report");
    let args = [
        "report",
        "--recipes",
        protocol.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let out = praxis(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = std::fs::read_to_string(out_dir.join("recipes.md")).unwrap();
    assert_eq!(stdout(&out), table);
    for row in [
        "| imitation | baseline | goal | ",
        "| GRPO | multi-component integration | goal | ",
        "| one stage | baseline | goal (lighting) | ",
    ] {
        assert!(table.contains(row), "missing '{row}' in:\n{table}");
    }
    assert!(
        table.contains("two updates of RL on top of imitation"),
        "{table}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("recipes.json")).unwrap())
            .unwrap();
    let runs = results.as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["updates"], 8);
    assert_eq!(runs[1]["updates"], 2);
    assert_eq!(runs[2]["updates"], 10);
    // imitation recorded its demonstrations; GRPO labelled nothing; the curriculum recorded its own
    assert!(runs[0]["teacher_labels"].as_u64().unwrap() > 0);
    assert_eq!(runs[1]["teacher_labels"], 0);
    assert!(runs[2]["teacher_labels"].as_u64().unwrap() > 0);
    for name in ["imitation", "grpo", "curriculum"] {
        assert!(
            out_dir
                .join(name)
                .join("seed-0")
                .join("result.json")
                .is_file()
        );
    }
    // a second call reuses every finished run and prints the same table, whatever comments
    // a file gained meanwhile
    let curriculum = dir.path().join("curriculum.toml");
    let mut text = std::fs::read_to_string(&curriculum).unwrap();
    text.insert_str(0, "# measured: see the report\n");
    std::fs::write(&curriculum, text).unwrap();
    let again = praxis(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), table);
    assert!(!stderr(&again).contains("note:"), "{}", stderr(&again));
    // a finished pair trained on another CPU is reused with a warning that counts it, and the
    // table names both CPUs
    let curriculum_result = out_dir
        .join("curriculum")
        .join("seed-0")
        .join("result.json");
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&curriculum_result).unwrap()).unwrap();
    saved["cpu"] = "another CPU".into();
    std::fs::write(&curriculum_result, saved.to_string()).unwrap();
    let mixed = praxis(&args);
    assert!(mixed.status.success(), "{}", stderr(&mixed));
    assert!(
        stderr(&mixed)
            .contains("note: 1 of the 3 finished pairs reused here were trained on another CPU"),
        "{}",
        stderr(&mixed)
    );
    assert!(
        stdout(&mixed).contains("another CPU: 1 pair"),
        "{}",
        stdout(&mixed)
    );
    // --table shows a report in progress without training what is missing
    let grpo_result = out_dir.join("grpo").join("seed-0").join("result.json");
    std::fs::remove_file(&grpo_result).unwrap();
    let mut table_args = args.to_vec();
    table_args.push("--table");
    let partial = praxis(&table_args);
    assert!(partial.status.success(), "{}", stderr(&partial));
    let partial = stdout(&partial);
    assert!(
        partial.contains("2 of 3 (run, seed) pairs finished; 1 still to train"),
        "{partial}"
    );
    assert!(
        partial.contains("| imitation | baseline | goal | "),
        "{partial}"
    );
    assert!(!partial.contains("| GRPO |"), "{partial}");
    assert!(!grpo_result.exists());
    assert_eq!(
        std::fs::read_to_string(out_dir.join("recipes-partial.md")).unwrap(),
        partial
    );
    // --only keeps the named runs and what they start from or are compared with
    table_args.extend(["--only", "grpo"]);
    let only = stdout(&praxis(&table_args));
    assert!(
        only.contains("1 of 2 (run, seed) pairs finished; 1 still to train"),
        "{only}"
    );
    assert!(!only.contains("| one stage |"), "{only}");
    *table_args.last_mut().unwrap() = "grpo,nope";
    assert_one_line_error(&praxis(&table_args), "no run named `nope` in the protocol");
    let missing = dir.path().join("no-such-report");
    assert_one_line_error(
        &report(&protocol, &missing, &["--table"]),
        "no report directory",
    );
    assert!(!missing.exists());
    // bad protocols are refused before anything trains
    let text = std::fs::read_to_string(&protocol).unwrap();
    for (broken, needle) in [
        (
            text.replace(
                "baseline = \"imitation\"\neval = [{ suite = \"goal\" }]\nnote",
                "baseline = \"oracle\"\neval = [{ suite = \"goal\" }]\nnote",
            ),
            "baseline `oracle` is not a run",
        ),
        (
            text.replace(
                "baseline = \"imitation\"\neval = [{ suite = \"goal\" }]\nnote",
                "baseline = \"imitation\"\neval = [{ suite = \"goal\" }]\nbaseline_eval = { suite = \"long\" }\nnote",
            ),
            "baseline_eval `long` is not an eval target of its baseline",
        ),
        (
            text.replace("init_from = \"imitation\"", "init_from = \"curriculum\""),
            "not an earlier run",
        ),
        (
            text.replace("config = \"grpo.toml\"", "config = \"missing.toml\""),
            "missing.toml",
        ),
        (
            text.replace(
                "suite = \"goal\", variations",
                "suite = \"kitchen\", variations",
            ),
            "kitchen",
        ),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, broken).unwrap();
        let fresh = dir.path().join("fresh");
        assert_one_line_error(
            &report(&bad, &fresh, &[]),
            needle,
        );
        assert!(!fresh.exists());
    }
    // a finished run whose config changed since is refused, not reused, and stays on disk
    let imitation = dir.path().join("imitation.toml");
    let text = std::fs::read_to_string(&imitation).unwrap();
    std::fs::write(&imitation, text.replace("steps = 8", "steps = 9")).unwrap();
    let result = out_dir.join("imitation").join("seed-0").join("result.json");
    let before = std::fs::read(&result).unwrap();
    assert_one_line_error(&praxis(&args), "another version of its config");
    assert_eq!(std::fs::read(&result).unwrap(), before);
}

/// The losses a run logged, in order.
fn logged_losses(run_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run_dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["loss"].clone())
        .collect()
}

#[test]
fn report_jobs_train_side_by_side_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let protocol = tiny_protocol(dir.path());
    // on all threads, so that two jobs change how many threads each training gets
    for name in ["imitation.toml", "grpo.toml", "curriculum.toml"] {
        let file = dir.path().join(name);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("deterministic = false\n{text}")).unwrap();
    }
    let train = |jobs: &str| {
        let out_dir = dir.path().join(format!("report-{jobs}"));
        let out = report(&protocol, &out_dir, &["--jobs", jobs]);
        assert!(out.status.success(), "{}", stderr(&out));
        (out_dir, stdout(&out))
    };
    let (one, _) = train("1");
    let (two, table) = train("2");
    assert!(table.contains("trained side by side"), "{table}");
    let results = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("recipes.json")).unwrap()).unwrap()
    };
    let (a, b) = (results(&one), results(&two));
    for (x, y) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
        for field in ["run", "updates", "teacher_labels", "targets", "params"] {
            assert_eq!(x[field], y[field], "{field} of {}", x["run"]);
        }
        assert_eq!((x["jobs"].as_u64(), y["jobs"].as_u64()), (Some(1), Some(2)));
    }
    for run in ["imitation", "grpo"] {
        let run_dir = |d: &Path| d.join(run).join("seed-0").join("run");
        assert_eq!(
            logged_losses(&run_dir(&one)),
            logged_losses(&run_dir(&two)),
            "{run}"
        );
    }
    let bad = report(&protocol, &dir.path().join("report-0"), &["--jobs", "0"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--jobs"), "{}", stderr(&bad));
}
