use leptos::prelude::*;

use crate::lab::{LabHandle, LabUi, Phase};

/// Which engine trains the model, why, and a switch to the other one.
#[component]
pub fn EnginePanel(lab: LabHandle, ui: LabUi) -> impl IntoView {
    let engine = ui.engine;
    let busy = move || {
        ui.phase
            .with(|p| matches!(p, Phase::Building | Phase::Lost(_)))
    };
    let switch = move |_| lab.with_value(|c| c.switch_engine());
    view! {
        <section class="panel" id="engine"
            data-engine=move || engine.with(|e| if e.name.is_empty() { "" } else if e.on_cpu { "cpu" } else { "webgpu" })>
            <h2>"Engine"</h2>
            <p id="engine-name">{move || engine.with(|e| e.name.clone())}</p>
            <p class="note" id="engine-why">{move || engine.with(|e| e.why.clone())}</p>
            <Show when=move || engine.with(|e| e.on_cpu && !e.workers.is_empty())>
                <p class="note" id="engine-workers">{move || engine.with(|e| e.workers.clone())}</p>
            </Show>
            <Show when=move || engine.with(|e| e.gpu.is_some() && !e.name.is_empty())>
                <button id="engine-switch" type="button" disabled=busy on:click=switch>
                    {move || engine.with(|e| if e.on_cpu {
                        format!("Train on WebGPU ({}) instead", e.gpu.clone().unwrap_or_default())
                    } else {
                        "Train on the CPU instead".to_string()
                    })}
                </button>
            </Show>
        </section>
    }
}
