//! Settings: backend and device, preset, curriculum file and run directory for a new run.

use eframe::egui;

/// What a new run will use.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `wgpu` (the window's own GPU device, shared with Burn) or `flex` (CPU).
    pub backend: String,
    /// `s` (the curriculum's own start, the shipped base) or `xs` (a small network from
    /// scratch, for a quick look).
    pub preset: String,
    /// Curriculum file.
    pub curriculum: String,
    /// Run directory to create.
    pub run_dir: String,
    /// Start training as soon as the run is ready.
    pub autostart: bool,
}

/// Draws the settings; returns true when the person asks for a new run.
pub fn show(ui: &mut egui::Ui, settings: &mut Settings, device_name: &str) -> bool {
    ui.heading("Settings");
    egui::Grid::new("settings").num_columns(2).show(ui, |ui| {
        let label = ui.label("backend");
        egui::ComboBox::from_id_salt("backend")
            .selected_text(settings.backend.as_str())
            .show_ui(ui, |ui| {
                ui.selectable_value(
                    &mut settings.backend,
                    "wgpu".to_string(),
                    "wgpu (window's GPU)",
                );
                ui.selectable_value(&mut settings.backend, "flex".to_string(), "flex (CPU)");
            })
            .response
            .labelled_by(label.id);
        ui.end_row();
        ui.label("device");
        ui.label(device_name);
        ui.end_row();
        let label = ui.label("preset");
        egui::ComboBox::from_id_salt("preset")
            .selected_text(settings.preset.as_str())
            .show_ui(ui, |ui| {
                ui.selectable_value(
                    &mut settings.preset,
                    "s".to_string(),
                    "s (curriculum's base)",
                );
                ui.selectable_value(&mut settings.preset, "xs".to_string(), "xs (from scratch)");
            })
            .response
            .labelled_by(label.id);
        ui.end_row();
        let label = ui.label("curriculum");
        ui.text_edit_singleline(&mut settings.curriculum)
            .labelled_by(label.id);
        ui.end_row();
        let label = ui.label("run directory");
        ui.text_edit_singleline(&mut settings.run_dir)
            .labelled_by(label.id);
        ui.end_row();
    });
    ui.checkbox(&mut settings.autostart, "start training at once");
    ui.button("Start new run").clicked()
}
