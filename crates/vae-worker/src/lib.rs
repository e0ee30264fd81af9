//! Talking to the CPU engine's Web Workers: the messages both sides exchange ([`protocol`]) and
//! their JS encoding ([`wire`]), and, with the `client` feature (the page's), the page's
//! [`client`] for one worker and [`workers`] for the one or two that train a model (two share
//! each batch). The workers themselves are `vae-cpu-worker`: the page links none of their code
//! and no CPU engine through this crate.

pub mod protocol;
pub mod wire;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod workers;

/// The workers' names as trunk writes them after the binaries (`index.html`): `NAME.js` and
/// `NAME_bg.wasm`. The relaxed-SIMD build is used where the browser validates relaxed SIMD.
pub const WORKER: &str = "cpu-worker";
pub const RELAXED_WORKER: &str = "cpu-worker-relaxed";
