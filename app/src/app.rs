//! The Praxis window: panels around a live curriculum run whose trainer works on a thread of
//! its own, talking to the window only through the telemetry and command channels.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eframe::egui::{self, Color32};
use praxis_core::curriculum::{CurriculumSpec, EngineOptions};
use praxis_core::device::{self, Backend, ComputeDevice};
use praxis_core::telemetry::Command;

use crate::frame_stats::FrameStats;
use crate::panels::curriculum::Controls;
use crate::panels::runs::RunsPanel;
use crate::panels::scene::SceneSettings;
use crate::panels::settings::Settings;
use crate::panels::{attention, curriculum, metrics, scene, settings};
use crate::view::RunView;
use crate::worker::{RunSource, Worker};

/// How the app starts.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Settings of the first run.
    pub settings: Settings,
    /// Open this existing run instead of starting a new one.
    pub open_run: Option<PathBuf>,
    /// Engine options (probe frequency).
    pub engine: EngineOptions,
    /// Measure frame times over this many frames idle and as many while training, print
    /// them and close (see [`FrameBench`]).
    pub bench_frames: Option<usize>,
}

impl AppConfig {
    /// The default: the default curriculum from the shipped base, on the window's GPU.
    pub fn new(curriculum: PathBuf, run_dir: PathBuf) -> Self {
        AppConfig {
            settings: Settings {
                backend: "wgpu".into(),
                preset: "s".into(),
                curriculum: curriculum.display().to_string(),
                run_dir: run_dir.display().to_string(),
                autostart: true,
            },
            open_run: None,
            engine: EngineOptions::default(),
            bench_frames: None,
        }
    }
}

/// The wgpu handles of the window, to share with Burn.
#[derive(Clone)]
pub struct WindowGpu {
    instance: eframe::wgpu::Instance,
    adapter: eframe::wgpu::Adapter,
    device: eframe::wgpu::Device,
    queue: eframe::wgpu::Queue,
}

/// The app.
pub struct PraxisApp {
    settings: Settings,
    engine_options: EngineOptions,
    window_gpu: Option<WindowGpu>,
    shared: Option<ComputeDevice>,
    device_name: String,
    worker: Option<Worker>,
    /// The live run as the events tell it.
    pub view: RunView,
    scene: SceneSettings,
    texture: Option<(egui::TextureHandle, (u64, u32))>,
    controls: Controls,
    runs: RunsPanel,
    show_replay: bool,
    overlay: bool,
    /// Frame timing (shown in the top bar).
    pub frames: FrameStats,
    banner: Option<String>,
    bench: Option<FrameBench>,
}

/// Frame-time measurement: `frames` frames with the trainer paused, then (after a few seconds
/// of warm-up) as many while it trains; the figures are printed as one JSON line.
#[derive(Debug, Clone)]
pub struct FrameBench {
    frames: usize,
    phase: BenchPhase,
    idle: Option<(f32, f32, f32)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BenchPhase {
    WaitingForRun,
    Idle,
    WarmingUp(f64),
    Training,
    Done,
}

impl PraxisApp {
    /// Builds the app from eframe's creation context and starts the first run.
    pub fn new(cc: &eframe::CreationContext<'_>, config: AppConfig) -> Self {
        let window_gpu = cc.wgpu_render_state.as_ref().map(|rs| {
            crate::heatmap::install(rs);
            WindowGpu {
                instance: rs.instance.clone(),
                adapter: rs.adapter.clone(),
                device: rs.device.clone(),
                queue: rs.queue.clone(),
            }
        });
        let mut app = PraxisApp {
            overlay: window_gpu.is_some(),
            settings: config.settings,
            engine_options: config.engine,
            window_gpu,
            shared: None,
            device_name: "-".into(),
            worker: None,
            view: RunView::default(),
            scene: SceneSettings::default(),
            texture: None,
            controls: Controls::default(),
            runs: RunsPanel::default(),
            show_replay: false,
            frames: FrameStats::default(),
            banner: None,
            bench: config.bench_frames.map(|frames| FrameBench {
                frames,
                phase: BenchPhase::WaitingForRun,
                idle: None,
            }),
        };
        match config.open_run {
            Some(dir) => app.open_run(&dir),
            None => app.start_new_run(),
        }
        app
    }

