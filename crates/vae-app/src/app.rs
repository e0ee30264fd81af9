//! The page: connects to the GPU and downloads the data on load, then opens the lab.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_gpu::selftest::{check_dense_forward, KernelCheck};
use vae_gpu::{AdapterSummary, GpuContext, GpuError};
use vae_model::VaeConfig;

use crate::components::{
    open_chosen_file, AdapterPanel, BenchPanel, BenchScope, CpuBenchPanel, DataPanel, EnginePanel,
    ExplorePanel, Gallery, KernelCheckPanel, LatentViews, ModelPanel, TrainPanel,
    WebGpuUnavailable,
};
use crate::data::{load_shard, DataState, ShardSlot};
use crate::datasets::{DataId, DataSets};
use crate::lab::{
    choose, install_test_hooks, Choice, LabController, LabHandle, LabUi, Notice, Phase,
};
use crate::settings::SettingsForm;
use crate::start::{choose_start, follow_drops, keep_fragment, StartPlan};

/// The lab's panels after the digit and its sliders, built one a task: train (the rest of the
/// first screen), the model, the latent views, the gallery, the engine.
const LATER_PANELS: u8 = 5;

/// Where the page stands with the GPU.
#[derive(Clone, Debug)]
enum GpuState {
    Connecting,
    /// No WebGPU in this browser: the page explains what to do instead.
    Unavailable(String),
    /// WebGPU exists but something else failed (device creation, a kernel): show it plainly.
    Failed(String),
    Ready(AdapterSummary),
}

