//! Where the lab's model comes from: a [`Backend`] (the GPU's device, or CPU workers) opens a
//! [`Model`], which the lab then talks to through the model's one interface ([`Engine`]) and
//! never asks which engine runs it. On WebGPU it is `vae-gpu`'s [`GpuEngine`]; on the CPU the
//! page's proxy ([`WorkerEngine`]) to the CPU engine in Web Workers.

mod choice;
mod cpu;
mod workers;

use std::rc::Rc;

use vae_gpu::{GpuContext, GpuEngine};
use vae_worker::client::Simd;

pub use choice::{choose, remember_switch, Choice};
pub use cpu::WorkerEngine;
pub use vae_model::engine::{
    settled, DecodeSizes, Decoding, Lines, MetricsReply, Opening, PendingPair, Posterior,
};
pub use vae_model::{Engine, EngineError, Pending};

/// A model on one of the engines.
pub type Model = Box<dyn Engine>;

/// Where models are built: the GPU's device, or a fresh CPU worker per model (so a model being
/// built never disturbs the one in use, and dropping a model ends its worker).
#[derive(Clone)]
pub enum Backend {
    Gpu(Box<GpuContext>),
    Cpu {
        /// The URL the worker's scripts are under (the page's base, ending in `/`).
        base: Rc<str>,
    },
}

/// Which CPU-worker module to start: the relaxed-SIMD one where the browser has it, unless the
/// address says `?simd=128` (to compare the two).
pub fn worker_simd() -> Simd {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    if search.contains("simd=128") {
        Simd::Simd128
    } else {
        Simd::Best
    }
}

/// This browser's localStorage, where the engine choices are kept.
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The value of `name=` in the page's address, if given (`?engine=cpu&workers=2`).
fn address_value(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let prefix = format!("{name}=");
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix(prefix.as_str()).map(str::to_string))
}

/// The page's base URL (where trunk put the worker's scripts), ending in `/`.
pub fn page_base() -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    // The directory of the page, not the page itself.
    match base
        .split(['?', '#'])
        .next()
        .and_then(|b| b.rfind('/').map(|i| &b[..=i]))
    {
        Some(dir) => dir.to_string(),
        None => "./".to_string(),
    }
}

/// Opens a model on `backend`, without its data yet: it can decode (the first digit) at once.
pub async fn open(backend: &Backend, opening: Opening<'_>) -> Result<Model, EngineError> {
    Ok(match backend {
        Backend::Gpu(context) => Box::new(GpuEngine::open((**context).clone(), opening).await?),
        Backend::Cpu { base } => {
            let (workers, why) = workers::spawn(base, worker_simd())
                .await
                .map_err(EngineError::Failed)?;
            Box::new(WorkerEngine::open(Rc::new(workers), why, opening).await?)
        }
    })
}
