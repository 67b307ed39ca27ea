//! The metrics panel: curves of the loss, success per suite, the teacher's intervention rate
//! and training throughput.

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::view::RunView;

fn plot(ui: &mut egui::Ui, id: &str, height: f32, lines: Vec<(String, &[[f64; 2]])>) {
    Plot::new(id)
        .height(height)
        .legend(Legend::default())
        .allow_scroll(false)
        .show(ui, |plot_ui| {
            for (name, points) in lines {
                plot_ui.line(Line::new(name, PlotPoints::from(points.to_vec())));
            }
        });
}

/// Draws the panel.
pub fn show(ui: &mut egui::Ui, view: &RunView) {
    ui.heading("Metrics");
    let height = ((ui.available_height() - 60.0) / 2.0).clamp(80.0, 220.0);
    ui.columns(2, |columns| {
        columns[0].label("loss");
        plot(
            &mut columns[0],
            "loss",
            height,
            vec![("loss".into(), &view.loss)],
        );
        columns[1].label("success");
        let mut lines: Vec<(String, &[[f64; 2]])> = view
            .success
            .iter()
            .map(|(k, v)| (k.clone(), v.as_slice()))
            .collect();
        lines.push(("intervention rate".into(), &view.interventions));
        plot(&mut columns[1], "success", height, lines);
    });
    ui.columns(2, |columns| {
        columns[0].label("samples/s");
        plot(
            &mut columns[0],
            "throughput",
            height * 0.6,
            vec![("samples/s".into(), &view.samples_per_s)],
        );
        columns[1].label("learning rate");
        plot(
            &mut columns[1],
            "lr",
            height * 0.6,
            vec![("lr".into(), &view.lr)],
        );
    });
}