async fn connect(device: StoredValue<Option<GpuContext>, LocalStorage>) -> GpuState {
    match GpuContext::new().await {
        Err(GpuError::WebGpuUnavailable { reason }) => GpuState::Unavailable(reason),
        Err(error) => GpuState::Failed(error.to_string()),
        Ok(context) => {
            crate::draw::mark("gpu-ready");
            let adapter = context.adapter.clone();
            device.set_value(Some(context));
            GpuState::Ready(adapter)
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    let state = RwSignal::new(GpuState::Connecting);
    let device = StoredValue::new_local(None::<GpuContext>);
    // Never block the main thread on the GPU: the connection and the check run as a task and
    // the page renders "connecting" until they report.
    // Then the engine: WebGPU on a real GPU, the CPU without one, the faster of the two on an
    // emulated GPU (timed once per browser).
    let choice = RwSignal::new(None::<Choice>);
    spawn_local(async move {
        let connected = connect(device).await;
        state.set(connected.clone());
        let no_gpu = match &connected {
            GpuState::Unavailable(reason) | GpuState::Failed(reason) => Some(reason.clone()),
            _ => None,
        };
        let benchmark = web_sys::window()
            .and_then(|window| window.location().search().ok())
            .is_some_and(|search| search.contains("bench"));
        if benchmark {
            // A benchmark page opens no lab (and a calibration would compete with it).
            return;
        }
        let context = device.get_value();
        let base = crate::lab::page_base();
        choice.set(Some(
            choose(context.as_ref(), no_gpu.as_deref(), &base).await,
        ));
    });
    // The data follows the first model (it is not needed for the first digit, and would share
    // the connection with it); a failure here leaves the GPU side usable.
    let data = RwSignal::new(DataState::Downloading {
        received: 0,
        total: None,
    });

    // The lab opens once both are in; its signals belong to the page, made once here.
    let ui = LabUi::new();
    let form = SettingsForm::new(&VaeConfig::default());
    // What the lab starts from (the autosave, the pretrained model or a fresh one) is decided
    // while the GPU connects: the browser's storage and the model file are read meanwhile.
    let plan = StoredValue::new_local(None::<StartPlan>);
    let planned = RwSignal::new(false);
    let search = web_sys::window()
        .and_then(|window| window.location().search().ok())
        .unwrap_or_default();
    let bench_mode = search.contains("bench");
    // `?bench` runs the engine benchmark instead of opening the lab (they would share the GPU).
    let bench_scope = BenchScope::from_query(&search);
    // `?test-hooks`: the browser tests' handles on faults (a lost device).
    let test_hooks = search.contains("test-hooks");
    // The visitor's data sets, and which one the lab trains on, come first: the model to start
    // with must take the chosen data's images.
    let sets = DataSets::new();
    spawn_local(async move {
        if bench_mode {
            return load_shard(data).await;
        }
        sets.load().await;
        let own = sets.own_shard(&sets.current.get_untracked());
        if let Some(shard) = &own {
            ui.show_image_shape(shard.shape());
        }
        let shape = own.map_or(vae_model::ImageShape::MNIST, |s| s.shape());
        let chosen = choose_start(VaeConfig::default(), shape).await;
        plan.set_value(Some(chosen));
        planned.set(true);
    });
    // MNIST downloads once the first model is decided (they would share the connection), and
    // only when it is the data in use.
    let mnist_requested = StoredValue::new(false);
    Effect::new(move |_| {
        let wanted = planned.get() && sets.current.get() == DataId::Mnist;
        if wanted && !mnist_requested.get_value() {
            mnist_requested.set_value(true);
            spawn_local(load_shard(data));
        }
    });
    let lab = RwSignal::new(None::<LabHandle>);
    let shard_slot = StoredValue::new_local(ShardSlot::default());
    let labels = RwSignal::new(Vec::<u8>::new());
    // The kernel self-check waits until the lab has its model and first evaluation: it
    // compiles a pipeline of its own, and the lab opening sooner matters more than a diagnostic.
    let check = RwSignal::new(None::<Result<KernelCheck, String>>);
    Effect::new(move |_| {
        // After the first test evaluation, or once the lab or its data has failed.
        let settled = ui.curve.with(|c| !c.test.is_empty())
            || ui.phase.with(|p| matches!(p, Phase::Failed(_)))
            || data.with(|d| matches!(d, DataState::Failed(_)));
        if !settled || check.with_untracked(Option::is_some) || lab.with_untracked(Option::is_none)
        {
            return;
        }
        let on_gpu = ui.engine.with_untracked(|e| !e.on_cpu);
        if let (Some(context), true) = (device.get_value(), on_gpu) {
            check.set(Some(Err("running".into())));
            spawn_local(async move {
                let result = check_dense_forward(&context)
                    .await
                    .map_err(|error| error.to_string());
                crate::draw::mark("kernel-check");
                check.set(Some(result));
            });
        }
    });
    let bench = RwSignal::new(None::<crate::data::ShardBytes>);
    // The data in use, when it is there, goes to the lab (or the benchmark) through the slot; a
    // change of data set afterwards is the lab's to follow (a fresh model, or the same one).
    Effect::new(move |_| {
        let current = sets.current.get();
        let shard = match &current {
            DataId::Mnist => match data.get() {
                DataState::Ready { shard, .. } => Some(shard),
                _ => None,
            },
            DataId::Stored(_) => sets.own_shard(&current),
        };
        let Some(shard) = shard else {
            return;
        };
        if bench_mode {
            // The GPU benchmark needs the device too; the CPU engine's does not.
            let gpu_ready = state.with(|s| matches!(s, GpuState::Ready(_)));
            let ready = gpu_ready || bench_scope == BenchScope::Cpu;
            if ready && bench.with_untracked(Option::is_none) {
                bench.set(Some(shard));
            }
            return;
        }
        let slot = shard_slot.get_value();
        let previous = slot.get();
        if previous.as_ref() == Some(&shard) {
            return;
        }
        labels.set(shard_labels(&shard));
        ui.classes.set(match &current {
            DataId::Mnist => (0..10).map(|d| d.to_string()).collect(),
            DataId::Stored(id) => sets.own.with_untracked(|own| {
                own.iter()
                    .find(|s| &s.id == id)
                    .map(|s| s.classes.clone())
                    .unwrap_or_default()
            }),
        });
        slot.fill(shard.clone());
        let handle = lab.get_untracked();
        match (previous, handle) {
            (Some(_), Some(handle)) => {
                let name = sets.name_of(&current);
                handle.with_value(|c| c.use_data(&name, shard.shape()));
            }
            _ => ui.show_image_shape(shard.shape()),
        }
    });
    // The lab starts as soon as the GPU is there: its kernels compile while the data downloads.
    Effect::new(move |_| {
        let Some(chosen) = choice.get() else {
            return;
        };
        if !planned.get() || bench_mode || lab.with_untracked(Option::is_some) {
            return;
        }
        let context = device.get_value();
        let Some(start) = plan.try_update_value(Option::take).flatten() else {
            return;
        };
        if let Some(z) = start.z {
            // Kept by the lab if its latent size fits the model.
            ui.z.set(z);
        }
        ui.engine.update(|e| {
            e.why = chosen.why.clone();
            e.gpu = context.as_ref().map(|c| c.adapter.name.clone());
        });
        let controller = LabController::new(context, chosen.on_cpu, shard_slot.get_value(), ui);
        controller.watch_device();
        let handle = StoredValue::new_local(controller);
        // The lab's first screen is built in this task, and the model starts opening (a worker
        // to start, a checkpoint to read) in the next: together they were one long task.
        let StartPlan { source, notice, .. } = start;
        spawn_local(async move {
            crate::tasks::next_task().await;
            handle.with_value(|c| c.start(source, false));
            if notice.is_some() {
                ui.notice.set(notice);
            }
        });
        follow_visibility(handle);
        if test_hooks {
            install_test_hooks(handle);
        }
        follow_drops(move |files| {
            // One model file opens the model; anything else is data to bring.
            let model =
                files.len() == 1 && files[0].path.to_ascii_lowercase().ends_with(".safetensors");
            if model {
                open_chosen_file(handle, ui, files[0].file.clone());
            } else {
                sets.stage(files);
            }
        });
        lab.set(Some(handle));
    });
    // The settings form shows the model in use (a file's sizes, a link's settings).
    Effect::new(move |_| {
        if let Some(config) = ui.model.get() {
            form.show(&config);
        }
    });
    keep_fragment(ui);
    // The lab's panels after its digit and sliders are built one a task after them, while the
    // lab is still hidden: built together they were a slow phone's longest tasks. The
    // model opens long after them; should it be in already, what they show is drawn once the
    // last is there.
    let built = RwSignal::new(0u8);
    Effect::new(move |_| {
        if lab.with(Option::is_none) || built.get_untracked() > 0 {
            return;
        }
        spawn_local(async move {
            for stage in 1..=LATER_PANELS {
                crate::tasks::next_task().await;
                built.set(stage);
            }
            if let (Some(handle), true) = (
                lab.get_untracked(),
                ui.model.with_untracked(Option::is_some),
            ) {
                handle.with_value(|c| {
                    c.redraw_everything();
                    c.draw_map();
                });
            }
        });
    });
    let has_built = move |stage: u8| Memo::new(move |_| built.get() >= stage);
    // The HTML's shell of the first screen stays until the lab, with its model, takes its place
    // (or a benchmark does); the lab is laid out only then, so it appears in one piece where the
    // shell was rather than growing sliders under the visitor's eyes.
    let lab_shown = move || {
        lab.with(Option::is_some)
            && built.get() == LATER_PANELS
            && (ui.model.with(Option::is_some) || ui.phase.with(|p| matches!(p, Phase::Failed(_))))
    };
    // Shown, the lab's first screen is laid out and painted on its own, then the panels below
    // it a frame later, and the latent views (the panel with the most controls) a frame after
    // that; all out of view, so nothing in view moves. Laying out the whole lab at once was one
    // of a slow phone's longest tasks (a first layout of new controls costs several times a
    // later one).
    let lower_shown = RwSignal::new(0u8);
    Effect::new(move |_| {
        if lab_shown() && lower_shown.get_untracked() == 0 {
            spawn_local(async move {
                for stage in 1..=2 {
                    crate::tasks::after_next_paint().await;
                    lower_shown.set(stage);
                }
            });
        }
    });
    Effect::new(move |_| {
        if lab_shown() || bench_mode {
            let shell = web_sys::window()
                .and_then(|window| window.document())
                .and_then(|document| document.get_element_by_id("lab-shell"));
            if let Some(shell) = shell {
                shell.remove();
            }
        }
    });
    let on_scratch = move |()| {
        let Some(handle) = lab.get_untracked() else {
            return;
        };
        handle.with_value(|c| match form.parse(&c.limits(), c.training_data()) {
            Ok(config) => c.rebuild(config, true),
            Err(_) => ui.notice.set(Some(Notice::error(
                "The settings under Train are not valid: press Train to see what to change.",
            ))),
        });
    };

    let (train_built, model_built, views_built, gallery_built, engine_built) = (
        has_built(1),
        has_built(2),
        has_built(3),
        has_built(4),
        has_built(LATER_PANELS),
    );
    // The data panel, far below the first screen, is built a task after the page's mount.
    let data_built = RwSignal::new(false);
    spawn_local(async move {
        crate::tasks::next_task().await;
        data_built.set(true);
    });
    view! {
        <main>
            {move || {
                bench
                    .get()
                    .map(|shard| {
                        if bench_scope == BenchScope::Cpu {
                            view! { <CpuBenchPanel shard /> }.into_any()
                        } else {
                            view! { <BenchPanel context=device shard scope=bench_scope /> }.into_any()
                        }
                    })
            }}
            {move || {
                lab.get().map(|handle| {
                    view! {
                        <div class="lab" class:pending=move || !lab_shown()
                            class:first-screen=move || lower_shown.get() == 0
                            class:views-later=move || lower_shown.get() < 2>
                            <ExplorePanel lab=handle ui labels />
                            {move || train_built.get().then(|| view! { <TrainPanel lab=handle ui form /> })}
                            {move || model_built.get().then(|| view! { <ModelPanel lab=handle ui on_scratch /> })}
                            {move || views_built.get().then(|| view! { <LatentViews lab=handle ui labels /> })}
                            {move || gallery_built.get().then(|| view! { <Gallery ui /> })}
                        </div>
                        {move || engine_built.get().then(|| view! { <EnginePanel lab=handle ui /> })}
                    }
                })
            }}
            <div id="gpu-status" aria-live="polite">
                {move || match state.get() {
                    GpuState::Connecting => {
                        Some(view! { <p class="status connecting">"Connecting to your GPU…"</p> }.into_any())
                    }
                    GpuState::Unavailable(reason) => Some(view! { <WebGpuUnavailable reason /> }.into_any()),
                    GpuState::Failed(message) => {
                        Some(view! {
                            <section class="panel note" id="gpu-error" role="status">
                                <h2>"The GPU could not be used"</h2>
                                <p>{message}</p>
                                <p>"The lab runs on your CPU instead. Reload the page to try the GPU again; \
                                    if it persists, update your browser and GPU driver."</p>
                            </section>
                        }
                            .into_any())
                    }
                    GpuState::Ready { .. } => None,
                }}
            </div>
            <div class="system">
                {move || match state.get() {
                    GpuState::Ready(adapter) => {
                        Some(view! {
                            <AdapterPanel adapter />
                            {move || match check.get() {
                                Some(Err(running)) if running == "running" => None,
                                Some(result) => Some(view! { <KernelCheckPanel check=result /> }),
                                None => None,
                            }}
                        })
                    }
                    _ => None,
                }}
                {move || data_built.get().then(|| view! { <DataPanel state=data sets /> })}
            </div>
        </main>
    }
}

/// A hidden tab pauses training and a shown one resumes it (`visibilitychange`).
fn follow_visibility(lab: LabHandle) {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    let watched = document.clone();
    let changed = Closure::<dyn FnMut()>::new(move || {
        let hidden = watched.hidden();
        lab.with_value(|controller| controller.page_visibility(hidden));
    });
    let _ = document
        .add_event_listener_with_callback("visibilitychange", changed.as_ref().unchecked_ref());
    // The page lives as long as the document: so does its listener.
    changed.forget();
}

/// Labels of the test digits the sliders can jump to.
fn shard_labels(shard: &crate::data::ShardBytes) -> Vec<u8> {
    shard
        .shard()
        .map(|s| {
            let labels = s.test().labels();
            labels[..labels.len().min(crate::lab::PICKABLE_DIGITS)].to_vec()
        })
        .unwrap_or_default()
}
