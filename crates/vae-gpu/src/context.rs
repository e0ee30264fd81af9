//! Getting a device: one constructor for native backends and for the browser's WebGPU.

use std::sync::{Arc, Mutex};

use crate::read_watch::ReadWatch;
use crate::GpuError;

/// What the user should know about the adapter we run on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name; in a browser, built from what the browser chooses to reveal.
    pub name: String,
    /// "Vulkan", "Metal", "Dx12", "Gl" or "WebGPU".
    pub backend: String,
    /// The driver and its version, where the platform reports them.
    pub driver: String,
    /// A CPU emulation (lavapipe, SwiftShader, WARP): correct but slow, worth telling the user.
    pub is_software: bool,
    /// Lanes per subgroup when the adapter offers subgroup operations at one fixed size (8 on
    /// lavapipe, 4 on SwiftShader); the device is then created with them enabled.
    pub subgroup_size: Option<u32>,
    /// What the platform calls the adapter's architecture ("swiftshader" for Chromium's
    /// software WebGPU); often empty.
    pub architecture: String,
}

impl AdapterSummary {
    /// Chromium's CPU emulation of a GPU, which compiles large unrolled kernels slowly and
    /// gets kernels of its own.
    pub fn is_swiftshader(&self) -> bool {
        self.architecture.eq_ignore_ascii_case("swiftshader")
            || self.name.to_ascii_lowercase().contains("swiftshader")
    }
}

/// A device and its queue, plus what we learned about the adapter. Cloning is cheap (the
/// handles are reference-counted): a new model on the same device takes a clone.
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    /// Set by wgpu when the device is lost (driver reset, GPU removed, tab backgrounded too long).
    lost: Arc<Mutex<Lost>>,
    /// Keeps read-back completions prompt while any read is out.
    pub(crate) reads: ReadWatch,
}

/// What the model's buffers must fit on a device with these limits, as the model checks it.
pub fn binding_limits(limits: &wgpu::Limits) -> vae_model::BindingLimits {
    vae_model::BindingLimits {
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
    }
}

impl GpuContext {
    /// This device's limits as the model's checks take them.
    pub fn binding_limits(&self) -> vae_model::BindingLimits {
        binding_limits(&self.limits)
    }

    /// Opens the best adapter the platform offers and a device with all of its limits.
    ///
    /// Natively the backends can be narrowed with `WGPU_BACKEND` (e.g. `vulkan`, `gl`).
    /// In a browser this fails with [`GpuError::WebGpuUnavailable`] when WebGPU is missing or
    /// disabled, which the app turns into advice.
    pub async fn new() -> Result<Self, GpuError> {
        let adapter = request_adapter().await?;
        // Ask for everything the adapter offers: the defaults are the WebGPU minimums, too
        // small for a full training set in one storage buffer.
        let limits = adapter.limits();
        let described = describe_adapter(&adapter).await;
        let features = if described.subgroup_size.is_some() && adapter_lists_subgroups(&adapter) {
            wgpu::Features::SUBGROUP
        } else {
            wgpu::Features::empty()
        };
        #[cfg(target_arch = "wasm32")]
        web::ask_for_subgroups();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("vae-gpu device"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await?;
        // The kernels may use subgroups only if this device has them.
        let summary = AdapterSummary {
            subgroup_size: described
                .subgroup_size
                .filter(|_| device_has_subgroups(features)),
            ..described
        };
        let lost = Arc::new(Mutex::new(Lost::default()));
        let report = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            let reason = match message.trim().trim_end_matches('.') {
                "" => format!("{reason:?}"),
                message => format!("{reason:?}: {message}"),
            };
            if let Ok(mut lost) = report.lock() {
                for waiter in lost.waiters.drain(..) {
                    let _ = waiter.send(reason.clone());
                }
                lost.reason = Some(reason);
            }
        });
        let reads = ReadWatch::new(&queue);
        Ok(Self {
            device,
            queue,
            adapter: summary,
            limits,
            lost,
            reads,
        })
    }

    /// An error if the device has been lost: every later GPU call would fail, and the caller
    /// must create a new context (and reload its last checkpoint) to go on.
    pub fn check_device(&self) -> Result<(), GpuError> {
        match self.lost.lock().ok().and_then(|lost| lost.reason.clone()) {
            Some(reason) => Err(GpuError::DeviceLost(reason)),
            None => Ok(()),
        }
    }

    /// Resolves with the reason once the device is lost (at once if it already is): how a page
    /// learns of a loss while nothing of its own is waiting on the GPU.
    pub fn when_lost(&self) -> impl std::future::Future<Output = String> + 'static {
        let (send, receive) = futures_channel::oneshot::channel();
        if let Ok(mut lost) = self.lost.lock() {
            match &lost.reason {
                Some(reason) => {
                    let _ = send.send(reason.clone());
                }
                None => lost.waiters.push(send),
            }
        }
        async move {
            receive
                .await
                .unwrap_or_else(|_| "the device was dropped".into())
        }
    }

    /// Destroys the device, as a driver reset or the browser's GPU process restarting would:
    /// every resource of it is gone and [`GpuContext::when_lost`] resolves. Tests' (and a test
    /// page's) way to lose a device on purpose.
    pub fn destroy_device(&self) {
        self.device.destroy();
        // Natively wgpu reports the loss when the device is next maintained; a browser does it
        // on its own.
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::Poll);
    }
}

