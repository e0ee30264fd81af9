//! How likely the model finds the test digits: the importance-weighted estimate of log p(x)
//! (the ELBO is only a lower bound on it), with a choice of draws K and of how many digits,
//! progress, and Cancel. The figures go on the model's curve.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::digits::grouped;
use crate::draw::{draw_digits, DigitGrid};
use crate::lab::{Estimate, LabHandle, LabUi, LikelihoodPoint, Phase, RankedDigit};

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
                 ELBO itself; papers report K = 5,000, which "
                <code>"vae eval --iw-samples 5000"</code>
                " computes natively."
                {move || {
                    ui.grey_targets.get().then_some(
                        " On this data's grey levels the 'likelihood' is the cross-entropy's: a \
                         bound to compare between models of this data, not a log-likelihood in nats.",
                    )
                }}
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
            {move || ui.ranked.get().map(|ranked| view! {
                <div class="ranked" id="ranked" data-step=ranked.step.to_string()>
                    <p class="caption">
                        {format!(
                            "The digits the model found least and most likely (K = {}, step {}), \
                             each above its reconstruction: a click takes the sliders there.",
                            grouped(u64::from(ranked.samples)),
                            grouped(ranked.step)
                        )}
                    </p>
                    <RankedRow lab title="Least likely" id="least-likely" digits=ranked.least.clone() />
                    <RankedRow lab title="Most likely" id="most-likely" digits=ranked.most.clone() />
                </div>
            })}
        </div>
    }
}

/// A row of ranked digits, each a button that takes the sliders to it.
#[component]
fn RankedRow(
    lab: LabHandle,
    title: &'static str,
    id: &'static str,
    digits: Vec<RankedDigit>,
) -> impl IntoView {
    view! {
        <div class="ranked-row" id=id>
            <span class="ranked-title">{title}</span>
            {digits.into_iter().map(|digit| {
                let canvas = NodeRef::<Canvas>::new();
                let both = [digit.pixels.clone(), digit.reconstruction.clone()].concat();
                Effect::new(move || {
                    if let Some(canvas) = canvas.get() {
                        draw_digits(&canvas, &both, DigitGrid::new(2, 1));
                    }
                });
                let grid = DigitGrid::new(2, 1);
                let label = format!(
                    "test digit {}: log p(x) ≥ {:.1} nats; show it on the sliders",
                    digit.index + 1,
                    digit.log_likelihood
                );
                let index = digit.index;
                view! {
                    <button
                        class="ranked-digit"
                        data-index=index.to_string()
                        data-log-likelihood=format!("{:.4}", digit.log_likelihood)
                        title=label.clone()
                        aria-label=label
                        on:click=move |_| lab.with_value(|c| c.encode_test_digit(index))
                    >
                        <canvas node_ref=canvas width=grid.width().to_string() height=grid.height().to_string()></canvas>
                        <span>{format!("{:.0}", digit.log_likelihood)}</span>
                    </button>
                }
            }).collect_view()}
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
