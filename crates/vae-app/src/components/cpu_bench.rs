//! The CPU engine's benchmark in the browser (`?bench=cpu`): the training step and a decode of
//! `vae-cpu` compiled to WebAssembly, on this page's thread, with no WebGPU needed.
//! `bench/engine.mjs cpu` drives it; `bench/benchmarks.mjs` puts it beside the other trainers.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_cpu::CpuVae;
use vae_model::VaeConfig;

use crate::components::bench::{BenchRow, BenchTable};
use crate::data::{ShardBytes, SHARD_URL};
use crate::draw::now_ms;

/// Time given to the measured steps, after the warm-up.
const BUDGET_MS: f64 = 5000.0;

/// Lets the page paint between chunks of steps (the benchmark runs on the page's own thread).
use crate::tasks::next_task;

async fn run(shard: ShardBytes, rows: RwSignal<Vec<BenchRow>>) -> Result<(), String> {
    let push = |what: &str, shape: String, value: f64, unit| {
        rows.update(|rows| rows.push(BenchRow::new(what, shape, value, unit)))
    };
    let config = VaeConfig::default();
    let bytes = shard.bytes();
    let parsed = mnist_shard::Shard::parse(&bytes, SHARD_URL).map_err(|e| e.to_string())?;
    let mut vae = CpuVae::new(config).map_err(|e| e.to_string())?;
    vae.set_training_data(&parsed.train())
        .map_err(|e| e.to_string())?;
    let test = parsed.test();
    let untrained = vae.evaluate(&test).map_err(|e| e.to_string())?;
    push(
        "test −ELBO at initialisation",
        format!("{} images, nats", untrained.images),
        untrained.neg_elbo,
        "nats",
    );
    vae.train_steps(3).map_err(|e| e.to_string())?;
    // The first step's loss, for the browser tests to hold against the native engine's.
    let first = vae.metrics().steps[0];
    push(
        "−ELBO at step 1",
        "seed 0, nats".into(),
        f64::from(first.neg_elbo),
        "nats",
    );
    let (mut steps, mut spent, mut last) = (0u32, 0.0, f32::NAN);
    while spent < BUDGET_MS {
        let started = now_ms();
        vae.train_steps(5).map_err(|e| e.to_string())?;
        spent += now_ms() - started;
        steps += 5;
        let report = vae.metrics_with(vae_model::Snapshot::Skip);
        if let Some(latest) = report.steps.last() {
            last = latest.neg_elbo;
        }
        next_task().await;
    }
    let ms_per_step = spent / f64::from(steps);
    push(
        "−ELBO at the last step",
        format!("step {}, nats", vae.step()),
        f64::from(last),
        "nats",
    );
    // The rest of the first epoch, untimed, then the test set: the engine learns in this browser.
    let per_epoch = vae.steps_per_epoch().unwrap_or(1);
    while vae.step() < per_epoch {
        let n = (per_epoch - vae.step()).min(10) as u32;
        vae.train_steps(n).map_err(|e| e.to_string())?;
        vae.metrics_with(vae_model::Snapshot::Skip);
        next_task().await;
    }
    let trained = vae.evaluate(&test).map_err(|e| e.to_string())?;
    push(
        "test −ELBO after training",
        format!("step {} ({per_epoch} an epoch), nats", vae.step()),
        trained.neg_elbo,
        "nats",
    );
    let shape = format!(
        "batch {}, {}, one thread",
        config.batch,
        vae_cpu::simd_in_use()
    );
    push("training step", shape.clone(), ms_per_step, "ms");
    push(
        "training",
        shape,
        f64::from(config.batch) * 1e3 / ms_per_step,
        "images/s",
    );
    let z = vec![0.5f32; config.sizes.latent];
    let started = now_ms();
    let decodes = 50;
    for _ in 0..decodes {
        vae.decode(&z).map_err(|e| e.to_string())?;
    }
    push(
        "decode one z",
        "20→500→784".into(),
        (now_ms() - started) / f64::from(decodes),
        "ms",
    );
    next_task().await;
    wide_step(&parsed, config, ms_per_step, &push).await?;
    next_task().await;
    // Once to warm up: a browser compiles a WebAssembly function with its optimising compiler
    // only once it has run a while, so the first timings are the baseline compiler's.
    vae_cpu::profile::step_phases(&now_ms, 10);
    next_task().await;
    for phase in vae_cpu::profile::step_phases(&now_ms, 10) {
        push(
            phase.name,
            "part of a step, timed alone".into(),
            phase.ms,
            "ms",
        );
    }
    Ok(())
}

