//! Explore: one slider per latent dimension and the digit the decoder makes of them, live.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::draw::DIGIT_SIDE;
use crate::lab::{LabHandle, LabUi, PICKABLE_DIGITS};

/// Slider range: the prior N(0, 1) has almost all its mass within ±3.
const Z_LIMIT: f32 = 3.0;

#[component]
pub fn ExplorePanel(lab: LabHandle, ui: LabUi, labels: RwSignal<Vec<u8>>) -> impl IntoView {
    let latent = move || ui.model.with(|m| m.map_or(0, |m| m.sizes.latent));
    let picked = RwSignal::new(0usize);
    let ready = move || ui.model.with(Option::is_some);
    let reset = move |_| lab.with_value(|c| c.set_z(vec![0.0; latent()], None));
    let random = move |_| lab.with_value(|c| c.random_z());
    let encode = move |_| lab.with_value(|c| c.encode_test_digit(picked.get_untracked()));
    let digits = move || {
        labels
            .get()
            .into_iter()
            .take(PICKABLE_DIGITS)
            .enumerate()
            .map(|(i, label)| {
                let text = format!("Test digit {} (a {label})", i + 1);
                view! { <option value=i.to_string()>{text}</option> }
            })
            .collect_view()
    };
    view! {
        <section class="panel explore" id="explore" aria-labelledby="explore-title">
            <h2 id="explore-title">"Explore the latent space"</h2>
            <div class="explore-body">
                <div class="decoded-wrap">
                    <canvas
                        node_ref=ui.canvases.decoded
                        id="decoded"
                        class="digit-large"
                        width=DIGIT_SIDE.to_string()
                        height=DIGIT_SIDE.to_string()
                        role="img"
                        aria-label="the digit the decoder makes of the sliders' latent point"
                    ></canvas>
                    <div class="button-row">
                        <button id="z-reset" on:click=reset disabled=move || !ready()>"z = 0"</button>
                        <button id="z-random" on:click=random disabled=move || !ready()>"Random z"</button>
                    </div>
                    <div class="encode-row">
                        <label for="digit-pick">"Encode"</label>
                        <select
                            id="digit-pick"
                            on:change=move |event| {
                                let value = event_target_value(&event);
                                picked.set(value.parse().unwrap_or(0));
                            }
                        >
                            {digits}
                        </select>
                        <button id="z-encode" on:click=encode disabled=move || !ready()>"Go"</button>
                    </div>
                    <p class="caption">"Decoded on your GPU as you drag; the sliders jump to an encoded digit's posterior mean."</p>
                </div>
                <div
                    class="sliders"
                    role="group"
                    aria-label="latent dimensions"
                    on:pointerenter=move |_| lab.with_value(|c| c.pointer_at_sliders(true))
                    on:pointerleave=move |_| lab.with_value(|c| c.pointer_at_sliders(false))
                    on:focusin=move |_| lab.with_value(|c| c.slider_focused())
                >
                    <For each=move || 0..latent() key=|i| *i let:i>
                        {
                            let value = move || ui.z.with(|z| z.get(i).copied().unwrap_or(0.0));
                            view! {
                                <div class="slider">
                                    <label for=format!("z-{i}")>{format!("z{}", i + 1)}</label>
                                    <input
                                        type="range"
                                        id=format!("z-{i}")
                                        min=(-Z_LIMIT).to_string()
                                        max=Z_LIMIT.to_string()
                                        step="0.01"
                                        prop:value=move || value().clamp(-Z_LIMIT, Z_LIMIT).to_string()
                                        on:input=move |event| {
                                            let at = event.time_stamp();
                                            let Some(input) = event
                                                .target()
                                                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                                            else {
                                                return;
                                            };
                                            let Ok(v) = input.value().parse::<f32>() else { return };
                                            let mut z = ui.z.get_untracked();
                                            if let Some(slot) = z.get_mut(i) {
                                                *slot = v;
                                                lab.with_value(|c| c.set_z(z, Some(at)));
                                            }
                                        }
                                    />
                                    <output for=format!("z-{i}")>{move || format!("{:+.2}", value())}</output>
                                </div>
                            }
                        }
                    </For>
                </div>
            </div>
        </section>
    }
}