/// Whether the device is lost, and who waits to hear of it.
#[derive(Default)]
struct Lost {
    reason: Option<String>,
    waiters: Vec<futures_channel::oneshot::Sender<String>>,
}

async fn request_adapter() -> Result<wgpu::Adapter, GpuError> {
    #[cfg(target_arch = "wasm32")]
    if web::navigator_gpu().is_none() {
        return Err(GpuError::WebGpuUnavailable {
            reason: "this browser does not expose the WebGPU API (navigator.gpu is missing)".into(),
        });
    }
    #[cfg(target_arch = "wasm32")]
    let backends = wgpu::Backends::BROWSER_WEBGPU;
    #[cfg(not(target_arch = "wasm32"))]
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    };
    instance.request_adapter(&options).await.map_err(|_| {
        #[cfg(target_arch = "wasm32")]
        return GpuError::WebGpuUnavailable {
            reason: "the browser has the WebGPU API but offered no adapter: WebGPU is disabled, \
                     or this GPU or driver is blocklisted"
                .into(),
        };
        #[cfg(not(target_arch = "wasm32"))]
        GpuError::NoAdapter {
            backends: format!("{backends:?}"),
        }
    })
}

#[cfg(not(target_arch = "wasm32"))]
async fn describe_adapter(adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    AdapterSummary {
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        driver: [info.driver.as_str(), info.driver_info.as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
        is_software: info.device_type == wgpu::DeviceType::Cpu,
        subgroup_size: fixed_subgroup_size(&info),
        architecture: String::new(),
    }
}

/// The subgroup size, when it cannot vary between pipelines: the register-block kernels then
/// share loads between lanes (kernels::dense::FastPath::sharing_lanes), if the device gets
/// subgroups.
fn fixed_subgroup_size(info: &wgpu::AdapterInfo) -> Option<u32> {
    let (min, max) = (info.subgroup_min_size, info.subgroup_max_size);
    (min == max && min > 0).then_some(min)
}

/// Natively wgpu lists subgroups among the adapter's features. Its WebGPU backend (wgpu 30)
/// does not map the browser's "subgroups" feature at all: there `web::ask_for_subgroups`
/// requests it and `web::subgroups_granted` tells whether the device got it.
fn adapter_lists_subgroups(adapter: &wgpu::Adapter) -> bool {
    adapter.features().contains(wgpu::Features::SUBGROUP)
}

/// Whether the device just created has subgroups: natively, whether they were requested (the
/// adapter listed them); in a browser, what `web::subgroups_granted` saw.
fn device_has_subgroups(requested: wgpu::Features) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        let _ = requested;
        web::subgroups_granted()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        requested.contains(wgpu::Features::SUBGROUP)
    }
}

