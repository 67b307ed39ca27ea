//! The curriculum engine on the xs preset: a real (small) curriculum passes through all three
//! stages, rewind restores the exact state, and bad curricula are refused at load time.

use std::path::Path;
use std::sync::mpsc;

use praxis_core::checkpoint;
use praxis_core::curriculum::{CurriculumSpec, Engine, EngineOptions, GateOutcome};
use praxis_core::device::{self, Backend};
use praxis_core::model::params::named_params;
use praxis_core::telemetry::{Event, read_log};

/// Two reach tasks of the goal suite, xs from scratch, three stages with real gates.
const SMALL: &str = r#"
name = "small"
suite = "goal"
preset = "xs"
seed = 1
batch_size = 16
eval_every = 50
demos = 40
deterministic = true

[[stages]]
name = "cognitive"
signals = { imitation = 1.0 }
lr = 3e-3
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 400
success = 0.3
min_episodes = 20

[[stages]]
name = "associative"
signals = { imitation = 0.5, dagger = 0.5 }
lr = 1e-3
dagger_every = 50
dagger = { episodes = 8 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 200
intervention_rate = 0.9
plateau = 0.5
plateau_window = 2
min_episodes = 20

[[stages]]
name = "autonomous"
signals = { dagger = 0.5, replay = 0.5 }
lr = 5e-4
dagger_every = 50
dagger = { episodes = 8 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
constraints.environment.variations = ["lighting"]
[stages.gate]
budget = 200
success = 0.3
robustness_gap = 0.5
perturbations = ["lighting"]
min_episodes = 20
"#;

fn spec(text: &str) -> CurriculumSpec {
    CurriculumSpec::from_toml(text, "small.toml", Path::new(".")).unwrap()
}

fn options() -> EngineOptions {
    EngineOptions {
        probe_every: 0,
        log_every: 10,
    }
}

#[test]
fn a_small_curriculum_passes_through_all_stages() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let flex = device::open(Backend::Flex).unwrap();
    let (tx, rx) = mpsc::channel();
    let mut engine = Engine::create(&run, spec(SMALL), flex, Some(tx), options()).unwrap();
    engine.resume().unwrap();
    let outcome = engine.run(&|| false).unwrap();
    let state = engine.state().clone();
    drop(engine);
    assert_eq!(outcome, GateOutcome::Open, "{state:#?}");
    assert!(state.completed);
    let names: Vec<&str> = state.history.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["cognitive", "associative", "autonomous"]);
    assert!(
        state
            .history
            .iter()
            .all(|r| r.reason.as_deref() == Some("gate")),
        "every stage must end by its gate: {:?}",
        state.history
    );

    let events: Vec<Event> = rx.try_iter().collect();
    let entered = events
        .iter()
        .filter(|e| matches!(e, Event::StageEntered { .. }))
        .count();
    assert_eq!(entered, 3);
    assert!(events.iter().any(|e| matches!(e, Event::Completed { .. })));
    let corrections: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Interventions { rate, .. } => Some(*rate),
            _ => None,
        })
        .collect();
    assert!(!corrections.is_empty() && corrections.iter().all(|r| (0.0..=1.0).contains(r)));
    // the probe runs at every gate evaluation, with attention over the patch grid
    let probe = events
        .iter()
        .find_map(|e| match e {
            Event::Probe(frame) => Some(frame.clone()),
            _ => None,
        })
        .expect("probe frames");
    // xs: 64x64 images in 16x16 patches
    assert_eq!(probe.grid, 4);
    assert_eq!(probe.attention[0][0][0].len(), 16);
    assert!(probe.predicted.len() > 1 && probe.teacher.len() > 1);
    let row: f32 = probe.attention[0][0][0].iter().sum();
    assert!(row > 0.0 && row <= 1.0 + 1e-4);

    // the log on disk has the same story, without the probe frames
    let logged = read_log(&run.join("events.jsonl")).unwrap();
    assert!(logged.iter().any(|e| matches!(e, Event::Completed { .. })));
    assert!(!logged.iter().any(|e| matches!(e, Event::Probe(_))));
}

