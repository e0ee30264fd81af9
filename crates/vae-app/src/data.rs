//! The bundled MNIST shard in the page: downloaded with progress, validated by `mnist-shard`.

use std::sync::Arc;

use leptos::prelude::*;
use mnist_shard::Shard;

use crate::draw::ImageShape;
use crate::fetch::{fetch_with_progress, unpack_shard};

/// Served beside the page by trunk (index.html copies it from web/).
pub const SHARD_URL: &str = "mnist.shard.gz";
/// Test digits shown once the data is in.
const PREVIEW: usize = 10;

/// A few test digits to show, as the model sees them, with their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    pub shape: ImageShape,
    pub digits: Vec<(u8, Vec<f32>)>,
}

/// The decompressed, validated shard, shared by everything that reads it.
#[derive(Clone)]
pub struct ShardBytes {
    bytes: Arc<Vec<u8>>,
    train: usize,
    test: usize,
    shape: ImageShape,
    encoding: mnist_shard::Encoding,
    /// Its CRC-32, verified: later parses take it rather than hash the bytes again.
    checksum: u32,
}

impl ShardBytes {
    /// A shard's bytes, validated whole (`name` says whose in an error).
    pub fn new(bytes: Vec<u8>, name: &str) -> Result<Self, String> {
        let checksum = Shard::parse(&bytes, name)
            .map_err(|e| e.to_string())?
            .header()
            .checksum;
        Self::with_checksum(bytes, name, checksum)
    }

    /// [`ShardBytes::new`] for bytes whose checksum was computed as they arrived.
    pub fn with_checksum(bytes: Vec<u8>, name: &str, checksum: u32) -> Result<Self, String> {
        let shard =
            Shard::parse_with_checksum(&bytes, name, checksum).map_err(|e| e.to_string())?;
        let test = shard.test();
        let shape = ImageShape {
            width: test.width(),
            height: test.height(),
            channels: test.channels(),
        };
        let encoding = test.encoding();
        let (train, test) = (shard.train().len(), test.len());
        Ok(Self {
            bytes: Arc::new(bytes),
            train,
            test,
            shape,
            encoding,
            checksum,
        })
    }

    pub fn bytes(&self) -> Arc<Vec<u8>> {
        Arc::clone(&self.bytes)
    }

    /// The shard, parsed again from its bytes without hashing them again.
    pub fn shard(&self) -> Result<Shard<'_>, String> {
        Shard::parse_with_checksum(&self.bytes, "the data", self.checksum)
            .map_err(|e| e.to_string())
    }

    pub fn train_len(&self) -> usize {
        self.train
    }

    pub fn test_len(&self) -> usize {
        self.test
    }

    /// Its images' size and channels.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// How its values are stored (bits, levels, drawn).
    pub fn encoding(&self) -> mnist_shard::Encoding {
        self.encoding
    }

    /// The first test images with their labels.
    pub fn preview(&self) -> Preview {
        let Ok(shard) = self.shard() else {
            return Preview {
                shape: self.shape,
                digits: Vec::new(),
            };
        };
        let test = shard.test();
        let digits = (0..PREVIEW.min(test.len()))
            .map(|i| (test.labels()[i], test.image_f32(i)))
            .collect();
        Preview {
            shape: self.shape,
            digits,
        }
    }
}

impl std::fmt::Debug for ShardBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShardBytes({} bytes)", self.bytes.len())
    }
}

impl PartialEq for ShardBytes {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.bytes, &other.bytes)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum DataState {
    Downloading {
        received: u64,
        total: Option<u64>,
    },
    Ready {
        train: usize,
        test: usize,
        download_bytes: usize,
        preview: Preview,
        shard: ShardBytes,
    },
    Failed(String),
}

/// Downloads and validates the shard, reporting into `state` as it goes.
pub async fn load_shard(state: RwSignal<DataState>) {
    let progress = move |received, total| state.set(DataState::Downloading { received, total });
    let result = match fetch_with_progress(SHARD_URL, progress).await {
        Ok(bytes) => summarize(bytes).await,
        Err(message) => Err(message),
    };
    state.set(result.unwrap_or_else(DataState::Failed));
}

async fn summarize(download: Vec<u8>) -> Result<DataState, String> {
    let download_bytes = download.len();
    let (raw, checksum) = unpack_shard(download, SHARD_URL).await?;
    let shard = match requested_subset() {
        Some((train, test)) => {
            let whole =
                Shard::parse_with_checksum(&raw, SHARD_URL, checksum).map_err(|e| e.to_string())?;
            let part =
                mnist_shard::build::subset(&whole, train, test).map_err(|e| e.to_string())?;
            ShardBytes::new(part, SHARD_URL)?
        }
        None => ShardBytes::with_checksum(raw, SHARD_URL, checksum)?,
    };
    Ok(DataState::Ready {
        train: shard.train_len(),
        test: shard.test_len(),
        download_bytes,
        preview: shard.preview(),
        shard,
    })
}

/// `?subset=TRAIN,TEST`, a setting for the browser tests only: the lab takes the first TRAIN
/// training and TEST test images of the shard (at least one of each), so a test can watch epochs
/// end and the test set scored in seconds on a small model. Anything else is ignored.
fn requested_subset() -> Option<(usize, usize)> {
    let search = web_sys::window()?.location().search().ok()?;
    let value = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("subset="))?;
    let (train, test) = value.split_once(',')?;
    let (train, test) = (train.parse::<usize>().ok()?, test.parse::<usize>().ok()?);
    (train > 0 && test > 0).then_some((train, test))
}

/// The shard once it has arrived, for whoever needs it: the lab compiles its kernels while the
/// data downloads, then waits here.
#[derive(Clone, Default)]
pub struct ShardSlot(std::rc::Rc<std::cell::RefCell<SlotState>>);

#[derive(Default)]
struct SlotState {
    shard: Option<ShardBytes>,
    waiting: Vec<futures_channel::oneshot::Sender<ShardBytes>>,
}

impl ShardSlot {
    pub fn fill(&self, shard: ShardBytes) {
        let mut state = self.0.borrow_mut();
        for waiter in state.waiting.drain(..) {
            let _ = waiter.send(shard.clone());
        }
        state.shard = Some(shard);
    }

    pub fn get(&self) -> Option<ShardBytes> {
        self.0.borrow().shard.clone()
    }

    /// The shard, once it is there (None only if the slot is dropped first).
    pub async fn wait(&self) -> Option<ShardBytes> {
        let receiver = {
            let mut state = self.0.borrow_mut();
            if let Some(shard) = &state.shard {
                return Some(shard.clone());
            }
            let (sender, receiver) = futures_channel::oneshot::channel();
            state.waiting.push(sender);
            receiver
        };
        receiver.await.ok()
    }
}

/// Thousands separated, as people read counts.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
