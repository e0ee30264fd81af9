//! What the page and the CPU worker say to each other. Every request carries an id and gets
//! exactly one reply with the same id; the worker answers in the order it was asked, so a
//! request queued after training sees the trained model (as a GPU queue would).
//!
//! Large payloads (images, latent vectors, checkpoints) travel as bytes, which
//! `serde-wasm-bindgen` turns into one `Uint8Array` rather than a JS array of numbers.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use vae_model::{BatchCursor, Evaluation, MetricsReport, VaeConfig};

/// `f32` values as little-endian bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Floats(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl Floats {
    pub fn from_slice(values: &[f32]) -> Self {
        Self(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    pub fn to_vec(&self) -> Vec<f32> {
        self.0
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

/// Bytes held with the page's own copy (the data shard, 6 MB): a request that holds them is
/// cloned (one per worker) without copying them, and they are copied once, into the message.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedBytes(pub Arc<Vec<u8>>);

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Arc::new(bytes))
    }
}

impl Serialize for SharedBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for SharedBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_bytes::ByteBuf::deserialize(deserializer).map(|bytes| bytes.into_vec().into())
    }
}

/// Where a model comes from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Source {
    Fresh(VaeConfig),
    /// A checkpoint's bytes; `settings` for a plain state dict trained with the page's settings.
    Checkpoint {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        settings: Option<VaeConfig>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Replaces the model (and forgets the data bound to the old one).
    Open(Source),
    /// The data shard's bytes (uncompressed): the training split is trained on, the test split
    /// evaluated.
    SetData {
        shard: SharedBytes,
    },
    Train {
        steps: u32,
    },
    /// The steps' metrics since the last read; `snapshot`: keep the state as a rollback point.
    Metrics {
        snapshot: bool,
    },
    Rollback,
    /// Up to `batches` more batches of the test evaluation (one is begun if none is under way).
    Evaluate {
        batches: u32,
    },
    /// The finished evaluation's −ELBO; its posteriors stay for [`Request::Posteriors`].
    FinishEvaluation,
    CancelEvaluation,
    Posteriors,
    Decode {
        z: Floats,
    },
    Encode {
        x: Floats,
    },
    Reconstruct {
        x: Floats,
    },
    EncodeAndReconstruct {
        x: Floats,
    },
    /// The importance-weighted bound L_K of test images `first..first + count`, `samples`
    /// draws each (`vae_model::likelihood`).
    LogLikelihood {
        first: u32,
        count: u32,
        samples: u32,
    },
    Save,
    /// Times `steps` training steps of a fresh default model on [`calibration_batch`] (after
    /// one untimed), leaving any open model alone: half of the lab's engine calibration.
    Calibrate {
        steps: u32,
    },
    /// From now on this worker trains share `index` of `count` (at most 2) of every batch,
    /// exchanging gradients with the other worker through the `MessagePort` posted with this
    /// request (`vae-cpu-worker`'s queue). Both workers are then sent the same model, data, training,
    /// metrics and rollback requests in the same order.
    Share {
        index: u32,
        count: u32,
    },
}

/// The batch both engines time when the lab calibrates: binarized pixels lit with MNIST's
/// density (about 13%), seeded, so the CPU engine's sparse first layer does the work it does on
/// real digits.
pub fn calibration_batch(batch: usize, input: usize) -> Vec<f32> {
    let mut rng = vae_reference::SplitMix64::new(0xCA11_B8A7E);
    (0..batch * input)
        .map(|_| if rng.next_u64() % 100 < 13 { 1.0 } else { 0.0 })
        .collect()
}

/// Where the model stands: what the page mirrors to plan its work.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub config: VaeConfig,
    pub step: u64,
    /// The training position (a checkpoint's, or the start).
    pub cursor: BatchCursor,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The worker is running and takes requests (sent once, unasked, with id 0).
    Ready {
        simd: String,
    },
    Opened(Standing),
    DataSet {
        train_images: usize,
        test_images: usize,
        evaluation_batches: u32,
    },
    /// `ms`: the worker's time for the steps.
    Trained {
        step: u64,
        ms: f64,
    },
    Metrics {
        report: MetricsReport,
        /// The step a rollback now returns to.
        rollback_to: u64,
    },
    RolledBack {
        step: u64,
    },
    Evaluated {
        remaining: u32,
    },
    Evaluation(Evaluation),
    Posteriors {
        means: Floats,
        logvars: Floats,
    },
    Images(Floats),
    Posterior {
        mean: Floats,
        logvar: Floats,
    },
    EncodedAndReconstructed {
        mean: Floats,
        image: Floats,
    },
    /// Each image's L_K, in nats.
    LogLikelihoods(Floats),
    Saved(#[serde(with = "serde_bytes")] Vec<u8>),
    Calibrated {
        ms_per_step: f64,
    },
    Done,
    /// The request could not be carried out; the model is as it was.
    Failed(String),
}

/// What the page posts: a request and its id.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub id: u64,
    pub body: T,
}
