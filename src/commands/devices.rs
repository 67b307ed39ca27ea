//! `praxis devices`: what this build can run on.

use clap::Args;
use praxis_core::device::{self, Backend};

/// Arguments of `praxis devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Lists compiled backends and reachable devices.
pub fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let devices = device::list();
    if args.json {
        println!("{}", serde_json::to_string(&devices)?);
        return Ok(());
    }
    let compiled: Vec<&str> = Backend::compiled().iter().map(|b| b.name()).collect();
    println!("compiled backends: {}", compiled.join(", "));
    println!("{:<6} {:<8} {:<14} name", "backend", "api", "type");
    for d in &devices {
        println!(
            "{:<7} {:<8} {:<14} {}",
            d.backend.name(),
            d.api,
            d.device_type,
            d.name
        );
    }
    if !devices.iter().any(|d| d.backend == Backend::Wgpu) && Backend::Wgpu.is_compiled() {
        println!("(wgpu: no adapter found; install a Vulkan driver, e.g. mesa-vulkan-drivers)");
    }
    Ok(())
}
