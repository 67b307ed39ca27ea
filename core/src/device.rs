//! Backend choice at run time (DESIGN.md, "Backends"). Model and training code are written
//! once against Burn's `Device`; this module turns `--backend flex|wgpu|cuda` (or
//! `BURN_DEVICE`) into one, with a one-line error when the backend is not compiled in or has no
//! usable device.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Serialises every use of a device's (process-wide) random generator; see [`seeded`].
static RANDOM_INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `init` with `device`'s random generator seeded to `seed`, and draws every parameter
/// of what it built before returning. Burn keeps one generator per device for the whole
/// process, so two runs initialising weights at once (parallel tests, `praxis report --jobs
/// 2`, the app's trainer next to a benchmark) would interleave their draws; a process-wide
/// lock keeps each seeded initialisation reproducible. Burn also draws a parameter lazily, at
/// its first use, which would fall outside the lock: hence [`DrawParams`].
pub fn seeded<T: DrawParams>(device: &Device, seed: u64, init: impl FnOnce() -> T) -> T {
    let _guard = RANDOM_INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    device.seed(seed);
    let built = init();
    built.draw_params();
    built
}

/// Runs `init`, whose random draws do not matter (weights about to be overwritten by a
/// checkpoint), under the same lock as [`seeded`], so that its draws cannot land in the middle
/// of another thread's seeded initialisation.
pub fn unseeded<T: DrawParams>(init: impl FnOnce() -> T) -> T {
    let _guard = RANDOM_INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let built = init();
    built.draw_params();
    built
}

/// What [`seeded`] and [`unseeded`] build: a module whose lazily initialised parameters can
/// be drawn on the spot, while the lock is held. Each module type Praxis draws at random
/// implements it with [`draw_module`].
pub trait DrawParams {
    /// Draws every parameter not drawn yet.
    fn draw_params(&self);
}

impl<T: DrawParams> DrawParams for Result<T> {
    fn draw_params(&self) {
        if let Ok(built) = self {
            built.draw_params();
        }
    }
}

/// Draws every lazily initialised parameter of `module` (the body of each [`DrawParams`]).
pub fn draw_module<M: burn::module::Module>(module: &M) {
    module.visit(&mut DrawNow);
}

/// Reads every float parameter, which draws the ones still lazy.
struct DrawNow;

impl burn::module::ModuleVisitor for DrawNow {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// A compute backend Praxis can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Burn's pure-Rust CPU backend (SIMD, multi-threaded).
    Flex,
    /// Any GPU through wgpu: Vulkan, Metal, DX12 (and Mesa's lavapipe on machines without one).
    Wgpu,
    /// NVIDIA GPUs through CUDA (opt-in cargo feature `cuda`).
    Cuda,
}

impl Backend {
    /// Every backend Praxis knows, compiled in or not.
    pub const ALL: [Backend; 3] = [Backend::Flex, Backend::Wgpu, Backend::Cuda];

    /// The name used on the command line and in `BURN_DEVICE`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "cuda",
        }
    }

    /// Whether this build has the backend compiled in (cargo features `flex`, `wgpu`, `cuda`).
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The backends this build has.
    pub fn compiled() -> Vec<Backend> {
        Backend::ALL
            .into_iter()
            .filter(|b| b.is_compiled())
            .collect()
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "flex" | "cpu" => Ok(Backend::Flex),
            "wgpu" | "vulkan" | "metal" | "dx12" => Ok(Backend::Wgpu),
            "cuda" => Ok(Backend::Cuda),
            other => Err(Error::Device(format!(
                "unknown backend '{other}' (this build has: {})",
                compiled_list()
            ))),
        }
    }
}

