//! The attention panel: every head of a layer side by side for the selected action query, and
//! how much the action queries attend to each instruction word.

use eframe::egui::{self, Color32};
use praxis_core::telemetry::ProbeFrame;

use super::scene::{SceneSettings, paint_grid, patch_attention};

/// Draws the panel for `frame`.
pub fn show(ui: &mut egui::Ui, frame: Option<&ProbeFrame>, settings: &SceneSettings) {
    ui.heading("Attention");
    let Some(frame) = frame else {
        ui.label("no probe frame yet");
        return;
    };
    let layer = settings.layer.min(frame.attention.len().saturating_sub(1));
    let heads = frame.attention.get(layer).map_or(0, |h| h.len());
    ui.label(format!(
        "layer {layer}, query {}: each head",
        settings.query
    ));
    ui.horizontal_wrapped(|ui| {
        for head in 0..heads {
            ui.vertical(|ui| {
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(96.0, 96.0), egui::Sense::hover());
                ui.painter().rect_filled(rect, 2.0, Color32::from_gray(20));
                let values = patch_attention(frame, layer, Some(head), settings.query);
                paint_grid(ui.painter(), rect, &values, frame.grid, 1.0);
                ui.label(format!("head {head}"));
            });
        }
    });
    ui.separator();
    ui.label("action queries to instruction words");
    if let Some(words) = frame.word_attention.get(layer) {
        let max = words.iter().copied().fold(1e-9f32, f32::max);
        for (word, value) in frame.words.iter().zip(words) {
            ui.horizontal(|ui| {
                ui.add_sized([72.0, 14.0], egui::Label::new(word.as_str()));
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(120.0, 12.0), egui::Sense::hover());
                let filled = egui::Rect::from_min_size(
                    rect.min,
                    egui::vec2(rect.width() * value / max, rect.height()),
                );
                ui.painter()
                    .rect_filled(filled, 2.0, Color32::from_rgb(240, 150, 60));
                ui.label(format!("{value:.3}"));
            });
        }
    }
}
