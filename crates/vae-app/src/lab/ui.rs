//! What the page shows of the lab: signals the controller writes and components read.

use leptos::html::Canvas;
use leptos::prelude::*;
use vae_gpu::vae::VaeConfig;

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
    /// The GPU failed (a lost device, a rejected buffer): the lab cannot go on.
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

/// One training step's batch means, in nats per image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainPoint {
    pub step: u64,
    pub neg_elbo: f32,
    pub bce: f32,
    pub kl: f32,
}

/// The test set's mean after an epoch (epoch 0: at initialisation), in nats per image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestPoint {
    pub epoch: u64,
    pub step: u64,
    /// Time spent training when it was taken (evaluations excluded), in milliseconds.
    pub train_ms: f64,
    pub neg_elbo: f64,
    pub bce: f64,
    pub kl: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    pub train: Vec<TrainPoint>,
    pub test: Vec<TestPoint>,
}

/// The canvases the controller draws into.
#[derive(Clone, Copy)]
pub struct Canvases {
    pub decoded: NodeRef<Canvas>,
    pub samples: NodeRef<Canvas>,
    pub reconstructions: NodeRef<Canvas>,
}

/// Every signal of the lab; `Copy`, so components take it by value.
#[derive(Clone, Copy)]
pub struct LabUi {
    pub phase: RwSignal<Phase>,
    pub progress: RwSignal<Progress>,
    pub curve: RwSignal<Curve>,
    /// The latent point the sliders show.
    pub z: RwSignal<Vec<f32>>,
    /// The live model's settings.
    pub model: RwSignal<Option<VaeConfig>>,
    pub canvases: Canvases,
}

impl LabUi {
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(Phase::Building),
            progress: RwSignal::new(Progress::default()),
            curve: RwSignal::new(Curve::default()),
            z: RwSignal::new(Vec::new()),
            model: RwSignal::new(None),
            canvases: Canvases {
                decoded: NodeRef::new(),
                samples: NodeRef::new(),
                reconstructions: NodeRef::new(),
            },
        }
    }
}
