//! The scene panel: the probe episode's camera image enlarged, the attention of a chosen layer,
//! head and action query blended over it (WGSL overlay), and the predicted action-chunk path
//! against the teacher's.

use eframe::egui::{self, Color32, Stroke, TextureOptions};
use praxis_core::telemetry::ProbeFrame;

use crate::heatmap::OverlayCallback;

/// What the scene panel shows and how.
#[derive(Debug, Clone)]
pub struct SceneSettings {
    /// Layer whose attention is shown.
    pub layer: usize,
    /// Head, or the mean over heads.
    pub head: Option<usize>,
    /// Action query (chunk position).
    pub query: usize,
    /// Overlay opacity.
    pub opacity: f32,
    /// Play the probe episode as an animation.
    pub playing: bool,
    /// Frame shown when not playing.
    pub frame: usize,
}

impl Default for SceneSettings {
    fn default() -> Self {
        SceneSettings {
            layer: 3,
            head: None,
            query: 0,
            opacity: 0.65,
            playing: true,
            frame: 0,
        }
    }
}

/// Attention of `query` to every patch at `layer`, for one head or averaged over heads.
pub fn patch_attention(
    frame: &ProbeFrame,
    layer: usize,
    head: Option<usize>,
    query: usize,
) -> Vec<f32> {
    let Some(heads) = frame
        .attention
        .get(layer.min(frame.attention.len().saturating_sub(1)))
    else {
        return Vec::new();
    };
    let rows: Vec<&Vec<f32>> = match head {
        Some(h) => heads
            .get(h)
            .and_then(|q| q.get(query))
            .into_iter()
            .collect(),
        None => heads.iter().filter_map(|q| q.get(query)).collect(),
    };
    let n = rows.first().map_or(0, |r| r.len());
    let mut out = vec![0.0; n];
    for row in &rows {
        for (o, v) in out.iter_mut().zip(row.iter()) {
            *o += v / rows.len() as f32;
        }
    }
    out
}

/// The image of a frame as an egui image.
pub fn color_image(frame: &ProbeFrame) -> egui::ColorImage {
    let size = frame.size as usize;
    egui::ColorImage::from_rgb([size, size], &frame.image)
}

/// Draws the scene into `ui`. `texture` caches the uploaded camera image; `wgpu_overlay`
/// says whether the WGSL overlay pipeline is installed (else the grid is painted as
/// rectangles).
pub fn show(
    ui: &mut egui::Ui,
    frames: &[ProbeFrame],
    settings: &mut SceneSettings,
    texture: &mut Option<(egui::TextureHandle, (u64, u32))>,
    wgpu_overlay: bool,
) {
    ui.heading("Scene");
    if frames.is_empty() {
        ui.label("waiting for the first probe episode...");
        return;
    }
    let index = if settings.playing {
        let t = ui.input(|i| i.time);
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
        (t * 4.0) as usize % frames.len()
    } else {
        settings.frame.min(frames.len() - 1)
    };
    settings.frame = index;
    let frame = &frames[index];
    let layers = frame.attention.len().max(1);
    let heads = frame.attention.first().map_or(1, |h| h.len());
    let queries = frame.predicted.len().saturating_sub(1).max(1);
    ui.horizontal(|ui| {
        ui.checkbox(&mut settings.playing, "play");
        let mut f = index;
        if ui
            .add(egui::Slider::new(&mut f, 0..=frames.len() - 1).text("frame"))
            .changed()
        {
            settings.playing = false;
            settings.frame = f;
        }
    });
    ui.horizontal(|ui| {
        settings.layer = settings.layer.min(layers - 1);
        ui.add(egui::Slider::new(&mut settings.layer, 0..=layers - 1).text("layer"));
        egui::ComboBox::from_label("head")
            .selected_text(
                settings
                    .head
                    .map_or("mean of heads".into(), |h| format!("head {h}")),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut settings.head, None, "mean of heads");
                for h in 0..heads {
                    ui.selectable_value(&mut settings.head, Some(h), format!("head {h}"));
                }
            });
        settings.query = settings.query.min(queries - 1);
        ui.add(egui::Slider::new(&mut settings.query, 0..=queries - 1).text("query"));
        ui.add(egui::Slider::new(&mut settings.opacity, 0.0..=1.0).text("opacity"));
    });
    let key = (frame.step, frame.t);
    if texture.as_ref().is_none_or(|(_, k)| *k != key) {
        let image = color_image(frame);
        match texture {
            Some((handle, k)) => {
                handle.set(image, TextureOptions::NEAREST);
                *k = key;
            }
            None => {
                *texture = Some((
                    ui.ctx()
                        .load_texture("probe", image, TextureOptions::NEAREST),
                    key,
                ))
            }
        }
    }
    let side = ui
        .available_width()
        .min(ui.available_height() - 40.0)
        .clamp(192.0, 512.0);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    if let Some((handle, _)) = texture {
        ui.painter().image(
            handle.id(),
            rect,
            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            Color32::WHITE,
        );
    }
    let attention = patch_attention(frame, settings.layer, settings.head, settings.query);
    if wgpu_overlay {
        ui.painter()
            .add(OverlayCallback::new(&attention, frame.grid, settings.opacity).paint(rect));
    } else {
        paint_grid(ui.painter(), rect, &attention, frame.grid, settings.opacity);
    }
    let scale = side / frame.size as f32;
    let to_screen = |p: &[f32; 2]| rect.min + egui::vec2(p[0] * scale, p[1] * scale);
    let path = |points: &[[f32; 2]]| points.iter().map(to_screen).collect::<Vec<_>>();
    ui.painter().add(egui::Shape::line(
        path(&frame.teacher),
        Stroke::new(3.0, Color32::from_rgb(80, 220, 120)),
    ));
    ui.painter().add(egui::Shape::line(
        path(&frame.predicted),
        Stroke::new(3.0, Color32::from_rgb(80, 170, 255)),
    ));
    if let Some(q) = frame.predicted.get(settings.query + 1) {
        ui.painter()
            .circle_filled(to_screen(q), 5.0, Color32::from_rgb(80, 170, 255));
    }
    ui.horizontal(|ui| {
        ui.colored_label(Color32::from_rgb(80, 170, 255), "blue: the policy's chunk");
        ui.colored_label(Color32::from_rgb(80, 220, 120), "green: the teacher's");
        ui.label(format!(
            "update {}, t = {}{}",
            frame.step,
            frame.t,
            if frame.success { ", success" } else { "" }
        ));
    });
}

/// Paints an attention grid as translucent rectangles (used where the WGSL overlay is not
/// available, and for the small per-head maps).
pub fn paint_grid(
    painter: &egui::Painter,
    rect: egui::Rect,
    values: &[f32],
    grid: u32,
    opacity: f32,
) {
    let grid = grid.max(1) as usize;
    if values.len() != grid * grid {
        return;
    }
    let max = values.iter().copied().fold(1e-9f32, f32::max);
    let cell = rect.width() / grid as f32;
    for (i, v) in values.iter().enumerate() {
        let t = (v / max).clamp(0.0, 1.0);
        let (row, col) = (i / grid, i % grid);
        let min = rect.min + egui::vec2(col as f32 * cell, row as f32 * cell);
        let color = Color32::from_rgba_unmultiplied(
            (255.0 * t.sqrt()) as u8,
            (200.0 * t * t) as u8,
            (80.0 * (1.0 - t)) as u8,
            (255.0 * opacity * t.sqrt()) as u8,
        );
        painter.rect_filled(
            egui::Rect::from_min_size(min, egui::vec2(cell, cell)),
            0.0,
            color,
        );
    }
}
