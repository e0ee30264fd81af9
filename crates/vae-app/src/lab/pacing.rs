//! How much work to keep queued on the GPU and how fast it goes: bookkeeping only, no GPU, so
//! the policy is tested here against a simulated GPU with late completion callbacks.
//!
//! A completion callback (a fence's read back) arrives some time after the GPU finished: well
//! under a millisecond natively, 1-15 ms in browsers on real GPUs, and in Firefox here only once
//! the chunk after it is done too (`node bench/probe/run.mjs order --browser firefox`: three
//! queued chunks of 59 ms report at 113, 170 and 170 ms). A schedule that encodes the next chunk
//! only when the last one's callback arrives leaves the GPU idle for that long every chunk. So
//! chunks are queued ahead, three of about a frame each: the GPU always has work while a
//! callback is on its way, and where callbacks come only as the queue drains, each drain's gap
//! is paid once per three chunks. Chunks are sized from the GPU's measured throughput: the time
//! between completions of chunks queued back to back, which does not contain the callback's
//! latency (it cancels between two completions), unlike the time from a submit to its callback.
//!
//! While the visitor is at the sliders (the pointer is over them, or one moved or took the focus
//! in the last half second), only one chunk of half a frame is queued: a decode then waits
//! behind at most that much training, so the digit still answers within a frame or two, and
//! what was queued before they reached the sliders has drained by the time they drag. Where a
//! single step takes longer than two frames (an emulated GPU), no training is queued at all
//! while a slider moves: the decode then waits behind at most the step already running. Where
//! one takes longer than four frames, only one is queued at any time, so the first slider input
//! after a stretch of training waits behind one step, not three: a callback's few milliseconds
//! of GPU idle between steps are small beside a step that long.

use std::collections::VecDeque;

/// One frame at 60 Hz.
pub const FRAME_MS: f64 = 1000.0 / 60.0;
/// GPU time of one chunk: a frame.
pub const CHUNK_MS: f64 = FRAME_MS;
/// Chunks queued when nobody is at the sliders: one runs, two wait, so a callback late by up to
/// two chunks costs no GPU time.
pub const QUEUE_DEPTH: usize = 3;
/// While the sliders move: one chunk of half a frame.
pub const INTERACTIVE_CHUNK_MS: f64 = FRAME_MS / 2.0;
pub const INTERACTIVE_QUEUE_DEPTH: usize = 1;
/// Chunks queued in the CPU engine's worker: its reply comes back within a fraction of a
/// millisecond (no GPU callback to wait for), so one chunk waiting behind the running one keeps
/// it busy, and a slider's decode queued behind them waits one chunk less.
pub const WORKER_QUEUE_DEPTH: usize = 2;
/// While a slider moves, work whose every unit (a step, a batch) takes longer than this is held
/// back instead: on an emulated GPU one training step takes 150-200 ms, so a decode queued
/// behind even one would miss the frame several times over. Held work goes on half a second
/// after the last input.
pub const HOLD_UNITS_OVER_MS: f64 = 2.0 * FRAME_MS;
/// Work whose every unit takes longer than this is queued one chunk at a time, sliders or not:
/// on SwiftShader (130-190 ms a step) three queued steps kept the first slider input after a
/// stretch of training waiting 0.3-0.55 s. Its callback's latency (about 5 ms there) then idles
/// the GPU once a step, a few percent. Lavapipe's 25-37 ms steps stay three deep, where
/// Firefox reports a chunk only once the next is done.
pub const ONE_AT_A_TIME_UNITS_OVER_MS: f64 = 4.0 * FRAME_MS;
/// Completed chunks the throughput estimate looks back over.
const RATE_WINDOW: usize = 8;

/// What a chunk of queued work is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Training steps.
    Train,
    /// Batches of the test-set evaluation.
    Evaluate,
}

/// GPU milliseconds per unit of work (a step, a batch), from recent completions.
#[derive(Default)]
struct Rate {
    /// (completed at, units, queued behind another chunk), oldest first.
    recent: VecDeque<(f64, u32, bool)>,
    /// The latest figure: from a run of chunks queued back to back when there has been one,
    /// else the first chunk's own span (which holds a callback's wait, so reads slow).
    estimate: Option<f64>,
}

