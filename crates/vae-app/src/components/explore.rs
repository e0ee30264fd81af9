//! Explore: one slider per latent dimension and the digit the decoder makes of them, live.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::digits::DigitCanvas;
use crate::draw::{DigitGrid, DIGIT_SIDE};
use crate::lab::{LabHandle, LabUi, PICKABLE_DIGITS, STRIP_POINTS};
use vae_reference::latent::ACTIVE_KL_NATS;

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
    let views = ui.views;
    // Each dimension's KL over the test set, from the latest map.
    let kl_of = move |i: usize| {
        views
            .map
            .with(|m| m.as_ref().and_then(|m| m.kl.get(i).copied()))
    };
    let largest_kl = move || {
        views.map.with(|m| {
            m.as_ref()
                .map_or(0.0, |m| m.kl.iter().copied().fold(0.0, f64::max))
        })
    };
    let order = move || {
        let mut order: Vec<usize> = (0..latent()).collect();
        if views.order_by_kl.get() {
            views.map.with(|m| {
                if let Some(m) = m {
                    order.sort_by(|&a, &b| {
                        let kl = |d: usize| m.kl.get(d).copied().unwrap_or(0.0);
                        kl(b).total_cmp(&kl(a))
                    });
                }
            });
        }
        order
    };
    // A placeholder of about the same length until the first evaluation: the sliders under it
    // stay where they are when the figures arrive.
    let kl_summary = move || {
        views.map.with(|m| match m {
            Some(m) => {
                let total: f64 = m.kl.iter().sum();
                view! {
                    <p class="caption kl-summary" id="kl-summary" data-kl-total=format!("{total:.5}") data-active=m.active.to_string()>
                        {format!(
                            "Information per latent (KL to the prior, test set): {} of {} active (above {ACTIVE_KL_NATS} nats), {total:.2} nats in all. Dimmed sliders change nothing.",
                            m.active,
                            m.kl.len()
                        )}
                    </p>
                }
                .into_any()
            }
            None => view! {
                <p class="caption kl-summary">"Information per latent (KL to the prior, test set): measured when the model has been evaluated on the test set."</p>
            }
            .into_any(),
        })
    };
    let digits = move || {
        labels
            .get()
            .into_iter()
            .take(PICKABLE_DIGITS)
            .enumerate()
            .map(|(i, label)| {
                let text = format!("Test image {} ({})", i + 1, ui.class_name(label));
                view! { <option value=i.to_string()>{text}</option> }
            })
            .collect_view()
    };
    view! {
        <section class="panel explore" id="explore" aria-labelledby="explore-title">
            <h2 id="explore-title">"Explore the latent space"</h2>
            <div class="explore-body">
                <div class="decoded-wrap">
                    <DigitCanvas canvas=ui.canvases.decoded id="decoded" class="digit-large" grid=DigitGrid::single()
                        label="the digit the decoder makes of the sliders' latent point" />
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
                    <p class="caption">"Decoded as you drag (on your GPU, or your CPU where there is none); the sliders jump to an encoded digit's posterior mean."</p>
                </div>
                <div class="slider-column">
                <div class="slider-head">
                    {kl_summary}
                    <label class="check">
                        <input
                            type="checkbox"
                            id="order-by-kl"
                            prop:checked=move || views.order_by_kl.get()
                            on:change=move |event| views.order_by_kl.set(event_target_checked(&event))
                        />
                        "Order by information"
                    </label>
                </div>
                <div
                    class="sliders"
                    role="group"
                    aria-label="latent dimensions"
                    on:pointerenter=move |_| lab.with_value(|c| c.pointer_at_sliders(true))
                    on:pointerleave=move |_| lab.with_value(|c| c.pointer_at_sliders(false))
                    on:focusin=move |_| lab.with_value(|c| c.slider_focused())
                >
                    <For each=order key=|i| *i let:i>
                        {
                            let value = move || ui.z.with(|z| z.get(i).copied().unwrap_or(0.0));
                            let kl = move || kl_of(i);
                            let inactive = move || kl().is_some_and(|kl| kl <= ACTIVE_KL_NATS);
                            let bar = move || {
                                let share = kl().map_or(0.0, |kl| kl / largest_kl().max(1e-9));
                                format!("width: {:.1}%", 100.0 * share.clamp(0.0, 1.0))
                            };
                            view! {
                                <div class="slider" class:inactive=inactive data-kl=move || kl().map(|kl| format!("{kl:.5}"))>
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
                                    <span class="kl" title="this dimension's KL to the prior over the test set">
                                        <span class="kl-bar" style=bar></span>
                                        <span class="kl-value">{move || kl().map(|kl| format!("{kl:.2}"))}</span>
                                    </span>
                                    <canvas
                                        id=format!("strip-{i}")
                                        class="strip"
                                        width=(STRIP_POINTS * DIGIT_SIDE).to_string()
                                        height=DIGIT_SIDE.to_string()
                                        role="img"
                                        aria-label=format!("z{} swept from −2 to +2, the others held", i + 1)
                                    ></canvas>
                                </div>
                            }
                        }
                    </For>
                </div>
                </div>
            </div>
        </section>
    }
}
