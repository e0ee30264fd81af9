//! The lab's live side: one model, on the GPU or on the CPU engine in its worker ([`engine`]),
//! and the work the page asks of it. The page talks to a [`LabController`]; it never touches an
//! engine directly and holds no math.
//!
//! Nothing here waits on an engine while holding the model: every read is an owned future
//! ([`engine::Pending`]) awaited in its own task, which then takes the model again for a moment.
//! So training, decoding for the sliders and reading metrics overlap, and the page's main
//! thread only ever queues work.

mod engine;
mod estimate;
mod keeping;
mod opening;
mod pacing;
mod recovery;
mod schedule;
mod switching;
mod ui;
mod views;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_gpu::vae::prior_sample;
use vae_gpu::{GpuContext, GpuError};

use engine::{settled, Backend, Decoding, EngineError, Model};

use crate::data::ShardSlot;
use crate::draw::{draw_digits, DigitGrid};
pub use engine::{choose, page_base, Choice};
pub use opening::{Loaded, ModelSource};
pub use recovery::install_test_hooks;
pub use ui::{
    Axes, Curve, Endpoint, Estimate, LabUi, LatentMap, LikelihoodPoint, ModelInfo, ModelKind,
    Notice, Offer, Phase, Progress, RankedDigit, SaveState, TestPoint, TrainPoint,
};
pub use views::{GRID_SIDE, INTERPOLATION_FRAMES, INTERPOLATION_SHOWN, STRIP_POINTS};

/// Prior samples shown in the gallery (a fixed draw: the same z's, watched as the decoder learns).
pub const SAMPLE_ROWS: usize = 4;
pub const SAMPLE_COLUMNS: usize = 8;
/// Test images shown with their reconstructions.
pub const RECONSTRUCTIONS: usize = 8;
/// Test digits the sliders can jump to.
pub const PICKABLE_DIGITS: usize = 16;
/// What the engine makes its fixed decodes for: the gallery above, the views' sizes.
const DECODE_SIZES: engine::DecodeSizes = engine::DecodeSizes {
    samples: SAMPLE_ROWS * SAMPLE_COLUMNS,
    reconstructions: RECONSTRUCTIONS,
    grid_side: GRID_SIDE,
    strip_points: STRIP_POINTS,
    interpolation_frames: INTERPOLATION_FRAMES,
};

/// One request on the GPU at a time (a decode, the gallery, a view, a save); asked again
/// meanwhile, it runs once more after.
#[derive(Default)]
pub(super) struct OneInFlight {
    in_flight: bool,
    again: bool,
}

impl OneInFlight {
    /// Whether a request is out; if so, another is wanted once it is back.
    pub(super) fn busy(&mut self) -> bool {
        self.again |= self.in_flight;
        self.in_flight
    }

    pub(super) fn started(&mut self) {
        self.in_flight = true;
    }

    /// Whether a request is out (without asking for another, as [`OneInFlight::busy`] does).
    pub(super) fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// The request is back: whether another was asked for meanwhile.
    pub(super) fn finished(&mut self) -> bool {
        self.in_flight = false;
        std::mem::take(&mut self.again)
    }
}

/// The model and everything bound to it. Replaced whole on reset.
struct Lab {
    /// Tells late replies (reads started before a reset) that they are for an old model.
    generation: u64,
    model: Model,
    prior_z: Vec<f32>,
    /// The first test images: reconstructed in the gallery, pickable for the sliders.
    test_images: Vec<Vec<f32>>,
    schedule: schedule::Schedule,
    /// The sliders' decode.
    decode: OneInFlight,
    /// When the oldest slider input not yet on screen happened (`performance.now()`).
    input_waiting_since: Option<f64>,
    gallery: OneInFlight,
    random_draws: u32,
    /// An autosave being read back and written; another request waits for it.
    saving: OneInFlight,
    /// The test set, for the latent map's labels and hover.
    test_set: mnist_shard::OwnedSplit,
    views: views::ViewState,
    /// The log-likelihood estimate under way, if any.
    estimate: Option<estimate::EstimateRun>,
    /// The training data's image size (width, height).
    image_shape: crate::draw::ImageShape,
    /// The data's values are grey levels, not bits.
    grey_targets: bool,
}

