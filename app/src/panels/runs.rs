//! The runs panel: open an existing curriculum run directory and replay its history (stage
//! timeline, gates, curves) with a time slider.

use std::path::{Path, PathBuf};

use eframe::egui;
use praxis_core::curriculum::engine::{events_path, read_run_state};
use praxis_core::telemetry::{Event, read_log};

use crate::view::{RunView, event_step};

/// A run loaded for replay.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Its directory.
    pub dir: PathBuf,
    /// Its event log.
    pub events: Vec<Event>,
    /// The last update in the log.
    pub last_step: u64,
    /// Where the slider is.
    pub until: u64,
    /// The run as of `until`.
    pub view: RunView,
}

impl Replay {
    /// Loads the run in `dir`; a one-line error if it is not a curriculum run.
    pub fn open(dir: &Path) -> Result<Replay, String> {
        read_run_state(dir).map_err(|e| e.to_string())?;
        let events = read_log(&events_path(dir)).map_err(|e| e.to_string())?;
        let last_step = events.iter().filter_map(event_step).max().unwrap_or(0);
        let view = RunView::replay(&events, last_step);
        Ok(Replay {
            dir: dir.to_path_buf(),
            events,
            last_step,
            until: last_step,
            view,
        })
    }
}

/// Panel state.
#[derive(Debug, Clone, Default)]
pub struct RunsPanel {
    /// Directory typed by the person.
    pub path: String,
    /// The replayed run.
    pub replay: Option<Replay>,
    /// Why the last open failed.
    pub error: Option<String>,
}

impl RunsPanel {
    /// Draws the panel; returns a directory to continue training in, if asked.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Option<PathBuf> {
        let mut resume = None;
        ui.heading("Runs");
        ui.horizontal(|ui| {
            let label = ui.label("run");
            ui.add(egui::TextEdit::singleline(&mut self.path).hint_text("run directory"))
                .labelled_by(label.id);
            if ui.button("Open").clicked() {
                match Replay::open(Path::new(self.path.trim())) {
                    Ok(replay) => {
                        self.replay = Some(replay);
                        self.error = None;
                    }
                    Err(e) => {
                        self.replay = None;
                        self.error = Some(e);
                    }
                }
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(egui::Color32::from_rgb(240, 90, 90), error);
        }
        if let Some(replay) = &mut self.replay {
            let before = replay.until;
            ui.add(egui::Slider::new(&mut replay.until, 0..=replay.last_step).text("update"));
            if replay.until != before {
                replay.view = RunView::replay(&replay.events, replay.until);
            }
            ui.label(format!(
                "{} events, stage {}, {}",
                replay.view.events,
                replay
                    .view
                    .stages
                    .get(replay.view.stage)
                    .cloned()
                    .unwrap_or_default(),
                replay.dir.display()
            ));
            if ui.button("Continue training this run").clicked() {
                resume = Some(replay.dir.clone());
            }
        }
        resume
    }
}
