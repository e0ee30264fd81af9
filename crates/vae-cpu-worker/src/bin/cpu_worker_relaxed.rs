//! The CPU worker built with relaxed-SIMD's fused multiply-add (`--features relaxed-simd`):
//! the page starts it where the browser validates relaxed SIMD, `cpu-worker` elsewhere.

fn main() {
    #[cfg(target_arch = "wasm32")]
    vae_cpu_worker::entry::run();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("cpu-worker-relaxed runs in a browser's Web Worker; natively, use `vae train --backend cpu`");
}
