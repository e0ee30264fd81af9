//! A straight line between two posterior means (or the sliders' point), as a strip of decodes
//! and a scrubber that plays it.

use std::time::Duration;

use leptos::prelude::*;

use crate::components::digits::DigitCanvas;
use crate::draw::DigitGrid;
use crate::lab::{
    Endpoint, LabHandle, LabUi, INTERPOLATION_FRAMES, INTERPOLATION_SHOWN, PICKABLE_DIGITS,
};

fn encode(endpoint: Endpoint) -> String {
    match endpoint {
        Endpoint::Sliders => "sliders".into(),
        Endpoint::Test(i) => i.to_string(),
    }
}

fn decode(value: &str) -> Option<Endpoint> {
    match value {
        "sliders" => Some(Endpoint::Sliders),
        index => index.parse().ok().map(Endpoint::Test),
    }
}

#[component]
pub fn InterpolationView(lab: LabHandle, ui: LabUi, labels: RwSignal<Vec<u8>>) -> impl IntoView {
    let views = ui.views;
    let playing = RwSignal::new(None::<IntervalHandle>);
    let forward = RwSignal::new(true);
    let options = move |selected: Endpoint| {
        let tests = labels
            .get()
            .into_iter()
            .take(PICKABLE_DIGITS)
            .enumerate()
            .map(move |(i, label)| {
                let endpoint = Endpoint::Test(i);
                view! { <option value=encode(endpoint) selected=selected == endpoint>{format!("test image {} ({})", i + 1, ui.class_name(label))}</option> }
            })
            .collect_view();
        view! {
            <option value="sliders" selected=selected == Endpoint::Sliders>"the sliders' point"</option>
            {tests}
        }
    };
    let choose = move |which: RwSignal<Endpoint>, value: String| {
        if let Some(endpoint) = decode(&value) {
            which.set(endpoint);
            lab.with_value(|c| c.refresh_interpolation());
        }
    };
    let show = move |frame: usize| {
        views.frame.set(frame);
        lab.with_value(|c| c.show_frame(frame));
    };
    let last = INTERPOLATION_FRAMES - 1;
    let toggle = move |_| {
        if let Some(handle) = playing.get_untracked() {
            handle.clear();
            playing.set(None);
            return;
        }
        // Back and forth, 25 frames a second: the frames are all here, no GPU work per frame.
        let handle = set_interval_with_handle(
            move || {
                let frame = views.frame.get_untracked();
                let next = if forward.get_untracked() {
                    frame + 1
                } else {
                    frame.saturating_sub(1)
                };
                if next == 0 || next >= last {
                    forward.update(|f| *f = !*f);
                }
                show(next.min(last));
            },
            Duration::from_millis(40),
        );
        playing.set(handle.ok());
    };
    on_cleanup(move || {
        if let Some(handle) = playing.get_untracked() {
            handle.clear();
        }
    });
    view! {
        <div class="latent-view interpolation-view">
            <h3>"Interpolation"</h3>
            <div class="button-row">
                <label for="interp-from">"From"</label>
                <select id="interp-from" on:change=move |e| choose(views.from, event_target_value(&e))>
                    {move || options(views.from.get())}
                </select>
                <label for="interp-to">"to"</label>
                <select id="interp-to" on:change=move |e| choose(views.to, event_target_value(&e))>
                    {move || options(views.to.get())}
                </select>
            </div>
            <DigitCanvas canvas=ui.canvases.interpolation id="interpolation" class="digits" grid=DigitGrid::new(1, INTERPOLATION_SHOWN)
                label="decodes along the straight line between the two points, start to end" />
            <div class="scrub-row">
                <DigitCanvas canvas=ui.canvases.interpolation_frame id="interpolation-frame" class="digit-medium" grid=DigitGrid::single()
                    label="the decode at the scrubber's position" />
                <label for="interp-scrub" class="visually-hidden">"Position along the line"</label>
                <input
                    id="interp-scrub"
                    type="range"
                    min="0"
                    max=last.to_string()
                    step="1"
                    prop:value=move || views.frame.get().to_string()
                    on:input=move |event| {
                        if let Ok(frame) = event_target_value(&event).parse::<usize>() {
                            show(frame.min(last));
                        }
                    }
                />
                <button id="interp-play" on:click=toggle aria-pressed=move || playing.with(Option::is_some).to_string()>
                    {move || if playing.with(Option::is_some) { "Stop" } else { "Play" }}
                </button>
            </div>
            <p class="caption">"Decodes of the posterior means' straight line, both ends included: each end is that digit's reconstruction."</p>
        </div>
    }
}
