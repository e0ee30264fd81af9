//! The engine benchmark in the browser (`?bench` on the page's URL): the same measurements as
//! `vae bench` natively, on this browser's WebGPU adapter; `?bench=blocks` adds the register-block
//! shapes other adapters get, `?bench=step` measures only the training step and a decode (quick
//! enough to alternate two builds). `bench/browser.mjs` and `bench/engine.mjs` drive it.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_gpu::bench::{self, KernelChoice};
use vae_gpu::kernels::dense::{FastPath, MatmulStrategy};
use vae_gpu::GpuContext;
use vae_model::VaeConfig;

use crate::data::{ShardBytes, SHARD_URL};

/// Register blocks worth comparing with the adapter's choice.
const BLOCKS: [FastPath; 3] = [FastPath::SMALL, FastPath::SWIFTSHADER, FastPath::LAVAPIPE];

/// How much the benchmark page measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchScope {
    /// The training step and a decode only.
    Step,
    /// The CPU engine's training step and decode, in WebAssembly (no WebGPU needed).
    Cpu,
    /// Those, and each matmul kernel with the adapter's choice and with shared tiles.
    Kernels,
    /// Those, and the register blocks other adapters get.
    Blocks,
}

impl BenchScope {
    /// From the page's query string: `?bench`, `?bench=step` or `?bench=blocks`.
    pub fn from_query(search: &str) -> Self {
        if search.contains("bench=step") {
            Self::Step
        } else if search.contains("bench=cpu") {
            Self::Cpu
        } else if search.contains("bench=blocks") {
            Self::Blocks
        } else {
            Self::Kernels
        }
    }
}

/// One measurement, as the benchmark scripts read it from the table.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchRow {
    what: String,
    shape: String,
    value: f64,
    unit: &'static str,
}

impl BenchRow {
    pub fn new(what: &str, shape: String, value: f64, unit: &'static str) -> Self {
        Self {
            what: what.into(),
            shape,
            value,
            unit,
        }
    }
}

async fn run(
    context: GpuContext,
    shard: ShardBytes,
    scope: BenchScope,
    rows: RwSignal<Vec<BenchRow>>,
) -> Result<(), String> {
    let push = |what: String, shape: String, value: f64, unit| {
        rows.update(|rows| {
            rows.push(BenchRow {
                what,
                shape,
                value,
                unit,
            })
        })
    };
    let config = VaeConfig::default();
    let bytes = shard.bytes();
    let parsed = mnist_shard::Shard::parse(&bytes, SHARD_URL).map_err(|e| e.to_string())?;
    let (step, decode) = bench::training(
        context.clone(),
        config,
        &parsed.train(),
        Duration::from_secs(5),
    )
    .await
    .map_err(|e| e.to_string())?;
    let batch = format!("batch {}", step.batch);
    push(
        "training step".into(),
        batch.clone(),
        step.ms_per_step,
        "ms",
    );
    push(
        "training".into(),
        batch.clone(),
        step.images_per_second,
        "images/s",
    );
    let dispatches = format!(
        "{} steps a submit, {} dispatches a step",
        bench::STEP_CHUNK,
        step.dispatches_per_step
    );
    push(
        "encode one step (CPU)".into(),
        dispatches,
        step.encode_ms_per_step,
        "ms",
    );
    push(
        "encode one step alone, with its fence (CPU)".into(),
        "1 step a submit".into(),
        step.encode_ms_single_step,
        "ms",
    );
    let decoded = "20→500→784, read back".to_string();
    push(
        "decode one z".into(),
        decoded,
        decode.as_secs_f64() * 1e3,
        "ms",
    );
    if scope == BenchScope::Step {
        return Ok(());
    }

    let mut choices = vec![
        ("adapter's choice".to_string(), KernelChoice::Adapter),
        (
            "shared tiles".to_string(),
            KernelChoice::Strategy(MatmulStrategy::SharedTiles),
        ),
    ];
    if scope == BenchScope::Blocks {
        for fast in BLOCKS {
            let (f, i, w) = (fast.forward_block, fast.input_block, fast.weight_block);
            let name = format!("blocks {}×{}, {}×{}, {}×{}", f.0, f.1, i.0, i.1, w.0, w.1);
            choices.push((name, KernelChoice::Blocks(fast)));
        }
    }
    for (name, choice) in choices {
        let results = bench::matmuls(&context, config.batch, choice, Duration::from_secs(1))
            .await
            .map_err(|e| e.to_string())?;
        for m in results {
            let first = format!("{} ({name}), first run", m.kernel);
            push(first, m.shape.clone(), m.first_ms, "ms");
            push(
                format!("{} ({name})", m.kernel),
                m.shape,
                m.gflops,
                "GFLOP/s",
            );
        }
    }
    Ok(())
}

#[component]
pub fn BenchPanel(
    context: StoredValue<Option<GpuContext>, LocalStorage>,
    shard: ShardBytes,
    scope: BenchScope,
) -> impl IntoView {
    let rows = RwSignal::new(Vec::<BenchRow>::new());
    let status = RwSignal::new("running…".to_string());
    if let Some(context) = context.get_value() {
        spawn_local(async move {
            let outcome = run(context, shard, scope, rows).await;
            status.set(match outcome {
                Ok(()) => "done".into(),
                Err(error) => format!("failed: {error}"),
            });
        });
    }
    view! { <BenchTable title="Engine benchmark on this adapter" status rows /> }
}

/// The benchmark's table: `#bench-status` says running, done or failed; each row's figure is in
/// its data attributes for the scripts.
#[component]
pub fn BenchTable(
    title: &'static str,
    status: RwSignal<String>,
    rows: RwSignal<Vec<BenchRow>>,
) -> impl IntoView {
    view! {
        <section class="panel" id="bench">
            <h2>{title}</h2>            <p id="bench-status" data-status=move || status.get()>
                {move || status.get()}
            </p>
            <table>
                <thead>
                    <tr>
                        <th>"measure"</th>
                        <th>"shape"</th>
                        <th>"value"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        rows.get()
                            .into_iter()
                            .map(|row| {
                                let (what, shape) = (row.what.clone(), row.shape.clone());
                                view! {
                                    <tr
                                        class="bench-row"
                                        data-what=what
                                        data-shape=shape
                                        data-value=row.value.to_string()
                                        data-unit=row.unit
                                    >
                                        <td>{row.what}</td>
                                        <td>{row.shape}</td>
                                        <td>{format!("{:.2} {}", row.value, row.unit)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </section>
    }
}
