use leptos::prelude::*;
use vae_gpu::AdapterSummary;

/// The adapter the page runs on, with a warning when it is a slow software emulation.
#[component]
pub fn AdapterPanel(adapter: AdapterSummary) -> impl IntoView {
    let software = adapter.is_software;
    view! {
        <section class="panel" id="adapter" data-software=software.to_string()>
            <h2>"Your GPU"</h2>
            <dl>
                <dt>"Adapter"</dt>
                <dd id="adapter-name">{adapter.name}</dd>
                <dt>"API"</dt>
                <dd id="adapter-backend">{adapter.backend}</dd>
            </dl>
            <Show when=move || software>
                <p class="note" id="adapter-software-note">
                    "This is a software fallback adapter: the GPU is emulated on the CPU. \
                     Everything works, but training is much slower than on a real GPU."
                </p>
            </Show>
        </section>
    }
}
