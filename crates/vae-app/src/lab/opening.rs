//! How a model comes into the lab: made fresh from settings, or from a checkpoint's bytes (the
//! pretrained model, a visitor's file, the autosave), built beside the current one and swapped
//! in only once it is whole, with its first digit drawn as soon as it is on the GPU.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vae_gpu::vae::prior_sample;
use vae_model::VaeConfig;

use super::engine::{self, Backend, Decoding, EngineError, Model, Opening};
use super::{
    message, schedule, views, Curve, Lab, LabController, ModelInfo, ModelKind, Notice, OneInFlight,
    Phase, SaveState, DECODE_SIZES, PICKABLE_DIGITS, RECONSTRUCTIONS, SAMPLE_COLUMNS, SAMPLE_ROWS,
};

/// What a new model starts from.
#[derive(Clone)]
pub enum ModelSource {
    /// Initialised from the settings' seed.
    Fresh(VaeConfig),
    /// The same, with what to say once it is in (why a fresh model replaced the last).
    FreshSaying(VaeConfig, Notice),
    /// A checkpoint's bytes: the pretrained model, an opened file, an autosave.
    Checkpoint(Box<Loaded>),
}

#[derive(Clone)]
pub struct Loaded {
    pub bytes: Arc<Vec<u8>>,
    /// The settings a plain state dict trains with (the pretrained model takes the page's);
    /// None: the file's own, or the defaults.
    pub settings: Option<VaeConfig>,
    pub info: ModelInfo,
    /// The curve an autosave brings back.
    pub curve: Option<Curve>,
    /// Said once the model is in.
    pub notice: Option<Notice>,
    /// Autosaved once it is in (a model restored from memory that the browser does not hold).
    pub save_after: bool,
}

impl Loaded {
    /// This browser's autosave, resumed as it was: its own settings, its curve.
    pub fn from_autosave(saved: crate::persist::Saved) -> Self {
        Self {
            bytes: Arc::new(saved.checkpoint),
            settings: None,
            info: saved.info,
            curve: Some(saved.curve),
            notice: None,
            save_after: false,
        }
    }
}

impl LabController {
    /// A fresh model with `config`: built, shown, and its test −ELBO at initialisation plotted;
    /// then trained if `then_train`.
    pub fn rebuild(&self, config: VaeConfig, then_train: bool) {
        self.start(ModelSource::Fresh(config), then_train);
    }

