//! Train: the controls, the settings, the live curves and a readout of where training stands.

use leptos::prelude::*;

use super::chart::{Chart, Series, Style};
use super::digits::grouped;
use crate::lab::{Curve, LabHandle, LabUi, ModelKind, Phase, Progress};
use crate::settings::{FormErrors, SettingsForm};

/// An exponential moving average for the smoothed lines (display only).
fn smoothed(values: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut average: Option<f64> = None;
    values
        .map(|(x, y)| {
            let next = average.map_or(y, |a| a + 0.1 * (y - a));
            average = Some(next);
            (x, next)
        })
        .collect()
}

/// `kl_weight`: β of the model trained; when it is not 1 the objective trained on (BCE + β·KL)
/// is drawn beside the −ELBO, which stays the figure reported. `iwae`: the model trains on
/// IWAE's bound, which the legend says (the note under the chart gives its K).
fn elbo_series(curve: &Curve, kl_weight: f64, iwae: bool) -> Vec<Series> {
    let raw = || {
        curve
            .train
            .iter()
            .map(|p| (p.step as f64, f64::from(p.neg_elbo)))
    };
    let objective = (kl_weight != 1.0).then(|| Series {
        name: "β-objective BCE + β·KL, smoothed",
        class: "c-objective",
        style: Style::Line,
        points: smoothed(curve.train.iter().map(|p| {
            (
                p.step as f64,
                f64::from(p.bce) + kl_weight * f64::from(p.kl),
            )
        })),
    });
    let mut series = vec![
        Series {
            name: if iwae {
                "−ELBO per step, training on IWAE's bound L_K"
            } else {
                "−ELBO per step"
            },
            class: "c-elbo",
            style: Style::Faint,
            points: raw().collect(),
        },
        Series {
            name: "−ELBO, smoothed",
            class: "c-elbo",
            style: Style::Line,
            points: smoothed(raw()),
        },
        Series {
            name: "reconstruction (BCE), smoothed",
            class: "c-bce",
            style: Style::Dashed,
            points: smoothed(
                curve
                    .train
                    .iter()
                    .map(|p| (p.step as f64, f64::from(p.bce))),
            ),
        },
        Series {
            name: "test −ELBO per epoch",
            class: "c-test",
            style: Style::Markers,
            points: curve
                .test
                .iter()
                .map(|p| (p.step as f64, p.neg_elbo))
                .collect(),
        },
    ];
    series.extend(objective);
    // Only once there is one: an empty key would move the chart's legend at load.
    if !curve.likelihood.is_empty() {
        series.push(Series {
            name: "−log p(x) bound, importance-weighted (L_K)",
            class: "c-likelihood",
            style: Style::Markers,
            points: curve
                .likelihood
                .iter()
                .map(|p| (p.step as f64, p.neg_log_likelihood))
                .collect(),
        });
    }
    series
}

fn kl_series(curve: &Curve) -> Vec<Series> {
    let raw = || curve.train.iter().map(|p| (p.step as f64, f64::from(p.kl)));
    vec![
        Series {
            name: "KL per step",
            class: "c-kl",
            style: Style::Faint,
            points: raw().collect(),
        },
        Series {
            name: "KL, smoothed",
            class: "c-kl",
            style: Style::Line,
            points: smoothed(raw()),
        },
        Series {
            name: "test KL per epoch",
            class: "c-test",
            style: Style::Markers,
            points: curve.test.iter().map(|p| (p.step as f64, p.kl)).collect(),
        },
    ]
}

fn test_values(tests: &[crate::lab::TestPoint]) -> String {
    let values: Vec<String> = tests.iter().map(|t| format!("{:.3}", t.neg_elbo)).collect();
    values.join(",")
}

fn train_times(tests: &[crate::lab::TestPoint]) -> String {
    let values: Vec<String> = tests.iter().map(|t| format!("{:.0}", t.train_ms)).collect();
    values.join(",")
}

