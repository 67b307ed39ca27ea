//! The app driven through egui_kittest, rendered with wgpu (lavapipe here): a real tiny
//! curriculum run on the xs preset is stepped, paused, advanced and rewound through the
//! window's own buttons; small snapshots of panels; bad input stays in the window.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eframe::egui_wgpu;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use praxis_app::panels::curriculum::{self, Controls};
use praxis_app::view::RunView;
use praxis_app::{AppConfig, PraxisApp};
use praxis_core::curriculum::EngineOptions;
use praxis_core::telemetry::{CriterionStatus, Event, GateStatus};

/// A three-stage xs curriculum on two reach tasks whose gates cannot open on their own, so
/// only the person (the test) moves it on.
const TINY: &str = r#"
name = "tiny"
suite = "goal"
preset = "xs"
seed = 3
batch_size = 8
eval_every = 10
demos = 14
deterministic = true

[[stages]]
name = "cognitive"
signals = { imitation = 1.0 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 500
success = 1.0
min_episodes = 20

[[stages]]
name = "associative"
signals = { imitation = 0.5, dagger = 0.5 }
dagger = { episodes = 4 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 500
success = 1.0
min_episodes = 20

[[stages]]
name = "autonomous"
signals = { imitation = 0.5, replay = 0.5 }
constraints.task.tasks = ["reach-purple", "reach-yellow"]
[stages.gate]
budget = 500
success = 1.0
min_episodes = 20
"#;

fn wgpu_setup() -> egui_wgpu::WgpuSetup {
    let mut setup = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.instance_descriptor.backends = eframe::wgpu::Backends::VULKAN;
    setup.device_descriptor = Arc::new(praxis_core::device::wgpu_device_descriptor);
    egui_wgpu::WgpuSetup::CreateNew(setup)
}

fn config(dir: &Path, backend: &str) -> AppConfig {
    let curriculum = dir.join("tiny.toml");
    std::fs::write(&curriculum, TINY).unwrap();
    let mut config = AppConfig::new(curriculum, dir.join("run"));
    config.settings.backend = backend.into();
    config.settings.preset = "xs".into();
    config.settings.autostart = false;
    config.engine = EngineOptions {
        probe_every: 0,
        log_every: 5,
    };
    config
}

fn harness(config: AppConfig) -> Harness<'static, PraxisApp> {
    Harness::builder()
        .with_size([1280.0, 860.0])
        .wgpu_setup(wgpu_setup())
        .build_eframe(move |cc| PraxisApp::new(cc, config))
}

/// Pause between frames, so the trainer thread gets the CPU (pacing, not a measurement).
const FRAME_GAP: Duration = Duration::from_millis(20);

/// Steps the window until `done` holds (the trainer works meanwhile); gives up after
/// `max_frames` frames, so a broken trainer fails the test instead of hanging it.
fn wait(
    harness: &mut Harness<'static, PraxisApp>,
    max_frames: u32,
    what: &str,
    done: impl Fn(&PraxisApp) -> bool,
) {
    for _ in 0..max_frames {
        harness.step();
        if done(harness.state()) {
            return;
        }
        if let Some(banner) = harness.state().banner() {
            panic!("{what}: the app shows an error: {banner}");
        }
        std::thread::sleep(FRAME_GAP);
    }
    panic!("gave up waiting for {what} after {max_frames} frames");
}

/// Runs `frames` more frames, giving a (wrongly) still-running trainer the chance to move.
fn settle(harness: &mut Harness<'static, PraxisApp>, frames: u32) {
    for _ in 0..frames {
        std::thread::sleep(FRAME_GAP);
        harness.step();
    }
}

#[test]
fn pause_step_advance_and_rewind_drive_a_real_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(config(dir.path(), "flex"));
    wait(&mut harness, 15000, "the engine to start", |app| {
        !app.view.stages.is_empty()
    });
    assert_eq!(harness.state().view.step, 0);
    assert!(harness.state().view.paused);

    // Step N updates (N = 20 by default): exactly 20 updates, then paused again.
    harness.get_by_label("Step N updates").click();
    wait(&mut harness, 15000, "20 updates", |app| {
        app.view.step == 20 && app.view.paused
    });
    settle(&mut harness, 15);
    assert_eq!(
        harness.state().view.step,
        20,
        "a step command must not overrun"
    );
    assert!(!harness.state().view.loss.is_empty());
    assert_eq!(
        harness
            .state()
            .view
            .checkpoints
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [0, 10, 20]
    );

    // Run, then pause: training moves on, then stops moving.
    harness.get_by_label("Run").click();
    wait(&mut harness, 15000, "training to run", |app| {
        app.view.step > 25
    });
    harness.get_by_label("Pause").click();
    wait(&mut harness, 3000, "the pause", |app| app.view.paused);
    let paused_at = harness.state().view.step;
    settle(&mut harness, 25);
    assert_eq!(
        harness.state().view.step,
        paused_at,
        "paused training must not move"
    );

    // Advance: the person promotes the stage although its gate is shut.
    harness.get_by_label("Advance stage").click();
    wait(&mut harness, 6000, "the next stage", |app| {
        app.view.stage == 1
    });
    let timeline = &harness.state().view.timeline;
    assert_eq!(timeline[0].reason.as_deref(), Some("manual"));
    assert_eq!(timeline[1].name, "associative");

    // Rewind to the checkpoint of update 10: back in the first stage, curves cut there.
    harness.get_by_label("step 10").click();
    harness.step();
    harness.get_by_label("Rewind").click();
    wait(&mut harness, 6000, "the rewind", |app| app.view.step == 10);
    let view = &harness.state().view;
    assert_eq!(view.stage, 0);
    assert!(view.loss.iter().all(|p| p[0] <= 10.0));
    assert_eq!(view.checkpoints.keys().max(), Some(&10));
    let status = praxis_core::curriculum::engine::read_run_state(&dir.path().join("run"))
        .unwrap()
        .1;
    assert_eq!((status.step, status.stage), (10, 0));
}