/// What the page holds to drive the lab. Not `Send` (GPU handles on the web are not): the page
/// keeps it in a [`LabHandle`].
#[derive(Clone)]
pub struct LabController {
    lab: Rc<RefCell<Option<Lab>>>,
    /// The browser's GPU device, if it has WebGPU (replaced when a lost device is restarted);
    /// kept while the CPU runs the model, to switch back to.
    context: Rc<RefCell<Option<GpuContext>>>,
    /// Models are built on the CPU engine (in a worker) rather than the GPU.
    on_cpu: Rc<Cell<bool>>,
    /// Where the CPU worker's scripts are (the page's base URL).
    worker_base: Rc<str>,
    /// What a lost device is recovered to.
    kept: Rc<RefCell<Option<recovery::Kept>>>,
    /// The step training had reached when the device was lost.
    lost_at_step: Rc<Cell<u64>>,
    shard: ShardSlot,
    generations: Rc<RefCell<u64>>,
    /// Numbers the estimates asked for, so a late reply knows whether it is still wanted.
    estimate_tokens: Rc<Cell<u64>>,
    pub ui: LabUi,
}

/// The controller as components hold it: a `Copy` handle to page-local storage.
pub type LabHandle = StoredValue<LabController, LocalStorage>;

fn message(error: EngineError) -> String {
    error.to_string()
}

impl LabController {
    /// A lab on the GPU of `context` if given and `on_cpu` is false, on the CPU otherwise.
    pub fn new(context: Option<GpuContext>, on_cpu: bool, shard: ShardSlot, ui: LabUi) -> Self {
        Self {
            lab: Rc::new(RefCell::new(None)),
            on_cpu: Rc::new(Cell::new(on_cpu || context.is_none())),
            context: Rc::new(RefCell::new(context)),
            worker_base: engine::page_base().into(),
            kept: Rc::new(RefCell::new(None)),
            lost_at_step: Rc::new(Cell::new(0)),
            shard,
            generations: Rc::new(RefCell::new(0)),
            estimate_tokens: Rc::new(Cell::new(0)),
            ui,
        }
    }

    /// What the engine in use can hold: the GPU's limits, or on the CPU the limits WebGPU
    /// guarantees everywhere (the settings form checks against them).
    pub fn limits(&self) -> vae_gpu::wgpu::Limits {
        match self.backend() {
            Backend::Gpu(context) => context.limits.clone(),
            Backend::Cpu { .. } => vae_gpu::wgpu::Limits::default(),
        }
    }

    /// Where the next model is built.
    fn backend(&self) -> Backend {
        match (&*self.context.borrow(), self.on_cpu.get()) {
            (Some(context), false) => Backend::Gpu(Box::new(context.clone())),
            _ => Backend::Cpu {
                base: Rc::clone(&self.worker_base),
            },
        }
    }

    /// Whether the lab has a WebGPU device to switch to.
    pub fn has_gpu(&self) -> bool {
        self.context.borrow().is_some()
    }

    /// Training images in the data (0 until it has arrived).
    /// The training data the settings are for (none yet: no images, MNIST's size).
    pub fn training_data(&self) -> crate::settings::TrainingData {
        self.shard.get().map_or(
            crate::settings::TrainingData {
                images: 0,
                ..crate::settings::TrainingData::MNIST
            },
            |shard| crate::settings::TrainingData {
                images: shard.train_len(),
                shape: shard.shape(),
            },
        )
    }

    /// The current generation's lab, borrowed for a moment, or None after a reset.
    fn with_lab<T>(&self, generation: Option<u64>, run: impl FnOnce(&mut Lab) -> T) -> Option<T> {
        let mut guard = self.lab.borrow_mut();
        let lab = guard.as_mut()?;
        if generation.is_some_and(|g| g != lab.generation) {
            return None;
        }
        Some(run(lab))
    }

    /// Shows a GPU failure instead of the lab. A lost device is offered a restart that brings
    /// the model back ([`recovery`]).
    fn fail(&self, error: EngineError) {
        let device = self.context().map(|context| context.check_device());
        let error = match (error, device) {
            (EngineError::DeviceLost(reason), _) | (_, Some(Err(GpuError::DeviceLost(reason)))) => {
                return self.device_lost(reason)
            }
            (error, _) => error,
        };
        if let Some(lab) = self.lab.borrow_mut().as_mut() {
            lab.schedule.training = false;
        }
        self.ui.phase.set(Phase::Failed(message(error)));
    }

    /// Moves the latent point: decoded at once, or as soon as the decode in flight is back
    /// (input events are coalesced to one decode at a time).
    pub fn set_z(&self, z: Vec<f32>, input_at: Option<f64>) {
        self.ui.z.set(z);
        if let Some(lab) = self.lab.borrow_mut().as_mut() {
            if lab.input_waiting_since.is_none() {
                lab.input_waiting_since = input_at;
            }
            if input_at.is_some() {
                // A person is dragging: training queues less so the digit answers at once.
                lab.schedule.last_input_at = crate::draw::now_ms();
            }
        }
        self.decode_sliders();
        self.views_follow_sliders();
    }