fn compiled_list() -> String {
    Backend::compiled()
        .iter()
        .map(|b| b.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A device ready to run tensors on, with what is needed to report it in a run's metadata.
#[derive(Debug, Clone)]
pub struct ComputeDevice {
    /// Which backend.
    pub backend: Backend,
    /// Burn's device handle (plain, without autodiff).
    pub device: Device,
    /// Human-readable name of the hardware (adapter name for wgpu).
    pub name: String,
}

/// One entry of `praxis devices`.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// Backend that reaches this device.
    pub backend: Backend,
    /// Hardware name.
    pub name: String,
    /// Graphics/compute API (Vulkan, Metal, ...), or "cpu".
    pub api: String,
    /// Device type (discrete GPU, integrated GPU, CPU, ...).
    pub device_type: String,
}

/// The backend asked for: the explicit choice if any, else `BURN_DEVICE`, else `flex`.
pub fn requested_backend(explicit: Option<&str>) -> Result<Backend> {
    match explicit {
        Some(name) => name.parse(),
        None => match std::env::var("BURN_DEVICE") {
            Ok(name) if !name.trim().is_empty() => name.parse(),
            _ => Ok(Backend::Flex),
        },
    }
}

/// Opens a device on `backend`, or says in one line why it cannot.
pub fn open(backend: Backend) -> Result<ComputeDevice> {
    if !backend.is_compiled() {
        return Err(Error::Device(format!(
            "backend '{backend}' is not compiled into this build (it has: {}); rebuild with \
             `--features {backend}`",
            compiled_list()
        )));
    }
    match backend {
        Backend::Flex => open_flex(),
        Backend::Wgpu => open_wgpu(),
        Backend::Cuda => open_cuda(),
    }
}

/// Shorthand for `open(requested_backend(explicit)?)`.
pub fn open_requested(explicit: Option<&str>) -> Result<ComputeDevice> {
    open(requested_backend(explicit)?)
}

#[cfg(feature = "flex")]
fn open_flex() -> Result<ComputeDevice> {
    Ok(ComputeDevice {
        backend: Backend::Flex,
        device: Device::flex(),
        name: format!("cpu ({} threads)", rayon::current_num_threads()),
    })
}

#[cfg(not(feature = "flex"))]
fn open_flex() -> Result<ComputeDevice> {
    unreachable!("checked by Backend::is_compiled")
}

#[cfg(feature = "wgpu")]
fn open_wgpu() -> Result<ComputeDevice> {
    let adapters = wgpu_adapters();
    let Some(adapter) = adapters.iter().find(|a| a.api != "Gl") else {
        return Err(Error::Device(
            "backend 'wgpu' has no usable adapter on this machine (no Vulkan, Metal or DX12 \
             device; install mesa-vulkan-drivers for a CPU fallback), use --backend flex"
                .into(),
        ));
    };
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    probe(&device, Backend::Wgpu)?;
    let name = device
        .identity()
        .map(|id| id.name)
        .unwrap_or_else(|| adapter.name.clone());
    Ok(ComputeDevice {
        backend: Backend::Wgpu,
        device,
        name,
    })
}

#[cfg(not(feature = "wgpu"))]
fn open_wgpu() -> Result<ComputeDevice> {
    unreachable!("checked by Backend::is_compiled")
}

#[cfg(feature = "cuda")]
fn open_cuda() -> Result<ComputeDevice> {
    let device = Device::cuda(0);
    probe(&device, Backend::Cuda)?;
    let name = device
        .identity()
        .map(|id| id.name)
        .unwrap_or_else(|| "cuda:0".into());
    Ok(ComputeDevice {
        backend: Backend::Cuda,
        device,
        name,
    })
}

#[cfg(not(feature = "cuda"))]
fn open_cuda() -> Result<ComputeDevice> {
    unreachable!("checked by Backend::is_compiled")
}

/// Runs one tiny kernel so a device that cannot start fails here, with a message, instead of
/// panicking somewhere inside the first training step.
#[allow(dead_code)]
fn probe(device: &Device, backend: Backend) -> Result<()> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| {
        Tensor::<1>::ones([4], device)
            .sum()
            .into_data()
            .try_to_vec::<f32>()
            .ok()
            .and_then(|v| v.first().copied())
    });
    std::panic::set_hook(hook);
    match result {
        Ok(Some(4.0)) => Ok(()),
        Ok(_) => Err(Error::Device(format!(
            "backend '{backend}' started but computed a wrong result on a probe kernel"
        ))),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown failure".into());
            let why = why.lines().next().unwrap_or_default().to_string();
            Err(Error::Device(format!(
                "backend '{backend}' has no usable device: {why}"
            )))
        }
    }
}

/// The adapters wgpu can see (respects `WGPU_BACKEND`).
#[cfg(feature = "wgpu")]
pub fn wgpu_adapters() -> Vec<DeviceInfo> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters =
        futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    adapters
        .iter()
        .map(|adapter| {
            let info = adapter.get_info();
            DeviceInfo {
                backend: Backend::Wgpu,
                name: info.name,
                api: format!("{:?}", info.backend),
                device_type: format!("{:?}", info.device_type),
            }
        })
        .collect()
}

/// Everything this build can run on, for `praxis devices`.
pub fn list() -> Vec<DeviceInfo> {
    let mut devices = Vec::new();
    #[cfg(feature = "flex")]
    devices.push(DeviceInfo {
        backend: Backend::Flex,
        name: format!("cpu ({} threads)", rayon::current_num_threads()),
        api: "cpu".into(),
        device_type: "Cpu".into(),
    });
    #[cfg(feature = "wgpu")]
    devices.extend(wgpu_adapters());
    #[cfg(feature = "cuda")]
    if let Ok(cuda) = open(Backend::Cuda) {
        devices.push(DeviceInfo {
            backend: Backend::Cuda,
            name: cuda.name,
            api: "cuda".into(),
            device_type: "DiscreteGpu".into(),
        });
    }
    devices
}

