//! The lab's live side: one model on the GPU and the work the page asks of it. The page talks
//! to a [`LabController`]; it never touches the engine directly and holds no math.
//!
//! Nothing here waits on the GPU while holding the model: every GPU read is an owned future
//! ([`vae_gpu::PendingRead`] and friends) awaited in its own task, which then takes the model
//! again for a moment. So training, decoding for the sliders and reading metrics overlap, and
//! the page's main thread only ever encodes work.

mod keeping;
mod pacing;
mod schedule;
mod ui;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mnist_shard::Shard;
use vae_gpu::vae::{prior_sample, Evaluator, Inference, Vae, VaeConfig};
use vae_gpu::{GpuContext, GpuError};

use crate::data::{ShardSlot, SHARD_URL};
use crate::draw::{draw_digits, DigitGrid};
pub use ui::{
    Curve, LabUi, ModelInfo, ModelKind, Notice, Offer, Phase, Progress, SaveState, TestPoint,
    TrainPoint,
};

/// Prior samples shown in the gallery (a fixed draw: the same z's, watched as the decoder learns).
pub const SAMPLE_ROWS: usize = 4;
pub const SAMPLE_COLUMNS: usize = 8;
/// Test images shown with their reconstructions.
pub const RECONSTRUCTIONS: usize = 8;
/// Test digits the sliders can jump to.
pub const PICKABLE_DIGITS: usize = 16;

/// The model and everything bound to it. Replaced whole on reset.
struct Lab {
    /// Tells late replies (reads started before a reset) that they are for an old model.
    generation: u64,
    vae: Vae,
    slider: Inference,
    samples: Inference,
    reconstructions: Inference,
    evaluator: Evaluator,
    prior_z: Vec<f32>,
    /// The first test images: reconstructed in the gallery, pickable for the sliders.
    test_images: Vec<Vec<f32>>,
    schedule: schedule::Schedule,
    decode_in_flight: bool,
    decode_again: bool,
    /// When the oldest slider input not yet on screen happened (`performance.now()`).
    input_waiting_since: Option<f64>,
    gallery_in_flight: bool,
    /// The parameters changed while the gallery was being drawn: draw it again after.
    gallery_again: bool,
    random_draws: u32,
    /// An autosave is being read back and written; another request waits for it.
    saving: bool,
    save_again: bool,
}

/// What a new model starts from.
pub enum ModelSource {
    /// Initialised from the settings' seed.
    Fresh(VaeConfig),
    /// A checkpoint's bytes: the pretrained model, an opened file, an autosave.
    Checkpoint(Loaded),
}

pub struct Loaded {
    pub bytes: std::sync::Arc<Vec<u8>>,
    /// The settings a plain state dict trains with (the pretrained model takes the page's);
    /// None: the file's own, or the defaults.
    pub settings: Option<VaeConfig>,
    pub info: ModelInfo,
    /// The curve an autosave brings back.
    pub curve: Option<Curve>,
    /// Said once the model is in.
    pub notice: Option<Notice>,
}

/// What the page holds to drive the lab. Not `Send` (GPU handles on the web are not): the page
/// keeps it in a [`LabHandle`].
#[derive(Clone)]
pub struct LabController {
    lab: Rc<RefCell<Option<Lab>>>,
    context: GpuContext,
    shard: ShardSlot,
    generations: Rc<RefCell<u64>>,
    pub ui: LabUi,
}

/// The controller as components hold it: a `Copy` handle to page-local storage.
pub type LabHandle = StoredValue<LabController, LocalStorage>;

fn message(error: GpuError) -> String {
    error.to_string()
}

impl LabController {
    pub fn new(context: GpuContext, shard: ShardSlot, ui: LabUi) -> Self {
        Self {
            lab: Rc::new(RefCell::new(None)),
            context,
            shard,
            generations: Rc::new(RefCell::new(0)),
            ui,
        }
    }

    pub fn limits(&self) -> &vae_gpu::wgpu::Limits {
        &self.context.limits
    }

    /// Training images in the data (0 until it has arrived).
    pub fn training_images(&self) -> usize {
        self.shard.get().map_or(0, |shard| shard.train_len())
    }

    /// A fresh model with `config`: built, shown, and its test −ELBO at initialisation plotted;
    /// then trained if `then_train`.
    pub fn rebuild(&self, config: VaeConfig, then_train: bool) {
        self.start(ModelSource::Fresh(config), then_train);
    }