#[test]
fn rewind_restores_the_exact_state_and_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let flex = device::open(Backend::Flex).unwrap();
    // a gate that cannot open early, so the stage keeps training
    let text = SMALL.replace(
        "success = 0.3\nmin_episodes = 20\n\n[[stages]]\nname = \"associative\"",
        "success = 1.0\nmin_episodes = 20\n\n[[stages]]\nname = \"associative\"",
    );
    let mut engine = Engine::create(&run, spec(&text), flex.clone(), None, options()).unwrap();
    engine.step(100).unwrap();
    let at_100 = engine.state().clone();
    let weights_100 = named_params(&engine.policy());
    engine.step(50).unwrap();
    assert_eq!(engine.state().step, 150);

    let (_, ckpt_50) = engine
        .checkpoints()
        .into_iter()
        .find(|(s, _)| *s == 50)
        .unwrap();
    engine.rewind(&ckpt_50).unwrap();
    assert_eq!(engine.state().step, 50);
    assert_eq!(engine.state().measurements.success.len(), 1);
    engine.step(50).unwrap();
    assert_eq!(engine.state(), &at_100, "the replayed state must match");
    assert_eq!(
        named_params(&engine.policy()),
        weights_100,
        "weights must be bit-identical"
    );
    drop(engine);

    // reopening the directory continues from the newest checkpoint, mid-stage
    let reopened = Engine::open(&run, flex, None, options()).unwrap();
    assert_eq!(reopened.state(), &at_100);
    let latest = reopened.checkpoints().last().unwrap().1.clone();
    assert_eq!(checkpoint::load_meta(&latest).unwrap().step, 100);
}

#[test]
fn bad_curricula_are_refused_at_load_time() {
    let cases = [
        (
            SMALL.replace("imitation = 1.0", "telepathy = 1.0"),
            "unknown recipe 'telepathy'",
        ),
        (
            SMALL.replace("suite = \"goal\"", "suite = \"kitchen\""),
            "kitchen",
        ),
        (
            SMALL.replace(
                "success = 0.3\nmin_episodes = 20\n\n[[stages]]\nname = \"associative\"",
                "success = 1.5\nmin_episodes = 20\n\n[[stages]]\nname = \"associative\"",
            ),
            "can never be met",
        ),
        (
            SMALL.replace("plateau = 0.5", "patience = 0.5"),
            "unknown field `patience`",
        ),
        (
            SMALL
                .replace("name = \"cognitive\"", "name = \"tmp\"")
                .replace("name = \"autonomous\"", "name = \"cognitive\"")
                .replace("name = \"tmp\"", "name = \"autonomous\""),
            "out of order",
        ),
        (
            SMALL.replace(
                "\"reach-purple\", \"reach-yellow\"]\n[stages.gate]\nbudget = 400",
                "\"reach-purple\", \"fly\"]\n[stages.gate]\nbudget = 400",
            ),
            "unknown task 'fly'",
        ),
        (
            SMALL.replace("min_episodes = 20", "min_episodes = 500"),
            "evaluation episodes",
        ),
        (
            SMALL.replace(
                "signals = { dagger = 0.5, replay = 0.5 }\nlr = 5e-4\ndagger_every = 50\ndagger = { episodes = 8 }",
                "signals = { dagger = 0.5, replay = 0.5 }\nlr = 5e-4\ndagger_every = 50\ndagger = { episodes = 8, pooled = true }",
            ),
            "dagger.pooled pools the corrections with the demonstrations",
        ),
        (
            SMALL.replace(
                "dagger = { episodes = 8 }",
                "dagger = { episodes = 8, label_budget = 0 }",
            ),
            "dagger.label_budget = 0 keeps no correction",
        ),
        (
            SMALL.replace(
                "dagger = { episodes = 8 }",
                "dagger = { episodes = 8, handback = \"never\" }",
            ),
            "unknown variant `never`",
        ),
        (
            SMALL.replace(
                "dagger = { episodes = 8 }",
                "dagger = { episodes = 8, takeover_after = 0 }",
            ),
            "dagger.takeover_after = 0 would hand the teacher every step",
        ),
        (
            SMALL.replace(
                "dagger = { episodes = 8 }",
                "dagger = { episodes = 8, execute_steps = 2 }",
            ),
            "dagger.execute_steps = 2 differs from constraints.embodiment.execute_steps = 4",
        ),
        (
            SMALL.replace("suite = \"goal\"", "suite = \"goal\"\nteacher_smoothing = 0.5"),
            "teacher_smoothing must be a radius in metres between 0 and 0.1, not 0.5",
        ),
        (
            SMALL.replace(
                "dagger = { episodes = 8 }",
                "dagger = { episodes = 8, teacher_smoothing = 0.01 }",
            ),
            "unknown field `teacher_smoothing`",
        ),
    ];
    for (text, expected) in cases {
        let e = CurriculumSpec::from_toml(&text, "bad.toml", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "expected '{expected}' in: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(e.starts_with("bad.toml"), "names the file: {e}");
    }
    // the shipped curricula load
    for file in ["default.toml", "long-horizon.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../assets/curricula")
            .join(file);
        CurriculumSpec::load(&path).unwrap();
    }
}

