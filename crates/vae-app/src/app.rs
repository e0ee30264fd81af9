//! The page: connects to the GPU once on load, then shows what it got.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_gpu::selftest::{check_dense_forward, KernelCheck};
use vae_gpu::{AdapterSummary, GpuContext, GpuError};

use crate::components::{AdapterPanel, DataPanel, KernelCheckPanel, WebGpuUnavailable};
use crate::data::{load_shard, DataState};

/// Where the page stands with the GPU.
#[derive(Clone, Debug)]
enum GpuState {
    Connecting,
    /// No WebGPU in this browser: the page explains what to do instead.
    Unavailable(String),
    /// WebGPU exists but something else failed (device creation, a kernel): show it plainly.
    Failed(String),
    Ready {
        adapter: AdapterSummary,
        check: Result<KernelCheck, String>,
    },
}

async fn connect() -> GpuState {
    match GpuContext::new().await {
        Err(GpuError::WebGpuUnavailable { reason }) => GpuState::Unavailable(reason),
        Err(error) => GpuState::Failed(error.to_string()),
        Ok(context) => GpuState::Ready {
            adapter: context.adapter.clone(),
            check: check_dense_forward(&context)
                .await
                .map_err(|error| error.to_string()),
        },
    }
}

#[component]
pub fn App() -> impl IntoView {
    let state = RwSignal::new(GpuState::Connecting);
    // Never block the main thread on the GPU: the connection and the check run as a task and
    // the page renders "connecting" until they report.
    spawn_local(async move { state.set(connect().await) });
    // The data downloads alongside; a failure here leaves the GPU side usable.
    let data = RwSignal::new(DataState::Downloading {
        received: 0,
        total: None,
    });
    spawn_local(load_shard(data));

    view! {
        <header class="masthead">
            <h1>"VAE Lab"</h1>
            <p class="tagline">
                "A variational autoencoder lab that runs on your own GPU, in this page, through WebGPU."
            </p>
        </header>
        <main id="gpu-status" aria-live="polite">
            {move || match state.get() {
                GpuState::Connecting => {
                    view! { <p class="status connecting">"Connecting to your GPU…"</p> }.into_any()
                }
                GpuState::Unavailable(reason) => view! { <WebGpuUnavailable reason /> }.into_any(),
                GpuState::Failed(message) => {
                    view! {
                        <section class="panel error" id="gpu-error" role="alert">
                            <h2>"The GPU could not be used"</h2>
                            <p>{message}</p>
                            <p>"Reload the page to try again; if it persists, update your browser and GPU driver."</p>
                        </section>
                    }
                        .into_any()
                }
                GpuState::Ready { adapter, check } => {
                    view! {
                        <AdapterPanel adapter />
                        <KernelCheckPanel check />
                    }
                        .into_any()
                }
            }}
            <DataPanel state=data />
        </main>
        <footer class="colophon">
            <p>
                "Everything runs in your browser: the kernels are our own WGSL, run on your GPU by "
                <a href="https://wgpu.rs">"wgpu"</a>" through WebGPU; no server computes anything."
            </p>
            <p>
                "Data: the MNIST database of handwritten digits by Yann LeCun, Corinna Cortes and \
                 Christopher J. C. Burges, under "
                <a href="https://creativecommons.org/licenses/by-sa/3.0/">"CC BY-SA 3.0"</a>
                "; binarised for this lab as in Salakhutdinov & Murray (2008)."
            </p>
        </footer>
    }
}
