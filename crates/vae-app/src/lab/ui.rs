//! What the page shows of the lab: signals the controller writes and components read.

use leptos::html::Canvas;
use leptos::prelude::*;
use vae_model::VaeConfig;

pub use crate::lab_types::{
    Axes, Curve, LatentMap, LikelihoodPoint, ModelInfo, ModelKind, TestPoint, TrainPoint,
};

/// Where the lab stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// A model is being made (shaders compiled, data uploaded).
    Building,
    /// A model is ready; not training.
    Ready,
    Training,
    /// Training paused because the tab is hidden; it goes on when the tab is shown again.
    Hidden,
    /// Training stopped on a NaN or infinite loss; the model was restored. The text says what
    /// happened and what to change.
    Diverged(String),
    /// The GPU device was lost (the reason): the model on it is gone, the page offers a restart
    /// on a new device that restores the last kept model.
    Lost(String),
    /// The GPU failed otherwise (a rejected buffer): the lab cannot go on.
    Failed(String),
}

/// How far training has got and how fast.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub step: u64,
    /// The epoch the next step belongs to (1 for the first) and steps done in it.
    pub epoch: u64,
    pub epoch_step: u64,
    pub steps_per_epoch: u64,
    /// Over the training chunks so far (evaluations and pauses excluded): wall time on this
    /// page per step, as the visitor gets it.
    pub images_per_second: f64,
    pub ms_per_step: f64,
    /// The GPU's own time per step, from completions with the queue kept full.
    pub gpu_ms_per_step: f64,
    /// Main-thread time spent encoding one training step (JS and wasm), whatever the GPU.
    pub encode_ms_per_step: f64,
    /// Compute dispatches one training step records.
    pub dispatches_per_step: u32,
    /// Wall time spent training, evaluations included.
    pub elapsed_ms: f64,
    /// An evaluation on the test set is running.
    pub evaluating: bool,
}

/// A message about the model: a file that would not open, a save that failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub error: bool,
    pub text: String,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            error: false,
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            error: true,
            text: text.into(),
        }
    }
}

/// Where the autosave stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum SaveState {
    #[default]
    Nothing,
    Saving,
    /// Saved at this step.
    Saved(u64),
    /// The browser refused; training goes on.
    Failed(String),
}

/// A visitor's file, checked: while its model has other sizes than the current one, it waits
/// here for the visitor's choice.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub name: String,
    pub bytes: std::sync::Arc<Vec<u8>>,
    pub summary: vae_model::CheckpointSummary,
}

/// The canvases the controller draws into.
#[derive(Clone, Copy)]
pub struct Canvases {
    pub decoded: NodeRef<Canvas>,
    pub samples: NodeRef<Canvas>,
    pub reconstructions: NodeRef<Canvas>,
    pub map: NodeRef<Canvas>,
    pub grid: NodeRef<Canvas>,
    pub interpolation: NodeRef<Canvas>,
    pub interpolation_frame: NodeRef<Canvas>,
    pub pad_reconstruction: NodeRef<Canvas>,
}

/// Where an interpolation starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The sliders' point.
    Sliders,
    /// A test digit's posterior mean (its index in the test set).
    Test(usize),
}

/// What the latent-space views show and how they are set.
#[derive(Clone, Copy)]
pub struct ViewsUi {
    pub map: RwSignal<Option<std::sync::Arc<LatentMap>>>,
    pub map_axes: RwSignal<Axes>,
    /// The test digit under the pointer on the map, if any.
    pub hovered: RwSignal<Option<usize>>,
    pub grid_axes: RwSignal<Axes>,
    /// The grid spans ±this around the sliders' point.
    pub grid_range: RwSignal<f32>,
    pub from: RwSignal<Endpoint>,
    pub to: RwSignal<Endpoint>,
    /// The interpolation frame shown (0 at the start, [`crate::lab::INTERPOLATION_FRAMES`] − 1
    /// at the end).
    pub frame: RwSignal<usize>,
    /// The sliders are listed by information (KL) instead of by index.
    pub order_by_kl: RwSignal<bool>,
}

impl ViewsUi {
    fn new() -> Self {
        Self {
            map: RwSignal::new(None),
            map_axes: RwSignal::new(Axes::Principal),
            hovered: RwSignal::new(None),
            grid_axes: RwSignal::new(Axes::Principal),
            grid_range: RwSignal::new(2.0),
            from: RwSignal::new(Endpoint::Test(0)),
            to: RwSignal::new(Endpoint::Test(1)),
            frame: RwSignal::new(0),
            order_by_kl: RwSignal::new(false),
        }
    }
}

