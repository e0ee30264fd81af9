//! The CPU engine in a Web Worker, so training on the CPU never stalls the page: the messages
//! ([`protocol`]), the worker's side ([`host`] and its [`queue`], plain Rust, tested natively),
//! and on the web the page's [`client`] for one worker, [`workers`] for the one or two that
//! train a model (two share each batch), and the worker's entry point (`src/bin/cpu_worker.rs`,
//! built by trunk as a worker).

pub mod host;
pub mod protocol;
pub mod queue;

pub mod client;
pub mod entry;
mod wire;
pub mod workers;

/// The workers' names as trunk writes them after the binaries (`index.html`): `NAME.js` and
/// `NAME_bg.wasm`. The relaxed-SIMD build is used where the browser validates relaxed SIMD.
pub const WORKER: &str = "cpu-worker";
pub const RELAXED_WORKER: &str = "cpu-worker-relaxed";
