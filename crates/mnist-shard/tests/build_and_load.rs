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
                    split.level(index, pixel) == 255,
                    expected,
                    "part {part} image {index} pixel {pixel}"
                );
            }
            // Ink stays ink-like: black pixels always on, white never.
            let image = source.image(index);
            assert!(image.iter().enumerate().all(|(p, &v)| match v {
                0 => split.level(index, p) == 0,
                255 => split.level(index, p) == 255,
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

/// Version 2: colour, grey levels and levels drawn each epoch read back as they were stored, and
/// a binary grey data set is still written as version 1.
#[test]
fn colour_and_grey_level_data_sets_read_back_as_stored() {
    use mnist_shard::draw::{draw_bit, EVALUATION_EPOCH};
    use mnist_shard::import::{build_shard, Binarize, DecodedImage, ImportOptions};
    use mnist_shard::Encoding;

    // Six 5×3 RGBA images: a gradient in red, a fixed green, blue by image, half transparent.
    let decoded: Vec<DecodedImage> = (0..6u8)
        .map(|i| DecodedImage {
            width: 5,
            height: 3,
            channels: 4,
            pixels: (0..15u8)
                .flat_map(|p| [p * 17, 100, i * 40, if p == 0 { 0 } else { 255 }])
                .collect(),
        })
        .collect();
    let labels = [0, 1, 0, 1, 0, 1];
    for binarize in [Binarize::Keep, Binarize::EachEpoch, Binarize::Threshold(90)] {
        let options = ImportOptions {
            width: 5,
            height: 3,
            colour: true,
            binarize,
            test_share: 0.34,
            seed: 11,
            ..ImportOptions::default()
        };
        let images: Vec<Vec<u8>> = decoded.iter().map(|d| options.shrink(d)).collect();
        assert_eq!(
            images[2][..6],
            [0, 0, 0, 17, 100, 80],
            "transparent, then RGB"
        );
        let bytes = build_shard(&images, &labels, &options).unwrap();
        let shard = Shard::parse(&bytes, "colour").unwrap();
        assert_eq!(shard.header().version, 2);
        let test = shard.test();
        assert_eq!(test.encoding(), options.encoding());
        assert_eq!((test.values_per_image(), test.channels()), (45, 3));
        let (_, held_out) = mnist_shard::import::split(6, 0.34, 11);
        for (n, &index) in held_out.iter().enumerate() {
            let source = &images[index];
            let seen = test.image_f32(n);
            for (v, &ink) in source.iter().enumerate() {
                let (stored, expected) = match binarize {
                    Binarize::Keep => (ink, f32::from(ink) / 255.0),
                    Binarize::EachEpoch => {
                        let on = draw_bit(ink, 11, EVALUATION_EPOCH, n as u32, v as u32);
                        (ink, f32::from(u8::from(on)))
                    }
                    _ => {
                        let on = ink >= 90;
                        (if on { 255 } else { 0 }, f32::from(u8::from(on)))
                    }
                };
                assert_eq!(test.level(n, v), stored, "{binarize:?} value {v}");
                assert_eq!(seen[v], expected, "{binarize:?} value {v}");
            }
        }
    }
    // Grey and binary: version 1, as before.
    let grey = ImportOptions {
        width: 5,
        height: 3,
        ..ImportOptions::default()
    };
    let images: Vec<Vec<u8>> = decoded.iter().map(|d| grey.shrink(d)).collect();
    let bytes = build_shard(&images, &labels, &grey).unwrap();
    let shard = Shard::parse(&bytes, "grey").unwrap();
    assert_eq!(shard.header().version, 1);
    assert_eq!(shard.train().encoding(), Encoding::BINARY);
}

/// What version 2's new bytes may not say: a channel count, depth or flag no reader knows.
#[test]
fn version_two_refuses_encodings_it_does_not_know() {
    use mnist_shard::import::{build_shard, Binarize, ImportOptions};
    let options = ImportOptions {
        width: 4,
        height: 4,
        binarize: Binarize::Keep,
        test_share: 0.5,
        ..ImportOptions::default()
    };
    let bytes = build_shard(&[vec![9; 16], vec![200; 16]], &[0, 1], &options).unwrap();
    Shard::parse(&bytes, "good").unwrap();
    for (at, value, says) in [
        (60, 2, "2 channels"),
        (61, 4, "of 4 bits"),
        (62, 2, "flags"),
        (63, 1, "flags"),
    ] {
        let mut bad = bytes.clone();
        bad[at] = value;
        // Re-seal, so only the field is wrong.
        bad[12..16].copy_from_slice(&[0; 4]);
        let crc = crc32fast::hash(&bad);
        bad[12..16].copy_from_slice(&crc.to_le_bytes());
        let error = Shard::parse(&bad, "bad").unwrap_err().to_string();
        assert!(error.contains(says), "byte {at} = {value}: {error}");
    }
}

/// The checksum computed chunk by chunk, in chunks of any size (one falling across the checksum
/// field), is the loader's own, and a shard parsed with it is the same shard; a wrong one is
/// refused as a bad checksum.
#[test]
fn a_checksum_computed_as_the_bytes_arrive_is_the_loaders() {
    use mnist_shard::{Checksum, ShardErrorKind};
    let download = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/mnist.shard.gz"
    ))
    .unwrap();
    let raw = decompress(&download, "mnist.shard.gz").unwrap();
    let whole = Shard::parse(&raw, "whole").unwrap();
    for chunk in [1, 7, 13, 64, 65_536, raw.len()] {
        let mut checksum = Checksum::default();
        for part in raw.chunks(chunk) {
            checksum.update(part);
        }
        let computed = checksum.finish();
        assert_eq!(computed, whole.header().checksum, "chunks of {chunk}");
        let again = Shard::parse_with_checksum(&raw, "streamed", computed).unwrap();
        assert_eq!(again.header(), whole.header());
        assert_eq!(again.test().image_f32(9), whole.test().image_f32(9));
    }
    let wrong = Shard::parse_with_checksum(&raw, "streamed", 1).unwrap_err();
    assert!(matches!(wrong.kind, ShardErrorKind::BadChecksum { .. }));
}
