//! How likely the model finds the test digits: the importance-weighted estimate of log p(x)
//! (the ELBO is only a lower bound on it), with a choice of draws K and of how many digits,
//! progress, and Cancel. The figures go on the model's curve.

use leptos::prelude::*;

use super::digits::grouped;
use crate::lab::{Estimate, LabHandle, LabUi, LikelihoodPoint, Phase};

/// Draws per digit offered. A request holds one digit's draws at least, and the sliders' decode
/// waits behind one request: past 1,000 a digit's draws would hold it for too long on a CPU.
/// The papers' K = 5,000 (Burda et al. 2015) is `vae eval --iw-samples 5000`'s.
const SAMPLE_CHOICES: [u32; 4] = [1, 10, 100, 1000];
/// How many of the first test digits.
const IMAGE_CHOICES: [usize; 3] = [100, 1000, 10_000];

/// "−log p(x) ≤ 92.31 ± 0.45 nats (K = 100, 1,000 test digits, step 0)".
pub fn likelihood_text(point: &LikelihoodPoint) -> String {
    format!(
        "−log p(x) ≤ {:.2} ± {:.2} nats (K = {}, {} test digits, step {})",
        point.neg_log_likelihood,
        point.standard_error,
        grouped(u64::from(point.samples)),
        grouped(point.images as u64),
        grouped(point.step)
    )
}

#[component]
pub fn LikelihoodEstimate(lab: LabHandle, ui: LabUi) -> impl IntoView {
    let samples = RwSignal::new(100u64);
    let images = RwSignal::new(1000u64);
    let running = move || ui.estimate.with(|e| matches!(e, Estimate::Running { .. }));
    let idle = move || {
        ui.phase
            .with(|p| matches!(p, Phase::Ready | Phase::Diverged(_)))
    };
    let latest = move || ui.curve.with(|c| c.likelihood.last().copied());
    let start = move |_| {
        let (samples, images) = (samples.get_untracked(), images.get_untracked());
        lab.with_value(|c| c.estimate_likelihood(samples as u32, images as usize))
    };
    let status = move || {
        match ui.estimate.get() {
        Estimate::Running {
            samples,
            images,
            done,
            ..
        } => view! {
            <progress id="estimate-progress" max=images.to_string() value=done.to_string()></progress>
            {format!(" {} of {} digits, K = {}", grouped(done as u64), grouped(images as u64), grouped(u64::from(samples)))}
        }
        .into_any(),
        Estimate::Failed(text) => view! { <span class="warning">{text}</span> }.into_any(),
        Estimate::Idle => match latest() {
            Some(point) => likelihood_text(&point).into_any(),
            None => "Not estimated yet.".into_any(),
        },
    }
    };
    let state = move || match ui.estimate.get() {
        Estimate::Running { .. } => "running",
        Estimate::Failed(_) => "failed",
        Estimate::Idle if latest().is_some() => "done",
        Estimate::Idle => "none",
    };
    view! {
        <div class="likelihood" id="likelihood">
            <h3>"How likely are the test digits?"</h3>
            <p class="caption">
                "The −ELBO bounds −log p(x) from above. Drawing K samples of z per digit and \
                 averaging their importance weights p(x, z) / q(z | x) gives a tighter bound that \
                 reaches −log p(x) as K grows (Burda, Grosse & Salakhutdinov 2015). K = 1 is the \
                 ELBO itself; papers report K = 5,000, which `vae eval --iw-samples 5000` \
                 computes natively."
            </p>
            <div class="button-row estimate-row">
                <label for="iw-samples">"Samples K"</label>
                <Choice id="iw-samples" choices=SAMPLE_CHOICES.map(u64::from).to_vec() chosen=samples disabled=Signal::derive(running) />
                <label for="iw-images">"Test digits"</label>
                <Choice id="iw-images" choices=IMAGE_CHOICES.map(|n| n as u64).to_vec() chosen=images disabled=Signal::derive(running) />
                <button id="estimate-start" on:click=start disabled=move || running() || !idle()>
                    "Estimate log p(x)"
                </button>
                <button id="estimate-cancel" on:click=move |_| lab.with_value(|c| c.cancel_estimate()) disabled=move || !running()>
                    "Cancel"
                </button>
            </div>
            <p
                class="caption"
                id="estimate-status"
                role="status"
                data-state=state
                data-value=move || latest().map(|p| format!("{:.4}", p.neg_log_likelihood)).unwrap_or_default()
                data-samples=move || latest().map(|p| p.samples.to_string()).unwrap_or_default()
                data-images=move || latest().map(|p| p.images.to_string()).unwrap_or_default()
            >
                {status}
            </p>
        </div>
    }
}

/// A `<select>` of counts, shown grouped ("1,000").
#[component]
fn Choice(
    id: &'static str,
    choices: Vec<u64>,
    chosen: RwSignal<u64>,
    disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <select
            id=id
            on:change=move |event| {
                if let Ok(value) = event_target_value(&event).parse() {
                    chosen.set(value);
                }
            }
            disabled=move || disabled.get()
        >
            {choices.into_iter().map(|n| view! {
                <option value=n.to_string() selected=move || chosen.get() == n>{grouped(n)}</option>
            }).collect_view()}
        </select>
    }
}