/// One stage that practises by success band: after a gate evaluation, the `success_band`
/// share of each batch comes from the tasks measured at 10–90%.
const BAND: &str = r#"
name = "band"
suite = "goal"
preset = "xs"
seed = 2
batch_size = 16
eval_every = 1000
demos = 40
deterministic = true

[[stages]]
name = "practice"
signals = { imitation = 0.5, success_band = 0.5 }
lr = 3e-3
constraints.task.tasks = ["reach-purple", "reach-yellow", "push-red-to-green", "place-red-on-yellow"]
[stages.gate]
budget = 400
success = 0.99
min_episodes = 20
"#;

#[test]
fn success_band_sampling_practises_the_tasks_measured_between_10_and_90_percent() {
    let dir = tempfile::tempdir().unwrap();
    let flex = device::open(Backend::Flex).unwrap();
    let mut engine =
        Engine::create(&dir.path().join("run"), spec(BAND), flex, None, options()).unwrap();
    let all = engine.practice_tasks();
    assert_eq!(
        all.len(),
        4,
        "before any evaluation every task is practised"
    );
    engine.step(150).unwrap();
    engine.evaluate_gate().unwrap();
    let measured = engine.state().task_success.clone();
    assert_eq!(measured.len(), 4, "{measured:?}");
    let in_band: Vec<String> = all
        .iter()
        .filter(|t| (0.1..=0.9).contains(&measured[*t]))
        .cloned()
        .collect();
    let expected = if in_band.is_empty() {
        all.clone()
    } else {
        in_band
    };
    assert_eq!(engine.practice_tasks(), expected, "measured: {measured:?}");
    // Training goes on from the re-chosen mix, and the choice is part of the saved state.
    engine.step(10).unwrap();
    assert_eq!(engine.state().step, 160);
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run/curriculum.json")).unwrap(),
    )
    .unwrap();
    assert!(saved["state"]["task_success"].is_object(), "{saved}");
    eprintln!("measured success {measured:?} -> practising {expected:?}");
}

/// Corrections aimed by success band: the same stage as `BAND`, with DAgger rounds that roll
/// out only the tasks measured at 10–90%.
const BAND_DAGGER: &str = r#"
name = "band-dagger"
suite = "goal"
preset = "xs"
seed = 2
batch_size = 16
eval_every = 150
demos = 40
deterministic = true

[[stages]]
name = "practice"
signals = { imitation = 1.0, dagger = 0.001 }
lr = 3e-3
dagger_every = 150
dagger = { episodes = 8, success_band = true }
constraints.task.tasks = ["reach-purple", "reach-yellow", "push-red-to-green", "place-red-on-yellow"]
[stages.gate]
budget = 400
success = 0.99
min_episodes = 20
"#;