    /// Replaces the model with one from `source`, built beside the current one and swapped in
    /// only once it is whole: a file that fails to load, or settings too large for this GPU's
    /// memory, leave the current model as it was (and say why).
    pub fn start(&self, source: ModelSource, then_train: bool) {
        if self
            .ui
            .phase
            .with_untracked(|p| matches!(p, Phase::Lost(_)))
        {
            // Nothing can be built on a lost device; Restart makes a new one first.
            return self.ui.notice.set(Some(Notice::error(
                "The GPU device was lost: press Restart on a new device first.",
            )));
        }
        let this = self.clone();
        let fresh = matches!(source, ModelSource::Fresh(_) | ModelSource::FreshSaying(..));
        if fresh {
            self.ui.notice.set(None);
        }
        if self.lab.borrow().is_none() {
            self.ui.phase.set(Phase::Building);
        } else {
            // A file dropped while training: training stops, whether or not the file loads. The
            // controls wait for a new model (the current one still decodes meanwhile).
            if self.stop_training(false) || fresh {
                self.ui
                    .phase
                    .set(if fresh { Phase::Building } else { Phase::Ready });
            }
            self.ui.notice.set(Some(Notice::info(if fresh {
                "Building the new model…"
            } else {
                "Loading the model…"
            })));
        }
        spawn_local(async move {
            let kept = source.clone();
            let (info, curve, notice, save_after) = match &source {
                ModelSource::Fresh(_) => (ModelInfo::scratch(), None, None, false),
                ModelSource::FreshSaying(_, notice) => {
                    (ModelInfo::scratch(), None, Some(notice.clone()), false)
                }
                ModelSource::Checkpoint(loaded) => (
                    loaded.info.clone(),
                    loaded.curve.clone(),
                    loaded.notice.clone(),
                    loaded.save_after,
                ),
            };
            match this.build(source).await {
                Ok(lab) => {
                    let config = *lab.model.config();
                    let epochs_done = lab.model.epoch_progress().map_or(0, |(epoch, _)| epoch - 1);
                    let (engine, on_cpu) = (lab.model.engine_name(), lab.model.is_cpu());
                    let workers = lab.model.workers_why();
                    let progress = lab.progress(crate::draw::now_ms());
                    this.ui.show_image_shape(lab.image_shape);
                    this.ui.grey_targets.set(lab.grey_targets);
                    let generation = lab.generation;
                    // Late replies to the old model find another generation and are dropped.
                    *this.lab.borrow_mut() = Some(lab);
                    this.forget_views();
                    this.ui.model.set(Some(config));
                    this.ui.engine.update(|e| {
                        e.name = engine;
                        e.on_cpu = on_cpu;
                        e.workers = workers;
                    });
                    let opened = info.kind == ModelKind::File && !info.resumed;
                    let trained = info.kind != ModelKind::Scratch;
                    // The autosave holds this model only if it came from there.
                    this.ui.saved.set(if info.resumed {
                        SaveState::Saved(progress.step)
                    } else {
                        SaveState::Nothing
                    });
                    this.keep_source(kept, progress.step, info.resumed && !save_after);
                    this.ui.model_info.set(info);
                    let evaluate = curve.as_ref().is_none_or(|c| c.test.is_empty());
                    this.ui.curve.set(curve.unwrap_or_default());
                    this.ui.ranked.set(None);
                    this.ui.progress.set(progress);
                    let z = this.ui.z.get_untracked();
                    if z.len() != config.sizes.latent {
                        this.ui.z.set(vec![0.0; config.sizes.latent]);
                    }
                    if notice.is_some() || fresh {
                        this.ui.notice.set(notice);
                    }
                    // The panels were rebuilt for the model in this task; what they show (the
                    // digit, the gallery, the views, the first evaluation) is asked for in the
                    // next, so that on a slow phone neither task is long.
                    crate::tasks::next_task().await;
                    if this.with_lab(Some(generation), |_| ()).is_none() {
                        return; // replaced meanwhile: the newer model's start does the rest
                    }
                    // A trained model opens on a digit (z = 0 is one click away); a fresh one, or
                    // a latent point the visitor chose (a link, the autosave), stays.
                    let at_origin = this.ui.z.with_untracked(|z| z.iter().all(|&v| v == 0.0));
                    let first = this.with_lab(None, |lab| lab.test_images.first().cloned());
                    let on_a_digit =
                        matches!((at_origin, trained, &first), (true, true, Some(Some(_))));
                    if let (true, Some(Some(image))) = (on_a_digit, first) {
                        this.encode_image(&image);
                    }
                    crate::draw::mark("lab-ready");
                    if on_a_digit {
                        // The views follow the digit once its encoding is in (`set_z`): drawn
                        // now, at z = 0, they would be replaced within a second, and the start
                        // on a slow phone is the page's busiest second.
                        this.decode_sliders();
                        this.refresh_gallery();
                    } else {
                        this.redraw_everything();
                    }
                    // A model with a curve already (resumed) is evaluated too, for the latent
                    // map, but adds no point to its curve.
                    this.start_initial_evaluation(epochs_done, evaluate);
                    if opened || save_after {
                        // An opened file becomes the visitor's work: a reload brings it back.
                        this.autosave();
                    }
                    if then_train {
                        this.train();
                    }
                }
                Err(error) if this.lab.borrow().is_some() => {
                    // The current model stays, on its engine; only the new one failed.
                    let on_cpu = this.with_lab(None, |lab| lab.model.is_cpu());
                    if let Some(on_cpu) = on_cpu {
                        this.on_cpu.set(on_cpu);
                    }
                    let what = if fresh {
                        "The new model could not be built".to_string()
                    } else {
                        info.name.clone()
                    };
                    this.ui.notice.set(Some(Notice::error(format!(
                        "{what}: {}. The current model is unchanged.",
                        message(error)
                    ))));
                    if this.ui.phase.with_untracked(|p| *p == Phase::Building) {
                        this.ui.phase.set(Phase::Ready);
                    }
                }
                // No model to keep: a lost device offers its restart, anything else is shown.
                Err(error) => this.fail(error),
            }
        });
    }