#[test]
fn burn_trains_on_the_windows_own_wgpu_device() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(config(dir.path(), "wgpu"));
    wait(&mut harness, 30000, "the engine to start", |app| {
        !app.view.stages.is_empty()
    });
    harness.get_by_label("Step N updates").click();
    wait(
        &mut harness,
        45000,
        "20 updates on the shared device",
        |app| app.view.step == 20 && app.view.paused,
    );
    let view = &harness.state().view;
    assert!(view.loss.iter().all(|p| p[1].is_finite()));
    let meta = praxis_core::checkpoint::load_meta(&dir.path().join("run/checkpoints/step-0000020"))
        .unwrap();
    assert_eq!(meta.provenance.backend, "wgpu");
    assert!(
        meta.provenance.device.contains("shared with the window"),
        "{}",
        meta.provenance.device
    );
}

#[test]
fn bad_input_is_a_message_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    // a curriculum that fails to load
    let mut bad = config(dir.path(), "flex");
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, TINY.replace("imitation = 1.0", "telepathy = 1.0")).unwrap();
    bad.settings.curriculum = broken.display().to_string();
    let mut harness = harness(bad);
    harness.step();
    let banner = harness.state().banner().unwrap().to_string();
    assert!(banner.contains("unknown recipe 'telepathy'"), "{banner}");
    assert!(!harness.state().has_worker());
    harness.get_by_label("dismiss").click();
    harness.step();
    assert!(harness.state().banner().is_none());

    // a directory that is not a run
    let mut open = config(dir.path(), "flex");
    open.open_run = Some(dir.path().to_path_buf());
    let mut harness = self::harness(open);
    harness.step();
    let banner = harness.state().banner().unwrap().to_string();
    assert!(
        banner.contains("not a curriculum run") || banner.contains("not a run"),
        "{banner}"
    );

    // a backend with no device
    let mut nodevice = config(dir.path(), "cuda");
    nodevice.settings.run_dir = dir.path().join("other").display().to_string();
    let mut harness = self::harness(nodevice);
    harness.step();
    let banner = harness.state().banner().unwrap().to_string();
    assert!(banner.contains("cuda"), "{banner}");
}

/// A run view from a fixed event stream, for snapshots that do not depend on timing.
fn scripted_view() -> RunView {
    let mut view = RunView::default();
    let events = [
        Event::Started {
            curriculum: "default".into(),
            stages: vec![
                "cognitive".into(),
                "associative".into(),
                "autonomous".into(),
            ],
            stage: 0,
            step: 0,
        },
        Event::StageEntered {
            stage: 0,
            name: "cognitive".into(),
            step: 0,
        },
        Event::StageLeft {
            stage: 0,
            name: "cognitive".into(),
            step: 600,
            reason: "gate".into(),
        },
        Event::StageEntered {
            stage: 1,
            name: "associative".into(),
            step: 600,
        },
        Event::Checkpoint {
            step: 600,
            path: PathBuf::from("run/checkpoints/step-0000600"),
        },
        Event::Gate(GateStatus {
            stage: 1,
            step: 800,
            criteria: vec![
                CriterionStatus {
                    name: "success".into(),
                    comparison: ">=".into(),
                    threshold: 0.8,
                    value: Some(0.714),
                    met: false,
                },
                CriterionStatus {
                    name: "intervention_rate".into(),
                    comparison: "<=".into(),
                    threshold: 0.25,
                    value: Some(0.12),
                    met: true,
                },
            ],
            open: false,
        }),
    ];
    for e in &events {
        view.apply(e);
    }
    view
}

#[test]
fn curriculum_panel_snapshot() {
    let view = scripted_view();
    let mut controls = Controls::default();
    let mut harness = Harness::builder()
        .with_size([340.0, 330.0])
        .wgpu_setup(wgpu_setup())
        .build_ui(move |ui| {
            curriculum::show(ui, &view, &mut controls);
        });
    harness.run();
    harness.snapshot("curriculum_panel");
}

#[test]
fn gate_rows_show_values_against_thresholds() {
    let view = scripted_view();
    let mut controls = Controls::default();
    let mut harness = Harness::builder()
        .with_size([340.0, 330.0])
        .build_ui(move |ui| {
            curriculum::show(ui, &view, &mut controls);
        });
    harness.run();
    harness.get_by_label("0.714");
    harness.get_by_label(">= 0.800");
    harness.get_by_label("gate at update 800: shut");
    harness.get_by_label("cognitive, updates 0-600 (gate)");
}