    /// z from the prior, a new draw each time.
    pub fn random_z(&self) {
        let z = self.with_lab(None, |lab| {
            lab.random_draws += 1;
            let config = lab.model.config();
            prior_sample(
                config.seed ^ 0x5EED,
                lab.random_draws,
                1,
                config.sizes.latent,
            )
        });
        if let Some(z) = z {
            self.set_z(z, None);
        }
    }

    /// The sliders jump to test digit `index`'s posterior mean.
    pub fn encode_test_digit(&self, index: usize) {
        let image = self.with_lab(None, |lab| {
            let test = lab.test_set.split();
            (index < test.len()).then(|| test.image_f32(index))
        });
        if let Some(Some(image)) = image {
            self.encode_image(&image);
        }
    }

    /// The sliders jump to `image`'s posterior mean.
    fn encode_image(&self, image: &[f32]) {
        let read = self.with_lab(None, |lab| {
            (lab.generation, lab.model.request_encode(image))
        });
        let Some((generation, read)) = read else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = settled(read).await;
            match result {
                Ok((mean, _)) if this.is_current(generation) => this.set_z(mean, None),
                Ok(_) => {}
                Err(error) => this.fail(error),
            }
        });
    }

    fn is_current(&self, generation: u64) -> bool {
        self.with_lab(Some(generation), |_| ()).is_some()
    }

    pub(super) fn decode_sliders(&self) {
        let z = self.ui.z.get_untracked();
        let request = self.with_lab(None, |lab| {
            if lab.decode.busy() {
                return None;
            }
            if z.len() != lab.model.config().sizes.latent {
                return None;
            }
            lab.decode.started();
            let since = lab.input_waiting_since.take();
            let requested = crate::draw::now_ms();
            let read = lab.model.request_decode(Decoding::Slider, &z);
            Some((lab.generation, since, requested, read))
        });
        let Some(Some((generation, since, requested, read))) = request else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = settled(read).await;
            let again = this.with_lab(Some(generation), |lab| lab.decode.finished());
            let Some(again) = again else { return };
            match result {
                Ok(pixels) => {
                    if let Some(canvas) = this.ui.canvases.decoded.get_untracked() {
                        crate::draw::draw_decoded(&canvas, &pixels, &z);
                        // GPU decode, read back and drawn: what a slider costs besides the frame.
                        crate::draw::measure("decode-drawn", requested, crate::draw::now_ms());
                        if let Some(since) = since {
                            crate::draw::measure_to_next_frame("slider-to-frame", since);
                        }
                    }
                }
                Err(error) => return this.fail(error),
            }
            if again {
                this.decode_sliders();
            }
        });
    }

    /// Prior samples and reconstructions, drawn when they are back.
    pub(super) fn refresh_gallery(&self) {
        let requests = self.with_lab(None, |lab| {
            if lab.gallery.busy() {
                return None;
            }
            // A data set with fewer test images shows them again.
            let x: Vec<f32> = lab
                .test_images
                .iter()
                .cycle()
                .take(RECONSTRUCTIONS)
                .flatten()
                .copied()
                .collect();
            let samples = lab.model.request_decode(Decoding::Samples, &lab.prior_z);
            let reconstructions = lab.model.request_reconstruction(&x);
            lab.gallery.started();
            Some((lab.generation, x, samples, reconstructions))
        });
        let Some(Some((generation, x, samples, reconstructions))) = requests else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let drawn = async {
                let samples = samples?.await?;
                let reconstructions = reconstructions?.await?;
                Ok::<_, EngineError>((samples, reconstructions))
            }
            .await;
            let Some(again) = this.with_lab(Some(generation), |lab| lab.gallery.finished()) else {
                return;
            };
            match drawn {
                Ok((samples, reconstructions)) => {
                    let canvases = this.ui.canvases;
                    if let Some(canvas) = canvases.samples.get_untracked() {
                        let grid = DigitGrid::new(SAMPLE_ROWS, SAMPLE_COLUMNS);
                        draw_digits(&canvas, &samples, grid);
                    }
                    if let Some(canvas) = canvases.reconstructions.get_untracked() {
                        // Originals on top, reconstructions below.
                        let both = [x, reconstructions].concat();
                        draw_digits(&canvas, &both, DigitGrid::new(2, RECONSTRUCTIONS));
                    }
                    if again {
                        this.refresh_gallery();
                    }
                }
                Err(error) => this.fail(error),
            }
        });
    }

    /// Decoded digit and gallery, after anything that changed the parameters at once.
    pub fn redraw_everything(&self) {
        self.decode_sliders();
        self.refresh_gallery();
        self.refresh_decodes();
        self.refresh_interpolation();
    }
}