    /// Whether a trainer thread is attached.
    pub fn has_worker(&self) -> bool {
        self.worker.is_some()
    }

    /// The error banner's text, if one is shown.
    pub fn banner(&self) -> Option<&str> {
        self.banner.as_deref()
    }

    /// Sends a command to the trainer (as the buttons do).
    pub fn send(&self, command: Command) {
        if let Some(worker) = &self.worker {
            worker.send(command);
        }
    }

    fn device(&mut self) -> Result<ComputeDevice, String> {
        match self.settings.backend.as_str() {
            "flex" => device::open(Backend::Flex).map_err(|e| e.to_string()),
            "wgpu" => {
                if let Some(shared) = &self.shared {
                    return Ok(shared.clone());
                }
                let Some(gpu) = self.window_gpu.clone() else {
                    return Err(
                        "backend 'wgpu' has no device: the window is not drawn with wgpu; \
                         choose flex"
                            .into(),
                    );
                };
                let shared = device::share_wgpu(gpu.instance, gpu.adapter, gpu.device, gpu.queue)
                    .map_err(|e| e.to_string())?;
                self.shared = Some(shared.clone());
                Ok(shared)
            }
            other => Err(format!("unknown backend '{other}' (flex or wgpu)")),
        }
    }

    fn load_spec(&self) -> Result<CurriculumSpec, String> {
        let mut spec = CurriculumSpec::load(Path::new(self.settings.curriculum.trim()))
            .map_err(|e| e.to_string())?;
        if self.settings.preset != "s" {
            spec.init = None;
            spec.preset = self.settings.preset.clone();
            spec.validate().map_err(|e| e.to_string())?;
        }
        Ok(spec)
    }

    /// Starts a new run with the current settings (errors go to the banner).
    pub fn start_new_run(&mut self) {
        let result = self.load_spec().and_then(|spec| {
            let out = PathBuf::from(self.settings.run_dir.trim());
            if out.exists() {
                return Err(format!(
                    "{} already exists; choose a new run directory (or open it in Runs)",
                    out.display()
                ));
            }
            let device = self.device()?;
            Ok((spec, out, device))
        });
        match result {
            Ok((spec, out, device)) => {
                let autostart = self.settings.autostart;
                self.start_worker(
                    RunSource::New {
                        spec: Box::new(spec),
                        out,
                    },
                    device,
                    autostart,
                );
            }
            Err(e) => self.banner = Some(e),
        }
    }

    /// Continues an existing run (errors go to the banner).
    pub fn open_run(&mut self, dir: &Path) {
        if let Err(e) = praxis_core::curriculum::engine::read_run_state(dir) {
            self.banner = Some(e.to_string());
            return;
        }
        match self.device() {
            Ok(device) => self.start_worker(RunSource::Open(dir.to_path_buf()), device, false),
            Err(e) => self.banner = Some(e),
        }
    }

    /// Stops the current run's worker (if any), clears what the window showed of it and
    /// trains `source` on `device`, running at once when `autostart`.
    fn start_worker(&mut self, source: RunSource, device: ComputeDevice, autostart: bool) {
        self.device_name = format!("{}, {}", device.backend, device.name);
        self.worker = None;
        self.view = RunView::default();
        self.texture = None;
        self.banner = None;
        self.worker = Some(Worker::spawn(
            source,
            device,
            self.engine_options.clone(),
            autostart,
        ));
    }

    /// Folds every pending event into the view (never blocks).
    pub fn drain_events(&mut self) {
        if let Some(worker) = &self.worker {
            for event in worker.events.try_iter().take(10_000) {
                self.view.apply(&event);
            }
        }
        if let Some(error) = self.view.error.take() {
            self.banner = Some(format!("trainer: {error}"));
        }
    }