    async fn build(&self, source: ModelSource) -> Result<Lab, EngineError> {
        let generation = {
            let mut generations = self.generations.borrow_mut();
            *generations += 1;
            *generations
        };
        // On a page that shows no digit yet (a model replacing another draws its own later).
        let fresh_page = self.lab.borrow().is_none();
        let backend = self.backend();
        // The kernels compile (or the worker starts) while the data may still be downloading.
        let opening = match &source {
            ModelSource::Fresh(config) | ModelSource::FreshSaying(config, _) => {
                Opening::Fresh(*config)
            }
            ModelSource::Checkpoint(loaded) => Opening::Checkpoint {
                bytes: &loaded.bytes,
                settings: loaded.settings,
            },
        };
        let mut model = engine::open(&backend, opening).await?;
        let config = *model.config();
        if fresh_page {
            // The model's digit first: the data may still be on its way, and binding it, the
            // gallery and the test set takes longer than a decode.
            self.draw_first_digit(&model).await;
        }
        let Some(data) = self.shard.wait().await else {
            return Err(EngineError::invalid("the training data never arrived"));
        };
        let raw = data.bytes();
        let shard = data.shard().map_err(EngineError::invalid)?;
        if shard.test().is_empty() || shard.train().is_empty() {
            return Err(EngineError::invalid(
                "the training data needs at least one training and one test image",
            ));
        }
        let test = shard.test();
        let image_shape = vae_model::ImageShape::of(&test);
        config
            .check_shape(image_shape)
            .map_err(|error| EngineError::invalid(error.to_string()))?;
        model.bind_data(&raw).await?;
        model.prepare_decodes(DECODE_SIZES).await?;
        let test = shard.test();
        let test_images = (0..PICKABLE_DIGITS.max(RECONSTRUCTIONS).min(test.len()))
            .map(|i| test.image_f32(i))
            .collect();
        let latent = config.sizes.latent;
        let (software, worker) = match &backend {
            Backend::Gpu(context) => (context.adapter.is_software, false),
            Backend::Cpu { .. } => (false, true),
        };
        Ok(Lab {
            generation,
            model,
            prior_z: prior_sample(config.seed, 0, SAMPLE_ROWS * SAMPLE_COLUMNS, latent),
            test_images,
            schedule: schedule::Schedule::new(software, worker),
            decode: OneInFlight::default(),
            input_waiting_since: None,
            gallery: OneInFlight::default(),
            random_draws: 0,
            saving: OneInFlight::default(),
            test_set: test.to_owned_split(),
            image_shape,
            grey_targets: !test.encoding().is_binary(),
            views: views::ViewState::default(),
            estimate: None,
        })
    }

    /// Decodes the sliders' z with a model not yet installed (its training data may not have
    /// arrived) and draws it; on any error the normal path draws it once the lab is whole.
    async fn draw_first_digit(&self, model: &Model) {
        let latent = model.config().sizes.latent;
        let mut z = self.ui.z.get_untracked();
        if z.len() != latent {
            // What the sliders will show once the model is in.
            z = vec![0.0; latent];
        }
        let Ok(read) = model.request_decode(Decoding::Slider, &z) else {
            return;
        };
        if let (Ok(pixels), Some(canvas)) = (read.await, self.ui.canvases.decoded.get_untracked()) {
            crate::draw::draw_decoded(&canvas, &pixels, &z);
        }
    }
}