impl Rate {
    fn record(&mut self, at: f64, units: u32, queued_behind: bool, span: f64) {
        let one_at_a_time = self
            .estimate
            .is_some_and(|ms| ms > ONE_AT_A_TIME_UNITS_OVER_MS);
        if (self.estimate.is_none() || (one_at_a_time && !queued_behind)) && span > 0.0 {
            // Queued one at a time, no chunk waits behind another to measure a run by: a
            // chunk's own span, its callback's latency included, is the figure (so a GPU that
            // became fast is seen to be, and goes back to a queue three deep).
            self.estimate = Some(span / f64::from(units.max(1)));
        }
        if !queued_behind {
            // A chunk that found nothing ahead of it starts a new run.
            self.recent.clear();
        }
        if self.recent.len() == RATE_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back((at, units, queued_behind));
        if let Some(ms) = self.run_rate() {
            self.estimate = Some(ms);
        }
    }

    /// Units done over the time between completions, across the latest run of chunks that
    /// were each queued behind the one before: the GPU went from one straight to the next, so
    /// the callbacks' latency cancels between the run's first and last completion. Averaged
    /// over the run, since browsers deliver callbacks in bursts (two in the same task) and a
    /// single gap says little. A run that found the queue dry now and then reads slower than
    /// the GPU is, never faster.
    fn run_rate(&self) -> Option<f64> {
        let (first, rest) = (self.recent.front()?, self.recent.range(1..));
        let units: u32 = rest.clone().map(|&(_, units, _)| units).sum();
        let ms = self.recent.back()?.0 - first.0;
        (ms > 0.0 && units > 0).then(|| ms / f64::from(units))
    }

    fn estimate(&self) -> Option<f64> {
        self.estimate
    }

    fn last_units(&self) -> Option<u32> {
        self.recent.back().map(|&(_, units, _)| units)
    }
}

#[derive(Clone, Copy, Debug)]
struct Flight {
    id: u64,
    work: Work,
    units: u32,
    submitted_at: f64,
    /// Other chunks were in flight when it was queued: the GPU could go straight on to it.
    queued_behind: bool,
}

/// The chunks in flight and what their completions tell.
pub struct Pacer {
    flights: VecDeque<Flight>,
    /// Chunks queued when nobody is at the sliders.
    depth: usize,
    next_id: u64,
    /// When the last chunk (of any work) completed: the next one in the queue started then.
    last_done_at: f64,
    train: Rate,
    evaluate: Rate,
    /// Time attributed to training chunks (each from when it could start running, its submit
    /// or the previous completion, to its own completion) and the steps they took.
    training_ms: f64,
    trained_steps: u64,
}

impl Default for Pacer {
    fn default() -> Self {
        Self {
            flights: VecDeque::new(),
            depth: QUEUE_DEPTH,
            next_id: 0,
            last_done_at: f64::NEG_INFINITY,
            train: Rate::default(),
            evaluate: Rate::default(),
            training_ms: 0.0,
            trained_steps: 0,
        }
    }
}

impl Pacer {
    /// The pacing for the CPU engine's worker ([`WORKER_QUEUE_DEPTH`]).
    pub fn for_worker() -> Self {
        Self {
            depth: WORKER_QUEUE_DEPTH,
            ..Self::default()
        }
    }

