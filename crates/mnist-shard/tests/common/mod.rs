//! Shared by the shard tests: the real MNIST IDX source from the workspace's `../shared/mnist`.

use std::path::PathBuf;

use mnist_shard::idx::{read_images, read_labels, IdxImages};

pub fn mnist_dir() -> PathBuf {
    let dir = std::env::var_os("MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/mnist"));
    assert!(
        dir.join("train-images-idx3-ubyte.gz").exists(),
        "the MNIST IDX files are not in {}: set MNIST_DIR to the folder holding them",
        dir.display()
    );
    dir
}

pub fn images(name: &str) -> IdxImages {
    let path = mnist_dir().join(name);
    read_images(&std::fs::read(&path).unwrap(), name).unwrap()
}

pub fn labels(name: &str) -> Vec<u8> {
    let path = mnist_dir().join(name);
    read_labels(&std::fs::read(&path).unwrap(), name).unwrap()
}
