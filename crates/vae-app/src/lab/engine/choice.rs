//! Which engine the lab uses. A real GPU: WebGPU. No WebGPU at all: the CPU. An emulated GPU
//! (a fallback adapter such as SwiftShader or lavapipe, which runs on the same CPU cores): a
//! short calibration times a few training steps on each and takes the faster, remembered in
//! this browser for that adapter so it runs once. `?engine=webgpu|cpu` in the address, or the
//! visitor's own switch (kept in this browser), overrides all of it.

use vae_gpu::vae::Vae;
use vae_gpu::GpuContext;
use vae_model::VaeConfig;
use vae_worker::client::WorkerClient;
use vae_worker::protocol::{calibration_batch, Reply, Request};

use super::storage;

/// localStorage keys: the visitor's switch, and the calibration's figures.
const CHOSEN_KEY: &str = "vae-lab-engine";
const CALIBRATION_KEY: &str = "vae-lab-calibration";
/// Timed steps per engine (after one untimed), about half a second on an emulated GPU.
const CALIBRATION_STEPS: u32 = 3;

/// What the lab runs on, and why (the page shows it).
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub on_cpu: bool,
    pub why: String,
}

/// The engine named in the address (`?engine=cpu` / `?engine=webgpu`), if any.
fn in_address() -> Option<bool> {
    match super::address_value("engine")?.as_str() {
        "cpu" => Some(true),
        "webgpu" | "gpu" => Some(false),
        _ => None,
    }
}

/// Keeps the visitor's switch for the next visit.
pub fn remember_switch(on_cpu: bool) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(CHOSEN_KEY, if on_cpu { "cpu" } else { "webgpu" });
    }
}

fn remembered_switch() -> Option<bool> {
    match storage()?.get_item(CHOSEN_KEY).ok()??.as_str() {
        "cpu" => Some(true),
        "webgpu" => Some(false),
        _ => None,
    }
}

/// `context`: the browser's GPU device, if WebGPU gave one; `no_gpu`: why not, if not.
/// `worker_base`: where the CPU worker's scripts are.
pub async fn choose(
    context: Option<&GpuContext>,
    no_gpu: Option<&str>,
    worker_base: &str,
) -> Choice {
    let Some(context) = context else {
        let reason = no_gpu.unwrap_or("no adapter");
        return Choice {
            on_cpu: true,
            why: format!(
                "This browser gave the page no WebGPU ({reason}), so the model trains on your \
                 CPU, in WebAssembly. A browser with WebGPU on a real GPU trains faster."
            ),
        };
    };
    if let Some(on_cpu) = in_address() {
        return Choice {
            on_cpu,
            why: "Chosen in the page's address (?engine=…).".into(),
        };
    }
    if let Some(on_cpu) = remembered_switch() {
        return Choice {
            on_cpu,
            why: "Your choice, kept in this browser.".into(),
        };
    }
    let adapter = &context.adapter;
    if !adapter.is_software {
        return Choice {
            on_cpu: false,
            why: format!("WebGPU on your GPU ({}).", adapter.name),
        };
    }
    let timed = match cached_calibration(&adapter.name) {
        Some(timed) => Ok(timed),
        None => calibrate(context, worker_base).await,
    };
    match timed {
        Ok((gpu_ms, cpu_ms)) => {
            cache_calibration(&adapter.name, gpu_ms, cpu_ms);
            let on_cpu = cpu_ms < gpu_ms;
            Choice {
                on_cpu,
                why: format!(
                    "Your browser's WebGPU runs on an emulated GPU ({}), on the CPU. Timed here: \
                     {gpu_ms:.1} ms a training step on it, {cpu_ms:.1} ms on the CPU engine; the \
                     lab uses the faster.",
                    adapter.name
                ),
            }
        }
        Err(error) => Choice {
            on_cpu: false,
            why: format!(
                "WebGPU on an emulated GPU ({}); the CPU engine could not be timed ({error}).",
                adapter.name
            ),
        },
    }
}

fn cached_calibration(adapter: &str) -> Option<(f64, f64)> {
    let text = storage()?.get_item(CALIBRATION_KEY).ok()??;
    let mut parts = text.rsplitn(3, '|');
    let cpu = parts.next()?.parse().ok()?;
    let gpu = parts.next()?.parse().ok()?;
    (parts.next()? == adapter).then_some((gpu, cpu))
}

fn cache_calibration(adapter: &str, gpu_ms: f64, cpu_ms: f64) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(CALIBRATION_KEY, &format!("{adapter}|{gpu_ms}|{cpu_ms}"));
    }
}

fn now_ms() -> f64 {
    crate::draw::now_ms()
}

/// Milliseconds per training step of the default model on the GPU and on the CPU engine, each
/// after one untimed step (the GPU's pipelines compile first, the worker's module loads).
async fn calibrate(context: &GpuContext, worker_base: &str) -> Result<(f64, f64), String> {
    let config = VaeConfig::default();
    let x = calibration_batch(config.batch as usize, config.sizes.input);
    let mut vae = Vae::new(context.clone(), config)
        .await
        .map_err(|e| e.to_string())?;
    vae.train_step_on(&x).map_err(|e| e.to_string())?;
    vae.step_fence().bytes().await.map_err(|e| e.to_string())?;
    let started = now_ms();
    for _ in 0..CALIBRATION_STEPS {
        vae.train_step_on(&x).map_err(|e| e.to_string())?;
    }
    vae.step_fence().bytes().await.map_err(|e| e.to_string())?;
    let gpu_ms = (now_ms() - started) / f64::from(CALIBRATION_STEPS);
    drop(vae);
    let worker = WorkerClient::spawn(worker_base, super::worker_simd()).await?;
    let reply = worker
        .request(Request::Calibrate {
            steps: CALIBRATION_STEPS,
        })
        .await?;
    let Reply::Calibrated { ms_per_step } = reply else {
        return Err(format!("the CPU worker answered oddly: {reply:?}"));
    };
    crate::draw::mark("engine-calibrated");
    Ok((gpu_ms, ms_per_step))
}
