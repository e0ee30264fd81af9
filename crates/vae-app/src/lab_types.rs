//! What the lab knows as plain data, shared beyond it: the training curve, where the model came
//! from, the test set in the latent space. The autosave (`persist`) and the map's drawing
//! (`scatter`) take these; the module imports nothing of the lab, so they sit below it.

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

/// An importance-weighted estimate of the test log-likelihood (`vae_model::likelihood`), made
/// on the model at `step`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LikelihoodPoint {
    pub step: u64,
    /// K, the draws per image.
    pub samples: u32,
    /// How many of the first test images it covers.
    pub images: usize,
    /// −L_K, nats per image: an upper bound on −log p(x) that tightens as K grows.
    pub neg_log_likelihood: f64,
    /// Its standard error over the images.
    pub standard_error: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    pub train: Vec<TrainPoint>,
    pub test: Vec<TestPoint>,
    /// The estimates asked for of this model (saved with the curve).
    pub likelihood: Vec<LikelihoodPoint>,
}

/// Where the model in use came from, as the page names it.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelKind {
    /// Initialised from the seed.
    Scratch,
    /// The lab's shipped model.
    Pretrained,
    /// A file the visitor opened.
    File,
}

impl ModelKind {
    /// As the page's attributes and the autosave write it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Scratch => "scratch",
            Self::Pretrained => "pretrained",
            Self::File => "file",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Scratch, Self::Pretrained, Self::File]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    pub kind: ModelKind,
    /// What to call it: "the pretrained model", a file's name.
    pub name: String,
    /// How it was made, when the file says.
    pub description: Option<String>,
    /// Its test figures as its maker measured them.
    pub scores: vae_model::TestScores,
    /// Brought back from this browser's autosave (`kind` says where it first came from).
    pub resumed: bool,
}

impl ModelInfo {
    pub fn scratch() -> Self {
        Self {
            kind: ModelKind::Scratch,
            name: "a fresh model".into(),
            description: None,
            scores: vae_model::TestScores::default(),
            resumed: false,
        }
    }
}

/// Two directions to view the latent space along.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axes {
    /// The test posteriors' two principal directions (the default past two latents).
    Principal,
    /// Two latent dimensions themselves (0-based).
    Dimensions(usize, usize),
}

impl Axes {
    /// Principal directions for more than two latents, else the latents themselves.
    pub fn default_for(latent: usize) -> Self {
        if latent > 2 {
            Self::Principal
        } else {
            Self::Dimensions(0, latent.min(2) - 1)
        }
    }

    /// Names for the axes' ends, as the page labels them.
    pub fn names(self) -> (String, String) {
        match self {
            Self::Principal => ("PC1".into(), "PC2".into()),
            Self::Dimensions(x, y) => (format!("z{}", x + 1), format!("z{}", y + 1)),
        }
    }
}

/// The test set in the latent space, as of the model at `step`.
#[derive(Clone, Debug, PartialEq)]
pub struct LatentMap {
    pub step: u64,
    pub axes: Axes,
    /// Each test digit's posterior mean projected on `axes`.
    pub points: Vec<[f32; 2]>,
    /// The range drawn, `[x_min, x_max, y_min, y_max]` (`crate::scatter::bounds`).
    pub bounds: [f32; 4],
    pub labels: Vec<u8>,
    /// Each latent dimension's KL to the prior, averaged over the test set, in nats.
    pub kl: Vec<f64>,
    /// Dimensions whose KL is above [`vae_reference::latent::ACTIVE_KL_NATS`].
    pub active: usize,
}
