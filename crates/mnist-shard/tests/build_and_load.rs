//! The builder against the real MNIST IDX files: round trip, reproducibility, and the shipped shard.

mod common;

use mnist_shard::build::{binarize, build, gzip, BuildOptions, Source};
use mnist_shard::{decompress, Shard};

fn sources() -> (
    mnist_shard::idx::IdxImages,
    Vec<u8>,
    mnist_shard::idx::IdxImages,
    Vec<u8>,
) {
    (
        common::images("train-images-idx3-ubyte.gz"),
        common::labels("train-labels-idx1-ubyte.gz"),
        common::images("t10k-images-idx3-ubyte.gz"),
        common::labels("t10k-labels-idx1-ubyte.gz"),
    )
}

#[test]
fn idx_files_are_the_real_mnist() {
    let (train, train_labels, test, test_labels) = sources();
    assert_eq!((train.count, train.rows, train.cols), (60_000, 28, 28));
    assert_eq!(test.count, 10_000);
    // Label counts published for MNIST (and checked in shared/mnist/SOURCE.md).
    let count = |labels: &[u8], digit| labels.iter().filter(|&&l| l == digit).count();
    assert_eq!(count(&train_labels, 1), 6742);
    assert_eq!(count(&test_labels, 0), 980);
}

#[test]
fn a_built_shard_loads_back_the_same_pixels_and_labels() {
    let (train, train_labels, test, test_labels) = sources();
    let options = BuildOptions {
        train_count: 1000,
        test_count: 300,
        seed: 42,
    };
    let bytes = build(
        Source {
            images: &train,
            labels: &train_labels,
        },
        Source {
            images: &test,
            labels: &test_labels,
        },
        options,
    )
    .unwrap();
    let shard = Shard::parse(&bytes, "built").unwrap();
    assert_eq!(shard.header().binarization_seed, 42);
    // A split kept after its shard's bytes are gone reads the same.
    let kept = {
        let copy = bytes.clone();
        Shard::parse(&copy, "built")
            .unwrap()
            .test()
            .to_owned_split()
    };
    let (split, owned) = (shard.test(), kept.split());
    assert_eq!((owned.len(), owned.labels()), (split.len(), split.labels()));
    assert_eq!(owned.image_f32(299), split.image_f32(299));
    for (part, split, source, labels) in [
        (0, shard.train(), &train, &train_labels),
        (1, shard.test(), &test, &test_labels),
    ] {
        assert_eq!(split.len(), if part == 0 { 1000 } else { 300 });
        assert_eq!(split.labels(), &labels[..split.len()]);
        for index in [0, 1, 7, 128, split.len() - 1] {
            for (pixel, &intensity) in source.image(index).iter().enumerate() {
                let expected = binarize(intensity, 42, part, index as u64, pixel as u64);
                assert_eq!(
                    split.pixel(index, pixel),
                    expected,
                    "part {part} image {index} pixel {pixel}"
                );
            }
            // Ink stays ink-like: black pixels always on, white never.
            let image = source.image(index);
            assert!(image.iter().enumerate().all(|(p, &v)| match v {
                0 => !split.pixel(index, p),
                255 => split.pixel(index, p),
                _ => true,
            }));
        }
    }
}

#[test]
fn binarisation_has_the_right_probability() {
    for intensity in [0u8, 1, 64, 128, 200, 254, 255] {
        let on = (0..200_000)
            .filter(|&i| binarize(intensity, 7, 0, i / 784, i % 784))
            .count();
        let expected = f64::from(intensity) / 255.0;
        let observed = on as f64 / 200_000.0;
        // 5 standard deviations of a binomial proportion, plus a hair for the 2^-24 quantisation.
        let sd = (expected * (1.0 - expected) / 200_000.0).sqrt();
        assert!(
            (observed - expected).abs() <= 5.0 * sd + 1e-6,
            "{intensity}: {observed} vs {expected}"
        );
    }
}

#[test]
fn building_is_reproducible_byte_for_byte_and_the_shipped_shard_is_that_build() {
    let (train, train_labels, test, test_labels) = sources();
    // The options `vae shard build` uses by default, which made web/mnist.shard.gz.
    let options = BuildOptions {
        train_count: 50_000,
        test_count: 10_000,
        seed: 0,
    };
    let make = || {
        build(
            Source {
                images: &train,
                labels: &train_labels,
            },
            Source {
                images: &test,
                labels: &test_labels,
            },
            options,
        )
        .unwrap()
    };
    let first = make();
    assert_eq!(first, make());
    let shipped_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/mnist.shard.gz");
    let shipped = std::fs::read(shipped_path).unwrap();
    assert_eq!(
        gzip(&first),
        shipped,
        "web/mnist.shard.gz differs from a fresh build: rebuild it with `cargo run -p vae-cli -- shard build`"
    );
    assert!(
        shipped.len() <= 2_000_000,
        "the shipped shard grew to {} bytes",
        shipped.len()
    );
    let raw = decompress(&shipped, "mnist.shard.gz").unwrap();
    assert_eq!(&raw[..], &first[..]);
}

#[test]
fn a_subset_of_the_shipped_shard_is_its_first_images_as_they_are() {
    let shipped_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/mnist.shard.gz");
    let shipped = std::fs::read(shipped_path).unwrap();
    let raw = decompress(&shipped, "shipped").unwrap();
    let whole = Shard::parse(&raw, "shipped").unwrap();
    // An odd count leaves the labels section unaligned: the padding must be right.
    let bytes = mnist_shard::build::subset(&whole, 1001, 37).unwrap();
    let part = Shard::parse(&bytes, "subset").unwrap();
    assert_eq!((part.train().len(), part.test().len()), (1001, 37));
    assert_eq!(
        part.header().binarization_seed,
        whole.header().binarization_seed
    );
    for (a, b, n) in [
        (part.train(), whole.train(), 1001),
        (part.test(), whole.test(), 37),
    ] {
        let bytes = n * 4 * a.words_per_image();
        assert_eq!(a.packed_images(), &b.packed_images()[..bytes]);
        assert_eq!(a.labels(), &b.labels()[..n]);
    }
    // Asking for more than there is takes all of it.
    let all = mnist_shard::build::subset(&part, 5000, 5000).unwrap();
    assert_eq!(all, bytes);
    // A split's first images, borrowed, are the subset's.
    let first = whole.test().first(37);
    assert_eq!(first.len(), 37);
    assert_eq!(first.packed_images(), part.test().packed_images());
    assert_eq!(first.labels(), part.test().labels());
    assert_eq!(part.test().first(5000).len(), 37);
}
