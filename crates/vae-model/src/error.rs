use thiserror::Error;

/// What the model's own checks refuse, phrased for the person who must act on it: settings or
/// inputs no engine can use, and files that are not checkpoints of this lab.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// A setting, a shape or a data set the model cannot work with, named precisely.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A checkpoint that cannot be loaded: corrupt, or made for another model.
    #[error("cannot load the checkpoint: {0}")]
    Checkpoint(String),
}