fn round_tasks(dir: &Path) -> Vec<String> {
    let mut tasks: Vec<String> = praxis_core::data::Dataset::open(dir)
        .unwrap()
        .episodes()
        .iter()
        .map(|e| e.task.clone())
        .collect();
    tasks.sort();
    tasks.dedup();
    tasks
}

#[test]
fn success_band_corrections_roll_out_only_the_half_learnt_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let flex = device::open(Backend::Flex).unwrap();
    let mut engine = Engine::create(
        &dir.path().join("run"),
        spec(BAND_DAGGER),
        flex,
        None,
        options(),
    )
    .unwrap();
    let mut all = engine.practice_tasks();
    all.sort();
    // The first round comes before any evaluation: every task.
    engine.step(150).unwrap();
    assert_eq!(round_tasks(&engine.state().rounds[0].dir), all);
    // The gate evaluation at update 150 measured each task; the next round follows it.
    let measured = engine.state().task_success.clone();
    engine.step(1).unwrap();
    let mut practised = engine.practice_tasks();
    practised.sort();
    assert!(
        practised.len() < all.len(),
        "the test needs a band narrower than the suite: measured {measured:?}"
    );
    assert_eq!(engine.state().rounds.len(), 2);
    assert_eq!(
        round_tasks(&engine.state().rounds[1].dir),
        practised,
        "measured {measured:?}"
    );
    eprintln!("measured {measured:?} -> corrections on {practised:?}");
}

/// Two short stages, the first with auxiliary losses.
const WITH_AUXILIARY: &str = r#"
name = "aux"
suite = "goal"
preset = "xs"
seed = 2
batch_size = 8
eval_every = 10
demos = 14

[[stages]]
name = "cognitive"
signals = { imitation = 1.0 }
auxiliary = { subtask = 0.5, forward_kinematics = 0.5 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 20
success = 1.0
on_budget = "advance"

[[stages]]
name = "associative"
signals = { imitation = 0.5, replay = 0.5 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 20
success = 1.0
on_budget = "advance"
"#;

#[test]
fn a_stage_trains_its_auxiliary_losses_and_the_next_stage_drops_them() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let flex = device::open(Backend::Flex).unwrap();
    let mut engine = Engine::create(&run, spec(WITH_AUXILIARY), flex, None, options()).unwrap();
    engine.resume().unwrap();
    assert_eq!(engine.run(&|| false).unwrap(), GateOutcome::Open);
    drop(engine);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "metrics every 10 updates over 40");
    for line in &lines {
        let step = line["step"].as_u64().unwrap();
        let terms = line.get("auxiliary");
        if step <= 20 {
            let terms = terms.expect("the cognitive stage logs its auxiliary terms");
            for name in ["subtask", "forward_kinematics"] {
                assert!(terms[name].as_f64().unwrap().is_finite(), "{line}");
            }
            assert!(line["action_loss"].as_f64().unwrap() < line["loss"].as_f64().unwrap());
        } else {
            assert!(terms.is_none(), "the associative stage has none: {line}");
        }
    }
}

#[test]
fn auxiliary_settings_that_cannot_work_are_refused_at_load_time() {
    let horizons = WITH_AUXILIARY.replace(
        "signals = { imitation = 0.5, replay = 0.5 }",
        "signals = { imitation = 0.5, replay = 0.5 }\nauxiliary = { subtask = 0.1, horizon = 2 }",
    );
    let distill = WITH_AUXILIARY.replace("subtask = 0.5,", "distill = 1.0,");
    let negative = WITH_AUXILIARY.replace("subtask = 0.5", "subtask = -0.5");
    for (text, needle) in [
        (
            horizons,
            "auxiliary.horizon is 2 but an earlier stage uses 4",
        ),
        (distill, "auxiliary.distill needs a starting checkpoint"),
        (negative, "auxiliary.subtask must be a weight >= 0"),
    ] {
        let err = CurriculumSpec::from_toml(&text, "aux.toml", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "expected '{needle}' in: {err}");
    }
}