/// The device descriptor a wgpu device must be created with for Burn to run on it: the
/// adapter's full features (less mappable primary buffers) and limits, as Burn's own runtime
/// asks for. A window that creates its device this way can hand it to [`share_wgpu`].
#[cfg(feature = "wgpu")]
pub fn wgpu_device_descriptor(adapter: &wgpu::Adapter) -> wgpu::DeviceDescriptor<'static> {
    wgpu::DeviceDescriptor {
        label: Some("praxis shared device"),
        required_features: adapter.features() - wgpu::Features::MAPPABLE_PRIMARY_BUFFERS,
        required_limits: adapter.limits(),
        memory_hints: wgpu::MemoryHints::MemoryUsage,
        trace: wgpu::Trace::Off,
        // SAFETY: Burn's runtime enables the experimental features itself (for passthrough
        // shaders) on the devices it creates; a shared device must offer the same.
        experimental_features: unsafe { wgpu::ExperimentalFeatures::enabled() },
    }
}

/// Makes Burn compute on a wgpu device someone else created (the app's window), so training
/// and drawing share one GPU. Call once per device; clone the result.
#[cfg(feature = "wgpu")]
pub fn share_wgpu(
    instance: wgpu::Instance,
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
) -> Result<ComputeDevice> {
    let name = adapter.get_info().name;
    let setup = burn::tensor::wgpu::WgpuSetup {
        backend: adapter.get_info().backend,
        instance,
        adapter,
        device,
        queue,
    };
    let device = Device::wgpu_options()
        .setup(setup)
        .init()
        .map_err(|e| Error::Device(format!("cannot share the window's wgpu device: {e:?}")))?;
    probe(&device, Backend::Wgpu)?;
    Ok(ComputeDevice {
        backend: Backend::Wgpu,
        device,
        name: format!("{name} (shared with the window)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every float parameter's values, and whether all were drawn before the visit.
    #[derive(Default)]
    struct Snapshot {
        values: Vec<Vec<f32>>,
        all_drawn: bool,
    }

    impl burn::module::ModuleVisitor for Snapshot {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            self.all_drawn &= param.is_initialized();
            let values = param.val().into_data().convert::<f32>();
            self.values
                .push(values.try_to_vec::<f32>().unwrap_or_default());
        }
    }

    fn snapshot<M: burn::module::Module>(module: &M) -> Snapshot {
        let mut s = Snapshot {
            all_drawn: true,
            ..Snapshot::default()
        };
        module.visit(&mut s);
        s
    }

    /// A draw from the device's generator between a seeded build and the module's first
    /// use (another thread's, in a parallel run) must not change the module's weights.
    fn drawn_before_release<M: burn::module::Module + DrawParams>(
        name: &str,
        build: impl Fn() -> M,
    ) {
        let device = Device::flex();
        let first = seeded(&device, 3, &build);
        let _stray: Tensor<1> = Tensor::random([97], burn::tensor::Distribution::Default, &device);
        let (first, second) = (snapshot(&first), snapshot(&seeded(&device, 3, &build)));
        assert!(
            first.all_drawn,
            "{name}: parameters left to draw at first use"
        );
        assert!(!first.values.is_empty(), "{name}: no parameters");
        assert!(
            first.values == second.values,
            "{name}: a stray draw changed a seeded initialisation"
        );
    }

    #[test]
    fn seeded_modules_are_drawn_before_the_lock_is_released() {
        use crate::model::{HeadKind, ModelConfig, Policy};
        use crate::train::recipes::{auxiliary, ppo};
        let device = Device::flex();
        let model = ModelConfig::preset("xs", HeadKind::Bins).unwrap();
        let horizon = auxiliary::AuxiliaryConfig::default().horizon;
        drawn_before_release("policy", || Policy::new(&model, 12, &device).unwrap());
        drawn_before_release("auxiliary heads", || {
            auxiliary::AuxiliaryHeads::new(&model, horizon, &device)
        });
        drawn_before_release("value head", || ppo::ValueHead::new(model.width, &device));
    }

    #[test]
    fn unknown_backend_names_the_compiled_ones() {
        let e = "tpu".parse::<Backend>().unwrap_err().to_string();
        assert!(e.contains("unknown backend 'tpu'"), "{e}");
        assert!(e.contains("flex"), "{e}");
    }

    #[test]
    fn cuda_is_not_compiled_by_default() {
        if !cfg!(feature = "cuda") {
            let e = open(Backend::Cuda).unwrap_err().to_string();
            assert!(e.contains("not compiled"), "{e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn flex_opens() {
        let d = open(Backend::Flex).unwrap();
        assert_eq!(d.backend, Backend::Flex);
    }
}