/// Which engine runs the model and why, for the page to say and to offer the other.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineUi {
    /// The engine of the model in use, as the page names it ("WebGPU (…)", "CPU (…)"); empty
    /// until a model is in.
    pub name: String,
    pub on_cpu: bool,
    /// Why the lab chose it.
    pub why: String,
    /// On the CPU, how many workers train and why.
    pub workers: String,
    /// The GPU adapter's name when the browser has WebGPU (the lab can switch to it).
    pub gpu: Option<String>,
}

/// Every signal of the lab; `Copy`, so components take it by value.
#[derive(Clone, Copy)]
pub struct LabUi {
    pub phase: RwSignal<Phase>,
    pub engine: RwSignal<EngineUi>,
    pub progress: RwSignal<Progress>,
    pub curve: RwSignal<Curve>,
    /// The latent point the sliders show.
    pub z: RwSignal<Vec<f32>>,
    /// The live model's settings.
    pub model: RwSignal<Option<VaeConfig>>,
    pub model_info: RwSignal<ModelInfo>,
    /// The latest message about the model (open, download, save), if any.
    pub notice: RwSignal<Option<Notice>>,
    pub saved: RwSignal<SaveState>,
    pub offer: RwSignal<Option<Offer>>,
    /// The log-likelihood estimate's progress (its results go on the curve).
    pub estimate: RwSignal<Estimate>,
    /// The last estimate's least and most likely test digits.
    pub ranked: RwSignal<Option<std::sync::Arc<Ranked>>>,
    pub canvases: Canvases,
    pub views: ViewsUi,
    /// The training data's image size (width, height), which the digits are drawn at: set with
    /// [`LabUi::show_image_shape`], which keeps the drawing code's copy in step.
    pub image: RwSignal<(usize, usize)>,
    /// The training data keeps grey levels: the cross-entropy's targets are grey, and its
    /// figures are not log-likelihoods (the curve and the estimate say so).
    pub grey_targets: RwSignal<bool>,
    /// The training data's class names by label (MNIST's are its digits).
    pub classes: RwSignal<Vec<String>>,
}

impl LabUi {
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(Phase::Building),
            engine: RwSignal::new(EngineUi::default()),
            progress: RwSignal::new(Progress::default()),
            curve: RwSignal::new(Curve::default()),
            z: RwSignal::new(Vec::new()),
            model: RwSignal::new(None),
            model_info: RwSignal::new(ModelInfo::scratch()),
            notice: RwSignal::new(None),
            saved: RwSignal::new(SaveState::Nothing),
            offer: RwSignal::new(None),
            estimate: RwSignal::new(Estimate::Idle),
            ranked: RwSignal::new(None),
            canvases: Canvases {
                decoded: NodeRef::new(),
                samples: NodeRef::new(),
                reconstructions: NodeRef::new(),
                map: NodeRef::new(),
                grid: NodeRef::new(),
                interpolation: NodeRef::new(),
                interpolation_frame: NodeRef::new(),
                pad_reconstruction: NodeRef::new(),
            },
            views: ViewsUi::new(),
            image: RwSignal::new(crate::draw::image_size()),
            grey_targets: RwSignal::new(false),
            classes: RwSignal::new((0..10).map(|d| d.to_string()).collect()),
        }
    }

    /// The name of class `label` (tracked), or the label itself when the data has no name for it.
    pub fn class_name(&self, label: u8) -> String {
        self.classes.with(|names| {
            names
                .get(usize::from(label))
                .filter(|name| !name.is_empty())
                .cloned()
                .unwrap_or_else(|| label.to_string())
        })
    }

    /// The digits are drawn at the data's shape from now on (its size, grey or in colour).
    pub fn show_image_shape(&self, shape: crate::draw::ImageShape) {
        crate::draw::set_image_shape(shape);
        let size = (shape.width, shape.height);
        if self.image.get_untracked() != size {
            self.image.set(size);
        }
    }
}

/// How the page shows the estimate.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Estimate {
    #[default]
    Idle,
    Running {
        token: u64,
        samples: u32,
        images: usize,
        done: usize,
    },
    Failed(String),
}

/// A test digit an estimate ranked, with its reconstruction.
#[derive(Clone, Debug, PartialEq)]
pub struct RankedDigit {
    /// Its place in the test set.
    pub index: usize,
    /// Its L_K, nats.
    pub log_likelihood: f32,
    pub pixels: Vec<f32>,
    pub reconstruction: Vec<f32>,
}

/// The digits the last estimate found least and most likely, `RECONSTRUCTIONS` of each.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    pub samples: u32,
    pub step: u64,
    /// Least likely first.
    pub least: Vec<RankedDigit>,
    /// Most likely first.
    pub most: Vec<RankedDigit>,
}