fn duration(ms: f64) -> String {
    let seconds = (ms / 1000.0) as u64;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

#[component]
fn Field(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let described = error_id.clone();
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id>{label}<span class="hint">{hint}</span></label>
            <input
                id=id
                type="text"
                inputmode="decimal"
                autocomplete="off"
                spellcheck="false"
                prop:value=move || value.get()
                on:input=move |event| value.set(event_target_value(&event))
                disabled=move || disabled.get()
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=described
            />
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

#[component]
pub fn TrainPanel(lab: LabHandle, ui: LabUi, form: SettingsForm) -> impl IntoView {
    let errors = RwSignal::new(FormErrors::default());
    let phase = ui.phase;
    let training = move || phase.with(|p| matches!(p, Phase::Training | Phase::Hidden));
    let idle = move || phase.with(|p| matches!(p, Phase::Ready | Phase::Diverged(_)));

    // Train with the settings shown: the model is rebuilt first if they changed.
    let apply = move |then_train: bool| {
        lab.with_value(|controller| {
            match form.parse(&controller.limits(), controller.training_data()) {
                Err(found) => errors.set(*found),
                Ok(config) => {
                    errors.set(FormErrors::default());
                    if then_train && ui.model.get_untracked() == Some(config) {
                        controller.train();
                    } else {
                        controller.rebuild(config, then_train);
                    }
                }
            }
        })
    };
    let on_train = move |_| apply(true);
    let on_reset = move |_| apply(false);
    let on_pause = move |_| lab.with_value(|c| c.pause());
    let field_error =
        move |pick: fn(&FormErrors) -> Option<String>| Signal::derive(move || errors.with(pick));
    let disabled = Signal::derive(move || !idle());
    let kl_weight = move || ui.model.with(|m| m.map_or(1.0, |m| m.kl_weight));
    let samples = move || ui.model.with(|m| m.map_or(1, |m| m.importance_samples));

    view! {
        <section class="panel train" id="train" aria-labelledby="train-title">
            <h2 id="train-title">"Train"</h2>
            <div class="button-row">
                <button id="train-start" class="primary" on:click=on_train disabled=move || !idle()>
                    {move || if ui.progress.with(|p| p.step > 0) { "Resume" } else { "Train" }}
                </button>
                <button id="train-pause" on:click=on_pause disabled=move || !training()>"Pause"</button>
                <button id="train-reset" on:click=on_reset disabled=move || !idle()>"Reset"</button>
                <span class="phase" id="phase" data-phase=move || format!("{:?}", phase.get()).split('(').next().unwrap_or("").to_string()>
                    {move || match phase.get() {
                        Phase::Building => "Preparing the model…",
                        Phase::Ready => "Ready",
                        Phase::Training => "Training",
                        Phase::Hidden => "Paused while this tab is hidden",
                        Phase::Diverged(_) => "Stopped: diverged",
                        Phase::Lost(_) => "Stopped: GPU device lost",
                        Phase::Failed(_) => "Stopped: GPU error",
                    }}
                </span>
            </div>
            {move || match phase.get() {
                Phase::Diverged(text) => Some(view! { <p class="note warning" id="diverged" role="alert">{text}</p> }.into_any()),
                Phase::Lost(reason) => Some(view! {
                    <div class="note warning" id="device-lost" role="alert">
                        <p>
                            {format!("The GPU device was lost ({reason}): training stopped. ")}
                            "Your model is kept: Restart asks the browser for a new device and \
                             brings the model back with its curve."
                        </p>
                        <button id="restart-gpu" class="primary" on:click=move |_| lab.with_value(|c| c.restart_gpu())>
                            "Restart on a new device"
                        </button>
                    </div>
                }.into_any()),
                Phase::Failed(text) => Some(view! {
                    <p class="note warning" id="lab-error" role="alert">
                        {text}" Reload the page to start again."
                    </p>
                }.into_any()),
                _ => None,
            }}
            <Readout progress=ui.progress curve=ui.curve kl_weight=Signal::derive(kl_weight) loaded=Signal::derive(move || ui.model_info.with(|m| m.kind != ModelKind::Scratch)) />
            <Chart
                id="elbo-chart"
                title="negative ELBO per step and per epoch, in nats per image"
                x_label="training steps"
                y_label="nats per image"
                series=Signal::derive(move || {
                    let (beta, iwae) = (kl_weight(), samples() > 1);
                    ui.curve.with(|curve| elbo_series(curve, beta, iwae))
                })
            />
            {move || (kl_weight() != 1.0).then(|| view! {
                <p class="caption" id="beta-note" data-kl-weight=kl_weight().to_string()>
                    {format!(
                        "This model trains on the β-objective BCE + β·KL with β = {}: the solid                          dark gold line. The −ELBO (β = 1) is still what every figure reports.",
                        kl_weight()
                    )}
                </p>
            })}
            {move || (samples() > 1).then(|| view! {
                <p class="caption" id="objective-note" data-importance-samples=samples().to_string()>
                    {format!(
                        "This model trains on the IWAE objective: the importance-weighted bound L_{k} \
                         with K = {k} draws of z per image (Burda, Grosse & Salakhutdinov 2015), \
                         tighter than the ELBO. The curves show the −ELBO, averaged over the K draws; \
                         the bound itself is estimated under the model (Estimate log p(x)).",
                        k = samples()
                    )}
                </p>
            })}
            {move || ui.grey_targets.get().then(|| view! {
                <p class="caption" id="grey-targets-note">
                    "This data keeps its grey levels: the reconstruction term is the Bernoulli \
                     cross-entropy with grey targets (the usual choice for grey images), which is \
                     not a log-likelihood and never reaches 0. These figures compare only with \
                     models trained on the same data, not with binarized MNIST's nats."
                </p>
            })}
            <Chart
                id="kl-chart"
                title="KL divergence per step, in nats per image"
                x_label="training steps"
                y_label="KL, nats per image"
                series=Signal::derive(move || ui.curve.with(kl_series))
            />
            <details class="settings" open>
                <summary>"Settings"</summary>
                <p class="caption">"Editable while stopped. Changing them starts a fresh model on Train or Reset."</p>
                <div class="fields">
                    <Field id="lr" label="Learning rate" hint="Adam" value=form.learning_rate error=field_error(|e| e.learning_rate.clone()) disabled=disabled />
                    <Field id="batch" label="Batch size" hint="images per step" value=form.batch error=field_error(|e| e.batch.clone()) disabled=disabled />
                    <Field id="latent" label="Latent size" hint="one slider each" value=form.latent error=field_error(|e| e.latent.clone()) disabled=disabled />
                    <Field id="hidden" label="Hidden width" hint="units per layer" value=form.hidden error=field_error(|e| e.hidden.clone()) disabled=disabled />
                    <Field id="seed" label="Seed" hint="init, shuffles, noise" value=form.seed error=field_error(|e| e.seed.clone()) disabled=disabled />
                    <Field id="beta" label="KL weight β" hint="1: the ELBO" value=form.kl_weight error=field_error(|e| e.kl_weight.clone()) disabled=disabled />
                    <Field id="importance-samples" label="Importance samples K" hint="1: the VAE; more: IWAE" value=form.importance_samples error=field_error(|e| e.importance_samples.clone()) disabled=disabled />
                </div>
                {move || errors.with(|e| e.general.clone()).map(|text| view! { <p class="field-error" id="settings-error" role="alert">{text}</p> })}
            </details>
        </section>
    }
}

#[component]
fn Readout(
    progress: RwSignal<Progress>,
    curve: RwSignal<Curve>,
    kl_weight: Signal<f64>,
    /// The model came from a file: its first evaluation is "when loaded", not at initialisation.
    loaded: Signal<bool>,
) -> impl IntoView {
    let latest = move || curve.with(|c| c.train.last().copied());
    let tests = move || curve.with(|c| c.test.clone());
    view! {
        <dl class="readout" id="readout">
            <dt>"Step"</dt>
            <dd id="step-count" data-step=move || progress.with(|p| p.step.to_string())>
                {move || progress.with(|p| grouped(p.step))}
            </dd>
            <dt>"Epoch"</dt>
            <dd id="epoch">
                {move || progress.with(|p| format!("{} ({} of {} steps)", p.epoch.max(1), p.epoch_step, p.steps_per_epoch))}
                {move || progress.with(|p| p.evaluating).then_some(" · evaluating…")}
            </dd>
            <dt>"Speed"</dt>
            <dd
                id="speed"
                data-ms-per-step=move || progress.with(|p| format!("{:.3}", p.ms_per_step))
                data-gpu-ms-per-step=move || progress.with(|p| format!("{:.3}", p.gpu_ms_per_step))
                data-encode-ms-per-step=move || progress.with(|p| format!("{:.4}", p.encode_ms_per_step))
                data-dispatches-per-step=move || progress.with(|p| p.dispatches_per_step.to_string())
            >
                {move || progress.with(|p| if p.ms_per_step > 0.0 {
                    format!("{} images/s · {:.1} ms per step", grouped(p.images_per_second as u64), p.ms_per_step)
                } else {
                    "—".to_string()
                })}
            </dd>
            <dt>"CPU per step"</dt>
            <dd id="encode-cost">
                {move || progress.with(|p| if p.dispatches_per_step > 0 {
                    format!("{:.3} ms to encode, {} dispatches", p.encode_ms_per_step, p.dispatches_per_step)
                } else if p.encode_ms_per_step > 0.0 {
                    // The CPU engine: the step itself runs in its worker.
                    format!("{:.3} ms on this page's thread; the step runs in a worker", p.encode_ms_per_step)
                } else {
                    "—".to_string()
                })}
            </dd>
            <dt>"Elapsed"</dt>
            <dd id="elapsed">{move || progress.with(|p| duration(p.elapsed_ms))}</dd>
            <dt>"Last step"</dt>
            <dd id="latest">
                {move || match latest() {
                    Some(p) if kl_weight.get() != 1.0 => format!(
                        "−ELBO {:.1} = BCE {:.1} + KL {:.1} nats · β-objective {:.1}",
                        p.neg_elbo, p.bce, p.kl, f64::from(p.bce) + kl_weight.get() * f64::from(p.kl)
                    ),
                    Some(p) => format!("−ELBO {:.1} = BCE {:.1} + KL {:.1} nats", p.neg_elbo, p.bce, p.kl),
                    None => "—".to_string(),
                }}
            </dd>
            <dt>"Test −ELBO"</dt>
            <dd
                id="test-elbo"
                data-values={move || test_values(&tests())}
                data-train-ms={move || train_times(&tests())}
                data-kl-values={move || tests().iter().map(|t| format!("{:.5}", t.kl)).collect::<Vec<_>>().join(",")}
            >
                {move || match tests().last() {
                    Some(t) if t.epoch == 0 && loaded.get() => format!("{:.1} nats when loaded", t.neg_elbo),
                    Some(t) if t.epoch == 0 => format!("{:.1} nats at initialisation", t.neg_elbo),
                    Some(t) => format!("{:.1} nats after epoch {} (BCE {:.1} + KL {:.1})", t.neg_elbo, t.epoch, t.bce, t.kl),
                    None => "evaluating…".to_string(),
                }}
                {move || curve.with(|c| c.likelihood.last().copied()).map(|p| view! {
                    <span id="test-likelihood" data-value=format!("{:.4}", p.neg_log_likelihood)>
                        {format!(" · −log p(x) ≤ {:.1} (K = {})", p.neg_log_likelihood, p.samples)}
                    </span>
                })}
            </dd>
        </dl>
    }
}