    fn advance_bench(&mut self, ctx: &egui::Context) {
        let Some(bench) = self.bench.as_mut() else {
            return;
        };
        ctx.request_repaint();
        let now = ctx.input(|i| i.time);
        let figures = |stats: &FrameStats| {
            (
                stats.interval_ms(0.5).unwrap_or(f32::NAN),
                stats.interval_ms(0.95).unwrap_or(f32::NAN),
                stats.ui_ms(0.95).unwrap_or(f32::NAN),
            )
        };
        match bench.phase {
            BenchPhase::WaitingForRun => {
                if !self.view.stages.is_empty() && self.view.paused {
                    self.frames.clear();
                    bench.phase = BenchPhase::Idle;
                }
            }
            BenchPhase::Idle => {
                if self.frames.len() >= bench.frames {
                    bench.idle = Some(figures(&self.frames));
                    if let Some(worker) = &self.worker {
                        worker.send(Command::Run);
                    }
                    bench.phase = BenchPhase::WarmingUp(now + 5.0);
                }
            }
            BenchPhase::WarmingUp(until) => {
                if now >= until {
                    self.frames.clear();
                    bench.phase = BenchPhase::Training;
                }
            }
            BenchPhase::Training => {
                if self.frames.len() >= bench.frames {
                    let (p50, p95, ui95) = figures(&self.frames);
                    let (ip50, ip95, iui95) = bench.idle.unwrap_or_default();
                    println!(
                        "{{\"frames\": {}, \"idle\": {{\"p50_ms\": {ip50:.2}, \"p95_ms\": {ip95:.2}, \"ui_p95_ms\": {iui95:.2}}}, \"training\": {{\"p50_ms\": {p50:.2}, \"p95_ms\": {p95:.2}, \"ui_p95_ms\": {ui95:.2}, \"updates\": {}}}, \"ratio_p95\": {:.3}}}",
                        bench.frames,
                        self.view.step,
                        p95 / ip95
                    );
                    bench.phase = BenchPhase::Done;
                    if let Some(worker) = &self.worker {
                        worker.send(Command::Pause);
                    }
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
            BenchPhase::Done => {}
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Praxis");
            ui.separator();
            let status = if self.view.completed {
                "complete"
            } else if self.worker.is_none() {
                "no run"
            } else if self.view.stages.is_empty() {
                "preparing (recording demonstrations)..."
            } else if self.view.paused {
                "paused"
            } else {
                "training"
            };
            ui.label(format!("{status}, {}", self.device_name));
            ui.separator();
            ui.toggle_value(&mut self.show_replay, "replay view");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.monospace(self.frames.summary());
            });
        });
        if let Some(banner) = self.banner.clone() {
            egui::Frame::new()
                .fill(Color32::from_rgb(120, 30, 30))
                .inner_margin(6.0)
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.colored_label(Color32::WHITE, banner);
                        if ui.button("dismiss").clicked() {
                            self.banner = None;
                        }
                    });
                });
        }
    }
}

impl eframe::App for PraxisApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let began = self.frames.begin_frame();
        self.drain_events();
        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui));
        let mut command = None;
        let mut start = false;
        let mut resume = None;
        egui::Panel::left("left")
            .default_size(320.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    command = curriculum::show(ui, &self.view, &mut self.controls);
                    ui.separator();
                    egui::CollapsingHeader::new("Settings")
                        .default_open(false)
                        .show(ui, |ui| {
                            start = settings::show(ui, &mut self.settings, &self.device_name);
                        });
                    egui::CollapsingHeader::new("Runs")
                        .default_open(false)
                        .show(ui, |ui| resume = self.runs.show(ui));
                });
            });
        let view = match (&self.runs.replay, self.show_replay) {
            (Some(replay), true) => replay.view.clone(),
            _ => self.view.clone(),
        };
        let frames = view.probe_frames().to_vec();
        egui::Panel::right("attention")
            .default_size(300.0)
            .show(ui, |ui| {
                attention::show(ui, frames.get(self.scene.frame), &self.scene);
            });
        egui::Panel::bottom("metrics")
            .default_size(300.0)
            .show(ui, |ui| metrics::show(ui, &view));
        egui::CentralPanel::default().show(ui, |ui| {
            scene::show(
                ui,
                &frames,
                &mut self.scene,
                &mut self.texture,
                self.overlay,
            );
        });
        if let Some(command) = command {
            self.send(command);
        }
        if start {
            self.start_new_run();
        }
        if let Some(dir) = resume {
            self.open_run(&dir);
        }
        self.frames.end_frame(began);
        self.advance_bench(ui.ctx());
        if self.worker.is_some() {
            ui.ctx().request_repaint_after(Duration::from_millis(50));
        }
    }
}
