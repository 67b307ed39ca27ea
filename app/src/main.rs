//! `praxis-app`: opens the Praxis window on the default curriculum (or the one given).
//!
//! ```text
//! praxis-app [--curriculum FILE] [--out RUN_DIR] [--open RUN_DIR] [--backend wgpu|flex] [--preset s|xs]
//!            [--bench-frames N]
//! ```
//!
//! `--bench-frames N` measures N frames idle and N while training, prints the frame-time
//! figures as one JSON line and closes.

use std::path::PathBuf;

use praxis_app::{AppConfig, PraxisApp};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut config = AppConfig::new(
        root.join("assets/curricula/default.toml"),
        PathBuf::from(format!("runs/app-{stamp}")),
    );
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--curriculum" => config.settings.curriculum = value()?,
            "--out" => config.settings.run_dir = value()?,
            "--open" => config.open_run = Some(PathBuf::from(value()?)),
            "--backend" => config.settings.backend = value()?,
            "--preset" => config.settings.preset = value()?,
            "--bench-frames" => config.bench_frames = Some(value()?.parse()?),
            "--help" | "-h" => {
                println!(
                    "praxis-app [--curriculum FILE] [--out RUN_DIR] [--open RUN_DIR] \
                     [--backend wgpu|flex] [--preset s|xs] [--bench-frames N]"
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument '{other}' (see --help)"),
        }
    }
    eframe::run_native(
        "Praxis",
        praxis_app::native_options(),
        Box::new(move |cc| Ok(Box::new(PraxisApp::new(cc, config)))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
