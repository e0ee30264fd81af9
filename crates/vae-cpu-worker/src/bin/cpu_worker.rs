//! The Web Worker that hosts the CPU engine (trunk builds it with `data-type="worker"`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    vae_cpu_worker::entry::run();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("cpu-worker runs in a browser's Web Worker; natively, use `vae train --backend cpu`");
}
