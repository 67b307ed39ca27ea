//! # praxis-app
//!
//! The Praxis desktop app: watch a policy learn while a curriculum trains it — the attention
//! over the camera image, the planned action chunk against the teacher's, the stage timeline
//! with its gates, the curves — and steer it (run, pause, step, advance, rewind). The trainer
//! runs on its own thread and talks to the window only through channels; when the backend is
//! wgpu, Burn computes on the window's own wgpu device.

pub mod app;
pub mod frame_stats;
pub mod heatmap;
pub mod panels;
pub mod view;
pub mod worker;

pub use app::{AppConfig, PraxisApp};

use eframe::egui_wgpu;

/// eframe's options for the Praxis window: the wgpu renderer, with the device created the way
/// Burn needs it (the adapter's full features and limits) so the two can share it.
pub fn native_options() -> eframe::NativeOptions {
    let mut setup = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.device_descriptor = std::sync::Arc::new(praxis_core::device::wgpu_device_descriptor);
    eframe::NativeOptions {
        renderer: eframe::Renderer::Wgpu,
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Praxis")
            .with_inner_size([1440.0, 900.0]),
        wgpu_options: egui_wgpu::WgpuConfiguration {
            wgpu_setup: egui_wgpu::WgpuSetup::CreateNew(setup),
            ..Default::default()
        },
        ..Default::default()
    }
}
