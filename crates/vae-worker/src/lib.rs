//! The CPU engine in a Web Worker, so training on the CPU never stalls the page: the messages
//! ([`protocol`]), the worker's side ([`host`], plain Rust, tested natively), and on the web the
//! page's [`client`] and the worker's entry point (`src/bin/cpu_worker.rs`, built by trunk as
//! a worker).

pub mod host;
pub mod protocol;

pub mod client;
pub mod entry;
mod wire;

/// The worker's script and module, as trunk names them after the binary (`index.html`).
pub const WORKER_SCRIPT: &str = "cpu-worker.js";
pub const WORKER_MODULE: &str = "cpu-worker_bg.wasm";