    /// Replaces the model with one from `source`. A fresh model takes the current one's place at
    /// once; a checkpoint is built beside it and replaces it only once it is whole, so a file that
    /// fails to load leaves the current model as it was (and says why).
    pub fn start(&self, source: ModelSource, then_train: bool) {
        let this = self.clone();
        let fresh = matches!(source, ModelSource::Fresh(_));
        if fresh {
            self.ui.notice.set(None);
        }
        if fresh || self.lab.borrow().is_none() {
            *self.lab.borrow_mut() = None;
            self.ui.phase.set(Phase::Building);
        } else {
            // A file dropped while training: training stops, whether or not the file loads.
            if self.stop_training(false) {
                self.ui.phase.set(Phase::Ready);
            }
            self.ui.notice.set(Some(Notice::info("Loading the model…")));
        }
        spawn_local(async move {
            let (info, curve, notice) = match &source {
                ModelSource::Fresh(_) => (ModelInfo::scratch(), None, None),
                ModelSource::Checkpoint(loaded) => (
                    loaded.info.clone(),
                    loaded.curve.clone(),
                    loaded.notice.clone(),
                ),
            };
            match this.build(source).await {
                Ok(lab) => {
                    let config = *lab.vae.config();
                    let steps_per_epoch = lab.vae.steps_per_epoch().unwrap_or(0);
                    let epochs_done = lab.vae.epoch_progress().map_or(0, |(epoch, _)| epoch - 1);
                    let step = lab.vae.step();
                    // Late replies to the old model find another generation and are dropped.
                    *this.lab.borrow_mut() = Some(lab);
                    this.ui.model.set(Some(config));
                    let opened = info.kind == ModelKind::File;
                    this.ui.model_info.set(info);
                    let evaluate = curve.as_ref().is_none_or(|c| c.test.is_empty());
                    this.ui.curve.set(curve.unwrap_or_default());
                    let progress = this.with_lab(None, |lab| lab.progress(crate::draw::now_ms()));
                    this.ui.progress.set(progress.unwrap_or(Progress {
                        step,
                        steps_per_epoch,
                        ..Progress::default()
                    }));
                    let z = this.ui.z.get_untracked();
                    if z.len() != config.sizes.latent {
                        this.ui.z.set(vec![0.0; config.sizes.latent]);
                    }
                    if notice.is_some() {
                        this.ui.notice.set(notice);
                    }
                    crate::draw::mark("lab-ready");
                    this.redraw_everything();
                    if evaluate {
                        this.start_initial_evaluation(epochs_done);
                    } else {
                        this.ui.phase.set(Phase::Ready);
                    }
                    if opened {
                        // An opened file becomes the visitor's work: a reload brings it back.
                        this.autosave();
                    }
                    if then_train {
                        this.train();
                    }
                }
                Err(error) if this.lab.borrow().is_some() => {
                    // The current model stays; only the file failed.
                    this.ui.notice.set(Some(Notice::error(format!(
                        "{}: {}. The current model is unchanged.",
                        info.name,
                        message(error)
                    ))));
                }
                Err(error) => this.ui.phase.set(Phase::Failed(message(error))),
            }
        });
    }

    async fn build(&self, source: ModelSource) -> Result<Lab, GpuError> {
        let generation = {
            let mut generations = self.generations.borrow_mut();
            *generations += 1;
            *generations
        };
        // On a page that shows no digit yet (a model replacing another draws its own later).
        let fresh_page = self.lab.borrow().is_none();
        // The kernels compile while the data may still be downloading.
        let mut vae = match source {
            ModelSource::Fresh(config) => Vae::new(self.context.clone(), config).await?,
            ModelSource::Checkpoint(Loaded {
                bytes,
                settings: Some(settings),
                ..
            }) => Vae::load_state_dict_as(self.context.clone(), &bytes, settings).await?,
            ModelSource::Checkpoint(Loaded { bytes, .. }) => {
                Vae::load(self.context.clone(), &bytes).await?
            }
        };
        let config = *vae.config();
        let slider = vae.inference(1).await?;
        if fresh_page {
            // The model's digit first: the data may still be on its way, and binding it, the
            // gallery and the test set takes longer than a decode.
            self.draw_first_digit(&vae, &slider).await;
        }
        let Some(data) = self.shard.wait().await else {
            return Err(GpuError::InvalidInput(
                "the training data never arrived".into(),
            ));
        };
        let raw = data.bytes();
        let shard =
            Shard::parse(&raw, SHARD_URL).map_err(|e| GpuError::InvalidInput(e.to_string()))?;
        vae.set_training_data(&shard.train()).await?;
        let samples = vae.inference((SAMPLE_ROWS * SAMPLE_COLUMNS) as u32).await?;
        let reconstructions = vae.inference(RECONSTRUCTIONS as u32).await?;
        let evaluator = vae.evaluator(&shard.test()).await?;
        let test = shard.test();
        let test_images = (0..PICKABLE_DIGITS.max(RECONSTRUCTIONS).min(test.len()))
            .map(|i| test.image_f32(i))
            .collect();
        let latent = config.sizes.latent;
        Ok(Lab {
            generation,
            vae,
            slider,
            samples,
            reconstructions,
            evaluator,
            prior_z: prior_sample(config.seed, 0, SAMPLE_ROWS * SAMPLE_COLUMNS, latent),
            test_images,
            schedule: schedule::Schedule::new(self.context.adapter.is_software),
            decode_in_flight: false,
            decode_again: false,
            input_waiting_since: None,
            gallery_in_flight: false,
            gallery_again: false,
            random_draws: 0,
            saving: false,
            save_again: false,
        })
    }

