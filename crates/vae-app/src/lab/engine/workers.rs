//! How many Web Workers train a CPU model: one, or two sharing each batch. Two are faster only
//! where they have cores of their own (on this project's 2-core machine they were not: the
//! page's own thread needs one, BENCHMARKS.md), so with fewer than [`CORES_TO_TRY_TWO`] logical
//! cores the lab takes one. With more, it times a few shared steps on two workers against a
//! single worker's once, takes the faster, and remembers the figures in this browser.
//! `?workers=1|2` in the address decides instead; `?workers=auto` times them whatever the
//! cores (and does not keep the result).

use vae_worker::client::Simd;
use vae_worker::protocol::{Reply, Request};
use vae_worker::workers::CpuWorkers;

use super::storage;

const WORKERS_KEY: &str = "vae-lab-cpu-workers";
/// The fewest logical cores on which two workers are timed at all.
const CORES_TO_TRY_TWO: f64 = 3.0;
/// Timed steps on each (after one untimed): about a tenth of a second.
const CALIBRATION_STEPS: u32 = 4;

/// What the address asks for: `Some(Some(n))` a count, `Some(None)` a fresh timing.
fn in_address() -> Option<Option<usize>> {
    match super::address_value("workers")?.as_str() {
        "1" => Some(Some(1)),
        "2" => Some(Some(2)),
        "auto" => Some(None),
        _ => None,
    }
}

/// ms a step on one worker and on two, as timed.
type Timings = (f64, f64);

fn remembered() -> Option<Timings> {
    let text = storage()?.get_item(WORKERS_KEY).ok()??;
    let (one, two) = text.split_once(',')?;
    Some((one.parse().ok()?, two.parse().ok()?))
}

fn remember((one, two): Timings) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(WORKERS_KEY, &format!("{one:.3},{two:.3}"));
    }
}

async fn calibrated(workers: &CpuWorkers) -> Result<f64, String> {
    let steps = CALIBRATION_STEPS;
    match workers.request(Request::Calibrate { steps }).await? {
        Reply::Calibrated { ms_per_step } => Ok(ms_per_step),
        other => Err(format!("the CPU worker answered oddly: {other:?}")),
    }
}

fn timed_why((one, two): Timings, before: bool) -> String {
    let when = if before {
        ", timed in this browser before"
    } else {
        ""
    };
    if two < one {
        format!(
            "Two workers share each batch: {two:.1} ms a training step against {one:.1} ms on one{when}."
        )
    } else {
        format!(
            "One worker: two sharing each batch took {two:.1} ms a step, one {one:.1} ms{when}."
        )
    }
}

/// The workers for a new CPU model, and a sentence saying why that many.
pub async fn spawn(base: &str, simd: Simd) -> Result<(CpuWorkers, String), String> {
    let cores = web_sys::window().map_or(1.0, |w| w.navigator().hardware_concurrency());
    let asked = in_address();
    if let Some(Some(count)) = asked {
        let why = format!(
            "{count} worker{}, as the address asks.",
            if count > 1 { "s" } else { "" }
        );
        return Ok((CpuWorkers::spawn(base, simd, count).await?, why));
    }
    let forced = asked.is_some();
    if !forced && cores < CORES_TO_TRY_TWO {
        let why = format!(
            "One worker: two would share this browser's {cores} logical cores with the page."
        );
        return Ok((CpuWorkers::spawn(base, simd, 1).await?, why));
    }
    if let Some(timings) = remembered().filter(|_| !forced) {
        let count = if timings.1 < timings.0 { 2 } else { 1 };
        let workers = CpuWorkers::spawn(base, simd, count).await?;
        return Ok((workers, timed_why(timings, true)));
    }
    let pair = async {
        let two = CpuWorkers::spawn(base, simd, 2).await?;
        let ms = calibrated(&two).await?;
        Ok::<_, String>((two, ms))
    };
    let (two, two_ms) = match pair.await {
        Ok(pair) => pair,
        // One worker is the lab's engine either way: two are only ever an option.
        Err(error) => {
            let why = format!("One worker: two could not be timed ({error}).");
            return Ok((CpuWorkers::spawn(base, simd, 1).await?, why));
        }
    };
    let one = CpuWorkers::spawn(base, simd, 1).await?;
    let one_ms = calibrated(&one).await?;
    crate::draw::mark("workers-calibrated");
    let timings = (one_ms, two_ms);
    if !forced {
        remember(timings);
    }
    let why = timed_why(timings, false);
    Ok((if two_ms < one_ms { two } else { one }, why))
}
