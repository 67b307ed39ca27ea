//! The curriculum panel: the stage timeline, the current gate's criteria against their
//! thresholds, and the controls (run, pause, step N updates, advance, rewind).

use eframe::egui::{self, Color32, RichText};
use praxis_core::telemetry::Command;

use crate::view::RunView;

/// Control values kept between frames.
#[derive(Debug, Clone)]
pub struct Controls {
    /// Updates per "step" click.
    pub step_n: u64,
    /// Checkpoint chosen for rewinding.
    pub rewind_to: Option<u64>,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            step_n: 20,
            rewind_to: None,
        }
    }
}

const STAGE_COLORS: [Color32; 3] = [
    Color32::from_rgb(90, 140, 230),
    Color32::from_rgb(230, 170, 60),
    Color32::from_rgb(90, 200, 120),
];

/// Draws the panel; returns the command the person gave, if any.
pub fn show(ui: &mut egui::Ui, view: &RunView, controls: &mut Controls) -> Option<Command> {
    let mut command = None;
    ui.heading("Curriculum");
    ui.label(format!("{}, update {}", view.curriculum, view.step));
    timeline(ui, view);
    ui.horizontal(|ui| {
        let running = !view.paused && view.error.is_none();
        if ui
            .add_enabled(!running && !view.completed, egui::Button::new("Run"))
            .clicked()
        {
            command = Some(Command::Run);
        }
        if ui
            .add_enabled(running, egui::Button::new("Pause"))
            .clicked()
        {
            command = Some(Command::Pause);
        }
    });
    ui.horizontal(|ui| {
        let n = ui.label("N =");
        ui.add(egui::DragValue::new(&mut controls.step_n).range(1..=10_000))
            .labelled_by(n.id);
        if ui
            .add_enabled(!view.completed, egui::Button::new("Step N updates"))
            .clicked()
        {
            command = Some(Command::Step(controls.step_n));
        }
    });
    ui.horizontal(|ui| {
        if ui.button("Evaluate gate").clicked() {
            command = Some(Command::EvaluateGate);
        }
        if ui
            .add_enabled(!view.completed, egui::Button::new("Advance stage"))
            .clicked()
        {
            command = Some(Command::Advance);
        }
    });
    ui.label("rewind to a checkpoint (the latest 12):");
    ui.horizontal_wrapped(|ui| {
        let steps: Vec<u64> = view
            .checkpoints
            .keys()
            .rev()
            .take(12)
            .rev()
            .copied()
            .collect();
        for step in steps {
            ui.selectable_value(&mut controls.rewind_to, Some(step), format!("step {step}"));
        }
    });
    let target = controls
        .rewind_to
        .and_then(|s| view.checkpoints.get(&s).cloned());
    if ui
        .add_enabled(target.is_some(), egui::Button::new("Rewind"))
        .clicked()
        && let Some(path) = target
    {
        command = Some(Command::Rewind(path));
    }
    ui.separator();
    gate(ui, view);
    command
}

fn timeline(ui: &mut egui::Ui, view: &RunView) {
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), 26.0), egui::Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, 3.0, Color32::from_gray(35));
    let n = view.stages.len().max(1);
    let width = rect.width() / n as f32;
    for (i, name) in view.stages.iter().enumerate() {
        let cell = egui::Rect::from_min_size(
            rect.min + egui::vec2(i as f32 * width, 0.0),
            egui::vec2(width - 2.0, rect.height()),
        );
        let done = view
            .timeline
            .iter()
            .any(|s| s.stage == i && s.left.is_some());
        let current = i == view.stage && !view.completed;
        let base = STAGE_COLORS[i % STAGE_COLORS.len()];
        let fill = if current {
            base
        } else if done {
            base.gamma_multiply(0.55)
        } else {
            Color32::from_gray(55)
        };
        painter.rect_filled(cell, 3.0, fill);
        painter.text(
            cell.center(),
            egui::Align2::CENTER_CENTER,
            if done {
                format!("{name} (done)")
            } else {
                name.clone()
            },
            egui::FontId::proportional(13.0),
            Color32::WHITE,
        );
    }
    for span in &view.timeline {
        ui.label(format!(
            "{}, updates {}-{} {}",
            span.name,
            span.entered,
            span.left.map_or("now".into(), |s| s.to_string()),
            span.reason
                .as_deref()
                .map_or(String::new(), |r| format!("({r})"))
        ));
    }
}

fn gate(ui: &mut egui::Ui, view: &RunView) {
    let Some(gate) = &view.gate else {
        ui.label("gate: not evaluated yet in this stage");
        return;
    };
    ui.label(
        RichText::new(format!(
            "gate at update {}: {}",
            gate.step,
            if gate.open { "OPEN" } else { "shut" }
        ))
        .strong()
        .color(if gate.open {
            Color32::from_rgb(90, 200, 120)
        } else {
            Color32::from_rgb(230, 170, 60)
        }),
    );
    egui::Grid::new("gate").striped(true).show(ui, |ui| {
        for c in &gate.criteria {
            ui.label(&c.name);
            ui.label(c.value.map_or("-".into(), |v| format!("{v:.3}")));
            ui.label(format!("{} {:.3}", c.comparison, c.threshold));
            ui.label(if c.met { "met" } else { "not met" });
            ui.end_row();
        }
    });
}