    /// Decodes the sliders' z with a model not yet installed (its training data may not have
    /// arrived) and draws it; on any error the normal path draws it once the lab is whole.
    async fn draw_first_digit(&self, vae: &Vae, slider: &Inference) {
        let latent = vae.config().sizes.latent;
        let mut z = self.ui.z.get_untracked();
        if z.len() != latent {
            // What the sliders will show once the model is in.
            z = vec![0.0; latent];
        }
        let Ok(read) = vae.request_decode(slider, &z) else {
            return;
        };
        if let (Ok(pixels), Some(canvas)) =
            (read.wait().await, self.ui.canvases.decoded.get_untracked())
        {
            draw_digits(&canvas, &pixels, DigitGrid::single());
            crate::draw::mark("decoded");
        }
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

    /// Shows a GPU failure instead of the lab (the model is gone, e.g. a lost device).
    fn fail(&self, error: GpuError) {
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
    }

    /// z from the prior, a new draw each time.
    pub fn random_z(&self) {
        let z = self.with_lab(None, |lab| {
            lab.random_draws += 1;
            let config = lab.vae.config();
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
        let read = self.with_lab(None, |lab| {
            let x = lab.test_images.get(index)?;
            Some((lab.generation, lab.vae.request_encode(&lab.slider, x)))
        });
        let Some(Some((generation, read))) = read else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = match read {
                Ok(read) => read.wait().await,
                Err(error) => Err(error),
            };
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

    fn decode_sliders(&self) {
        let z = self.ui.z.get_untracked();
        let request = self.with_lab(None, |lab| {
            if lab.decode_in_flight {
                lab.decode_again = true;
                return None;
            }
            if z.len() != lab.vae.config().sizes.latent {
                return None;
            }
            lab.decode_in_flight = true;
            let since = lab.input_waiting_since.take();
            let requested = crate::draw::now_ms();
            let read = lab.vae.request_decode(&lab.slider, &z);
            Some((lab.generation, since, requested, read))
        });
        let Some(Some((generation, since, requested, read))) = request else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let result = match read {
                Ok(read) => read.wait().await,
                Err(error) => Err(error),
            };
            let again = this.with_lab(Some(generation), |lab| {
                lab.decode_in_flight = false;
                std::mem::take(&mut lab.decode_again)
            });
            let Some(again) = again else { return };
            match result {
                Ok(pixels) => {
                    if let Some(canvas) = this.ui.canvases.decoded.get_untracked() {
                        draw_digits(&canvas, &pixels, DigitGrid::single());
                        crate::draw::mark("decoded");
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
    fn refresh_gallery(&self) {
        let requests = self.with_lab(None, |lab| {
            if lab.gallery_in_flight {
                lab.gallery_again = true;
                return None;
            }
            let x: Vec<f32> = lab.test_images[..RECONSTRUCTIONS].concat();
            let samples = lab.vae.request_decode(&lab.samples, &lab.prior_z);
            let reconstructions = lab.vae.request_reconstruction(&lab.reconstructions, &x);
            lab.gallery_in_flight = true;
            Some((lab.generation, x, samples, reconstructions))
        });
        let Some(Some((generation, x, samples, reconstructions))) = requests else {
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let drawn = async {
                let samples = samples?.wait().await?;
                let reconstructions = reconstructions?.wait().await?;
                Ok::<_, GpuError>((samples, reconstructions))
            }
            .await;
            let Some(again) = this.with_lab(Some(generation), |lab| {
                lab.gallery_in_flight = false;
                std::mem::take(&mut lab.gallery_again)
            }) else {
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
    }
}