    /// Whether another chunk may be queued now.
    pub fn has_room(&self, interactive: bool) -> bool {
        let depth = if interactive || self.one_at_a_time() {
            INTERACTIVE_QUEUE_DEPTH
        } else {
            self.depth
        };
        self.flights.len() < depth
    }

    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.flights.len()
    }

    /// Whether training's or the evaluation's units take longer than
    /// [`ONE_AT_A_TIME_UNITS_OVER_MS`]: then one chunk is queued at a time.
    fn one_at_a_time(&self) -> bool {
        [&self.train, &self.evaluate].iter().any(|rate| {
            rate.estimate()
                .is_some_and(|ms| ms > ONE_AT_A_TIME_UNITS_OVER_MS)
        })
    }

    /// Whether one unit of `work` takes longer than [`HOLD_UNITS_OVER_MS`] (as measured so far).
    pub fn is_slow(&self, work: Work) -> bool {
        let rate = match work {
            Work::Train => &self.train,
            Work::Evaluate => &self.evaluate,
        };
        rate.estimate().is_some_and(|ms| ms > HOLD_UNITS_OVER_MS)
    }

    /// Units for the next chunk of `work`: its target GPU time at the measured rate, between
    /// 1 and `most`, and at most twice the last chunk's (one odd reading cannot queue a long
    /// chunk). With no measurement yet, 1: the first completions measure the rate.
    pub fn units(&self, work: Work, interactive: bool, most: u32) -> u32 {
        let target = if interactive {
            INTERACTIVE_CHUNK_MS
        } else {
            CHUNK_MS
        };
        let rate = match work {
            Work::Train => &self.train,
            Work::Evaluate => &self.evaluate,
        };
        let units = rate
            .estimate()
            .map_or(1.0, |ms| (target / ms).floor().max(1.0));
        let grown = rate.last_units().map_or(1, |last| last.max(1) * 2);
        (units.min(f64::from(most.max(1))).min(f64::from(grown))) as u32
    }

    /// A chunk was queued at `now`; its completion is reported with the id returned.
    pub fn submitted(&mut self, work: Work, units: u32, now: f64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let queued_behind = !self.flights.is_empty();
        self.flights.push_back(Flight {
            id,
            work,
            units,
            submitted_at: now,
            queued_behind,
        });
        id
    }

    /// The chunk `id` completed (its callback arrived) at `now`.
    pub fn completed(&mut self, id: u64, now: f64) {
        let Some(at) = self.flights.iter().position(|f| f.id == id) else {
            return;
        };
        let Some(flight) = self.flights.remove(at) else {
            return;
        };
        // It ran from whichever came later, its submit or the completion before it: with the
        // queue kept full that span is its GPU time alone; if the queue ran dry it also holds
        // the wait for a callback. The page's time per step counts it all.
        let span = (now - flight.submitted_at.max(self.last_done_at)).max(0.0);
        self.last_done_at = now;
        let rate = match flight.work {
            Work::Train => {
                self.training_ms += span;
                self.trained_steps += u64::from(flight.units);
                &mut self.train
            }
            Work::Evaluate => &mut self.evaluate,
        };
        rate.record(now, flight.units, flight.queued_behind, span);
    }

    /// A chunk that will never complete (its device failed, its model was replaced).
    pub fn abandon(&mut self, id: u64) {
        self.flights.retain(|f| f.id != id);
    }

    /// Wall time per training step on this page, pauses and evaluations left out.
    pub fn ms_per_step(&self) -> Option<f64> {
        (self.trained_steps > 0).then(|| self.training_ms / self.trained_steps as f64)
    }

    pub fn training_ms(&self) -> f64 {
        self.training_ms
    }

    /// The GPU's own time per step, as the chunk sizes use it.
    pub fn gpu_ms_per_step(&self) -> Option<f64> {
        self.train.estimate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_slower_than_two_frames_a_unit_is_known_as_slow() {
        // An emulated GPU's 180 ms steps and a real one's 2 ms, measured as the lab measures.
        let (_, emulated) = simulate(180.0, 5.0, |_| false, (0.0, 5000.0));
        assert!(emulated.is_slow(Work::Train));
        let (_, real) = simulate(2.0, 5.0, |_| false, (0.0, 5000.0));
        assert!(!real.is_slow(Work::Train));
        // Nothing measured yet: nothing is held.
        assert!(!Pacer::default().is_slow(Work::Evaluate));
    }

    /// A GPU that runs queued chunks in order, `gpu_ms` per step, and reports each completion
    /// `latency_ms` after it finishes; the page queues whenever the pacer has room, and a slider
    /// moves while `interactive(now)`. Returns the steps done in [from, to) and the pacer.
    fn simulate(
        gpu_ms: f64,
        latency_ms: f64,
        interactive: impl Fn(f64) -> bool,
        window: (f64, f64),
    ) -> (u64, Pacer) {
        simulate_with(Pacer::default(), gpu_ms, latency_ms, interactive, window)
    }

    fn simulate_with(
        pacer: Pacer,
        gpu_ms: f64,
        latency_ms: f64,
        interactive: impl Fn(f64) -> bool,
        window: (f64, f64),
    ) -> (u64, Pacer) {
        simulate_varying(pacer, |_| gpu_ms, latency_ms, interactive, window).0
    }

    /// As [`simulate`], with the GPU's time per step a function of when the chunk starts;
    /// also returns the most chunks that were ever in flight after `window.0`.
    fn simulate_varying(
        mut pacer: Pacer,
        gpu_ms: impl Fn(f64) -> f64,
        latency_ms: f64,
        interactive: impl Fn(f64) -> bool,
        (from, to): (f64, f64),
    ) -> ((u64, Pacer), usize) {
        let mut deepest = 0;
        // (id, units, finishes_at on the GPU)
        let mut queue: VecDeque<(u64, u32, f64)> = VecDeque::new();
        let mut gpu_free_at = 0.0f64;
        let mut now = 0.0f64;
        let mut steps = 0u64;
        while now < to {
            while pacer.has_room(interactive(now)) {
                let units = pacer.units(Work::Train, interactive(now), 256);
                let id = pacer.submitted(Work::Train, units, now);
                let start = gpu_free_at.max(now);
                gpu_free_at = start + f64::from(units) * gpu_ms(start);
                queue.push_back((id, units, gpu_free_at));
            }
            if now >= from {
                deepest = deepest.max(queue.len());
            }
            // The next event: the oldest chunk's callback.
            let (id, units, done) = queue.pop_front().expect("a chunk in flight");
            now = done + latency_ms;
            pacer.completed(id, now);
            if done >= from && done < to {
                steps += u64::from(units);
            }
        }
        ((steps, pacer), deepest)
    }

    #[test]
    fn a_fast_gpu_with_late_callbacks_stays_busy() {
        // A real GPU: 1 ms a step, callbacks 12 ms late (Chrome on a real GPU, as reported).
        let (steps, pacer) = simulate(1.0, 12.0, |_| false, (0.0, 10_000.0));
        let throughput = steps as f64 / 10_000.0;
        assert!(throughput > 0.9, "{throughput} steps/ms of a possible 1");
        // Chunks grew to about a frame of work.
        assert_eq!(pacer.units(Work::Train, false, 256), 16);
        let page = pacer.ms_per_step().unwrap();
        assert!(page < 1.1, "page {page} ms per step on a 1 ms GPU");
        assert!((pacer.gpu_ms_per_step().unwrap() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn while_a_slider_moves_training_keeps_going_behind_half_a_frame() {
        // Two seconds of plain training, then the visitor drags for five.
        let dragging = |now: f64| now >= 2_000.0;
        let (steps, pacer) = simulate(1.0, 12.0, dragging, (2_500.0, 7_000.0));
        let units = pacer.units(Work::Train, true, 256);
        assert_eq!(units, 8, "half a frame of 1 ms steps");
        // One chunk, then a callback's wait: 8 of every 20 ms, not one step per callback.
        let throughput = steps as f64 / 4_500.0;
        assert!(throughput > 0.35 && throughput < 0.45, "{throughput}");
    }

    #[test]
    fn a_slow_gpu_takes_one_step_per_chunk_and_loses_nothing() {
        // Firefox on lavapipe here: ~25 ms a step, callbacks a few ms late.
        let (steps, pacer) = simulate(25.0, 4.0, |_| false, (0.0, 20_000.0));
        assert_eq!(pacer.units(Work::Train, false, 256), 1);
        let throughput = steps as f64 * 25.0 / 20_000.0;
        assert!(throughput > 0.97, "{throughput}");
    }

    #[test]
    fn an_emulated_gpu_takes_one_step_at_a_time_and_loses_little() {
        // Chromium on SwiftShader here: ~180 ms a step, callbacks ~5 ms late.
        let ((steps, pacer), deepest) = simulate_varying(
            Pacer::default(),
            |_| 180.0,
            5.0,
            |_| false,
            (2_000.0, 20_000.0),
        );
        // A slider's first input waits behind one step, not three.
        assert_eq!(deepest, 1);
        assert_eq!(pacer.units(Work::Train, false, 256), 1);
        // The GPU idles a callback's latency once a step: 180 of every 185 ms.
        let throughput = steps as f64 * 180.0 / 18_000.0;
        assert!(throughput > 0.95, "{throughput}");
        // Lavapipe's 40 ms steps stay three deep.
        let (_, deepest) = simulate_varying(
            Pacer::default(),
            |_| 40.0,
            4.0,
            |_| false,
            (2_000.0, 10_000.0),
        );
        assert_eq!(deepest, QUEUE_DEPTH);
    }

    #[test]
    fn a_gpu_that_speeds_up_goes_back_to_a_deeper_queue() {
        // Steps of 180 ms for 3 s (the emulation sharing its cores with the page's start),
        // then of 2 ms: one at a time, then three chunks of a frame each again.
        let gpu = |at: f64| if at < 3_000.0 { 180.0 } else { 2.0 };
        let ((steps, pacer), deepest) =
            simulate_varying(Pacer::default(), gpu, 5.0, |_| false, (5_000.0, 10_000.0));
        assert_eq!(deepest, QUEUE_DEPTH);
        assert_eq!(pacer.units(Work::Train, false, 256), 8);
        let throughput = steps as f64 * 2.0 / 5_000.0;
        assert!(throughput > 0.9, "{throughput}");
    }

    #[test]
    fn callbacks_delivered_in_bursts_do_not_inflate_the_rate() {
        // Callbacks only every 10 ms (a browser that services its channel on a tick): two or
        // more chunks often complete in the same tick.
        let mut pacer = Pacer::default();
        let mut queue: VecDeque<(u64, u32, f64)> = VecDeque::new();
        let (mut gpu_free_at, mut now, mut steps) = (0.0f64, 0.0f64, 0u64);
        let mut longest = 0;
        while now < 10_000.0 {
            while pacer.has_room(false) {
                let units = pacer.units(Work::Train, false, 256);
                longest = longest.max(units);
                let id = pacer.submitted(Work::Train, units, now);
                gpu_free_at = gpu_free_at.max(now) + f64::from(units) * 1.0;
                queue.push_back((id, units, gpu_free_at));
            }
            let (id, units, done) = queue.pop_front().unwrap();
            now = now.max((done / 10.0).ceil() * 10.0);
            pacer.completed(id, now);
            steps += u64::from(units);
        }
        let estimate = pacer.gpu_ms_per_step().unwrap();
        assert!(
            (0.8..1.25).contains(&estimate),
            "{estimate} ms per 1 ms step"
        );
        assert!(longest <= 32, "a chunk of {longest} steps");
        assert!(steps as f64 / 10_000.0 > 0.85, "{steps} steps");
    }

    #[test]
    fn the_rate_ignores_chunks_that_waited_for_a_callback() {
        let mut pacer = Pacer::default();
        // 10 steps of 1 ms each, the first with 30 ms of callback latency besides, the second
        // queued behind it: its completion comes 10 ms after the first's.
        let first = pacer.submitted(Work::Train, 10, 0.0);
        let second = pacer.submitted(Work::Train, 10, 1.0);
        pacer.completed(first, 40.0);
        pacer.completed(second, 50.0);
        assert_eq!(pacer.gpu_ms_per_step(), Some(1.0));
        // The page's own figure keeps what it cost: 50 ms for 20 steps.
        assert_eq!(pacer.ms_per_step(), Some(2.5));
    }

    #[test]
    fn unknown_and_abandoned_chunks_change_nothing() {
        let mut pacer = Pacer::default();
        let id = pacer.submitted(Work::Evaluate, 4, 0.0);
        pacer.completed(id + 7, 5.0);
        assert_eq!(pacer.in_flight(), 1);
        pacer.abandon(id);
        assert_eq!(pacer.in_flight(), 0);
        assert_eq!(pacer.ms_per_step(), None);
        assert_eq!(pacer.units(Work::Evaluate, false, 100), 1);
    }

    #[test]
    fn a_worker_stays_busy_with_one_step_waiting() {
        // The CPU engine here: about 20 ms a step, replies within a third of a millisecond.
        let (steps, pacer) =
            simulate_with(Pacer::for_worker(), 20.0, 0.3, |_| false, (0.0, 10_000.0));
        assert!(steps >= 490, "{steps} steps in 10 s of 20 ms steps");
        // Chunks of one step (a frame's worth), at most two queued: a slider's decode waits
        // behind at most two steps, and behind one once the visitor is at the sliders.
        assert_eq!(pacer.units(Work::Train, false, 256), 1);
        assert!(pacer.in_flight() <= WORKER_QUEUE_DEPTH);
        let mut fresh = Pacer::for_worker();
        fresh.submitted(Work::Train, 1, 0.0);
        assert!(fresh.has_room(false) && !fresh.has_room(true));
        fresh.submitted(Work::Train, 1, 0.0);
        assert!(!fresh.has_room(false));
    }
}