/// The first `count` training images of `shard` as 32 × 32 colour images (each digit's ink in
/// an orange tint, area-averaged to the new size as an import does), stored as `binarize` says:
/// a data set of the 3,072-input kind the issue names.
fn in_colour(
    shard: &mnist_shard::Shard<'_>,
    count: usize,
    binarize: mnist_shard::import::Binarize,
) -> Result<Vec<u8>, String> {
    use mnist_shard::import::{build_shard, DecodedImage, ImportOptions};
    let train = shard.train();
    let options = ImportOptions {
        width: 32,
        height: 32,
        colour: true,
        binarize,
        test_share: 0.01,
        ..ImportOptions::default()
    };
    let tint = [255u8, 160, 40];
    let images: Vec<Vec<u8>> = (0..count.min(train.len()))
        .map(|i| {
            let pixels = (0..train.values_per_image())
                .flat_map(|p| tint.map(|c| if train.level(i, p) == 255 { c } else { 0 }))
                .collect();
            let decoded = DecodedImage {
                width: train.width(),
                height: train.height(),
                channels: 3,
                pixels,
            };
            options.shrink(&decoded)
        })
        .collect();
    build_shard(&images, &train.labels()[..images.len()], &options).map_err(|e| e.to_string())
}

/// Training steps of a 3,072-input model (32 × 32 colour), timed as the classic one was, against
/// their FLOPs: on bits drawn each epoch (the sparse first layer, as MNIST's) and on grey
/// levels kept (the dense one).
async fn wide_step(
    shard: &mnist_shard::Shard<'_>,
    classic: VaeConfig,
    classic_ms: f64,
    push: &dyn Fn(&str, String, f64, &'static str),
) -> Result<(), String> {
    use mnist_shard::import::Binarize;
    let flop_ratio = {
        let shape = vae_model::ImageShape {
            width: 32,
            height: 32,
            channels: 3,
        };
        classic.for_images(shape).step_flop() / classic.step_flop()
    };
    for (binarize, what) in [
        (Binarize::EachEpoch, "bits drawn each epoch"),
        (Binarize::Keep, "grey levels"),
    ] {
        let bytes = in_colour(shard, 5000, binarize)?;
        let wide = mnist_shard::Shard::parse(&bytes, "in colour").map_err(|e| e.to_string())?;
        let config = classic.for_images(vae_model::ImageShape::of(&wide.train()));
        let mut vae = CpuVae::new(config).map_err(|e| e.to_string())?;
        vae.set_training_data(&wide.train())
            .map_err(|e| e.to_string())?;
        vae.train_steps(3).map_err(|e| e.to_string())?;
        let (mut steps, mut spent) = (0u32, 0.0);
        while spent < BUDGET_MS {
            let started = now_ms();
            vae.train_steps(2).map_err(|e| e.to_string())?;
            spent += now_ms() - started;
            steps += 2;
            vae.metrics_with(vae_model::Snapshot::Skip);
            next_task().await;
        }
        let ms = spent / f64::from(steps);
        let shape = format!(
            "{}-{}-{} (MNIST at 32 × 32 in colour, {what}), batch {}",
            config.sizes.input, config.sizes.hidden, config.sizes.latent, config.batch
        );
        push(
            &format!("training step, 3,072 inputs, {what}"),
            shape,
            ms,
            "ms",
        );
        push(
            &format!("time ratio, 3,072 ({what}) to 784 inputs"),
            format!("FLOP ratio {flop_ratio:.2}"),
            ms / classic_ms,
            "×",
        );
        next_task().await;
    }
    Ok(())
}

#[component]
pub fn CpuBenchPanel(shard: ShardBytes) -> impl IntoView {
    let rows = RwSignal::new(Vec::<BenchRow>::new());
    let status = RwSignal::new("running…".to_string());
    spawn_local(async move {
        let outcome = run(shard, rows).await;
        status.set(match outcome {
            Ok(()) => "done".into(),
            Err(error) => format!("failed: {error}"),
        });
    });
    view! { <BenchTable title="CPU engine benchmark (WebAssembly)" status rows /> }
}
