//! The data the VAE lab ships with: a compact MNIST shard (format in `FORMAT.md`), the builder that
//! makes it from the original IDX files, and one validating loader for native and wasm.
//!
//! The loader never panics on any input: every way a file can be wrong is a [`ShardError`] that
//! names the file and what is wrong with it.

pub mod archive;
mod bits;
pub mod build;
pub mod collect;
pub mod draw;
mod error;
mod format;
mod header;
pub mod idx;
pub mod import;
pub mod npy;
mod shard;

pub use error::{ShardError, ShardErrorKind};
pub use format::{Encoding, Header, FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use shard::{decompress, Checksum, OwnedSplit, Shard, Split};