#[cfg(target_arch = "wasm32")]
async fn describe_adapter(adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    // wgpu reports only the free-text description, which browsers often leave empty; the
    // vendor and architecture strings of GPUAdapterInfo are what identify the adapter.
    let details = web::adapter_info().await;
    let name = [
        details.vendor.as_str(),
        details.architecture.as_str(),
        details.description.as_str(),
    ]
    .iter()
    .filter(|part| !part.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" ");
    AdapterSummary {
        name: if name.is_empty() {
            "unnamed WebGPU adapter (the browser hides its name)".into()
        } else {
            name
        },
        backend: "WebGPU".into(),
        driver: String::new(),
        is_software: info.device_type == wgpu::DeviceType::Cpu || details.is_fallback,
        subgroup_size: fixed_subgroup_size(&info),
        architecture: details.architecture.clone(),
    }
}

/// The parts of the browser's WebGPU that wgpu does not surface, read through plain JS reflection
/// (no unstable web-sys APIs, so no special RUSTFLAGS are needed).
#[cfg(target_arch = "wasm32")]
mod web {
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    #[derive(Default)]
    pub(super) struct AdapterInfo {
        pub vendor: String,
        pub architecture: String,
        pub description: String,
        pub is_fallback: bool,
    }

    #[wasm_bindgen(inline_js = r#"
        let granted = false;
        let patched = false;
        // wgpu 30 asks a browser only for the features it maps, and "subgroups" is not one:
        // the next device requested gets it whenever its adapter offers it.
        export function ask_for_subgroups() {
            granted = false;
            if (patched || typeof GPUAdapter === 'undefined') return;
            patched = true;
            const requestDevice = GPUAdapter.prototype.requestDevice;
            GPUAdapter.prototype.requestDevice = async function (descriptor) {
                const wanted = { ...(descriptor ?? {}) };
                const features = [...(wanted.requiredFeatures ?? [])];
                if (this.features.has('subgroups') && !features.includes('subgroups')) {
                    features.push('subgroups');
                }
                wanted.requiredFeatures = features;
                const device = await requestDevice.call(this, wanted);
                granted = device.features.has('subgroups');
                return device;
            };
        }
        export function subgroups_granted() { return granted; }
    "#)]
    extern "C" {
        pub(super) fn ask_for_subgroups();
        pub(super) fn subgroups_granted() -> bool;
    }

    fn get(object: &JsValue, key: &str) -> Option<JsValue> {
        js_sys::Reflect::get(object, &JsValue::from_str(key))
            .ok()
            .filter(|value| !value.is_undefined() && !value.is_null())
    }

    pub(super) fn navigator_gpu() -> Option<JsValue> {
        let navigator = web_sys::window()?.navigator();
        get(&navigator, "gpu")
    }

    pub(super) async fn adapter_info() -> AdapterInfo {
        let Some(gpu) = navigator_gpu() else {
            return AdapterInfo::default();
        };
        let Some(request) = get(&gpu, "requestAdapter")
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .and_then(|f| f.call0(&gpu).ok())
            .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        else {
            return AdapterInfo::default();
        };
        let Some(info) = JsFuture::from(request)
            .await
            .ok()
            .and_then(|adapter| get(&adapter, "info"))
        else {
            return AdapterInfo::default();
        };
        let text = |key| {
            get(&info, key)
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        AdapterInfo {
            vendor: text("vendor"),
            architecture: text("architecture"),
            description: text("description"),
            is_fallback: get(&info, "isFallbackAdapter")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        }
    }
}
