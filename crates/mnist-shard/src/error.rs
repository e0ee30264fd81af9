use thiserror::Error;

/// A shard (or IDX file) that cannot be used, with the name of the file it came from.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{file}: {kind}")]
pub struct ShardError {
    pub file: String,
    pub kind: ShardErrorKind,
}

/// What exactly is wrong.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShardErrorKind {
    #[error("not an MNIST shard (it does not start with the magic bytes \"VAESHARD\")")]
    BadMagic,
    #[error("shard format version {found} is not supported (this build reads versions 1 to {supported}); rebuild the shard or update the app")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error(
        "truncated: {expected} bytes expected, only {actual} present (an interrupted download?)"
    )]
    Truncated { expected: u64, actual: u64 },
    #[error(
        "the file is {actual} bytes but its header says {expected}: extra bytes after the data"
    )]
    TrailingBytes { expected: u64, actual: u64 },
    #[error("inconsistent header: {0}")]
    BadLayout(String),
    #[error(
        "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is corrupt"
    )]
    BadChecksum { stored: u32, computed: u32 },
    #[error("{split} label {index} is {label}, but digits are 0 to 9")]
    LabelOutOfRange {
        split: &'static str,
        index: usize,
        label: u8,
    },
    #[error("corrupt gzip stream: {0}")]
    Gzip(String),
    #[error("decompresses to more than {limit} bytes, far beyond any shard")]
    TooLarge { limit: u64 },
    #[error("not a valid IDX file: {0}")]
    BadIdx(String),
    #[error("not a usable NumPy array of images: {0}")]
    BadNpy(String),
    #[error("{0}")]
    BadArchive(String),
}

impl ShardErrorKind {
    pub(crate) fn in_file(self, file: &str) -> ShardError {
        ShardError {
            file: file.to_string(),
            kind: self,
        }
    }
}
