use thiserror::Error;

/// Everything that can go wrong between us and the GPU, phrased for the person who must act on it.
#[derive(Debug, Error)]
pub enum GpuError {
    /// The browser has no usable WebGPU (missing API, or an API that gives no adapter).
    #[error("WebGPU is not available in this browser: {reason}")]
    WebGpuUnavailable { reason: String },

    /// No native adapter was found at all.
    #[error(
        "no GPU adapter found for backends {backends}. Install a GPU driver; on a machine without a \
         GPU install the software Vulkan driver lavapipe (Debian/Ubuntu: `apt-get install \
         mesa-vulkan-drivers libvulkan1`)"
    )]
    NoAdapter { backends: String },

    #[error("the GPU adapter refused to create a device: {0}")]
    RequestDevice(#[from] wgpu::RequestDeviceError),

    /// A shape or a buffer length the kernels cannot work with; a caller error, named precisely.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The device rejected a pipeline, a binding or a dispatch (caught by an error scope).
    #[error("GPU validation error in {context}: {message}")]
    Validation { context: String, message: String },

    /// A checkpoint that cannot be loaded: corrupt, or made for another model.
    #[error("cannot load the checkpoint: {0}")]
    Checkpoint(String),

    /// The GPU had no memory for a buffer (caught by an error scope): the model or batch is too
    /// large for this GPU.
    #[error("the GPU has not enough memory for {0}: choose a smaller hidden width or batch")]
    OutOfMemory(String),

    #[error("could not read GPU memory back: {0}")]
    Map(String),

    #[error("the GPU device was lost or stopped answering ({0}); reload the page or restart the program")]
    DeviceLost(String),
}

impl From<vae_model::ModelError> for GpuError {
    /// The model's own checks (settings, data, checkpoint files) name what they refuse in the
    /// same words on this engine.
    fn from(error: vae_model::ModelError) -> Self {
        match error {
            vae_model::ModelError::InvalidInput(message) => GpuError::InvalidInput(message),
            vae_model::ModelError::Checkpoint(message) => GpuError::Checkpoint(message),
        }
    }
}

impl From<GpuError> for vae_model::EngineError {
    /// A lost device stays one (the page recovers from it); the model's own refusals keep their
    /// kind; the rest is said as the GPU says it.
    fn from(error: GpuError) -> Self {
        use vae_model::{EngineError, ModelError};
        match error {
            GpuError::DeviceLost(reason) => EngineError::DeviceLost(reason),
            GpuError::InvalidInput(message) => {
                EngineError::Model(ModelError::InvalidInput(message))
            }
            GpuError::Checkpoint(message) => EngineError::Model(ModelError::Checkpoint(message)),
            other => EngineError::Failed(other.to_string()),
        }
    }
}
