//! Builds a shard from MNIST IDX data, reproducibly: the same inputs and options give the same
//! bytes, compressed or not.

use std::io::Write;

use crate::bits::pack_image;
use crate::format::{Encoding, Header, Layout, CHECKSUM_RANGE, FORMAT_VERSION};
use crate::idx::IdxImages;
use crate::shard::checksum;
use crate::Shard;
use crate::{ShardError, ShardErrorKind};

/// How many images of each part to take (the first ones, in IDX order) and the binarisation seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    pub train_count: usize,
    pub test_count: usize,
    pub seed: u64,
}

/// One labelled source part: IDX images and their labels.
pub struct Source<'a> {
    pub images: &'a IdxImages,
    pub labels: &'a [u8],
}

/// Whether pixel `pixel` of image `image` of part `part` (0 train, 1 test) is on: a Bernoulli
/// draw with probability intensity/255, as the standard binarized MNIST was made. The draw is a
/// hash of (seed, part, image, pixel) rather than a stream, so any image can be rebuilt alone.
pub fn binarize(intensity: u8, seed: u64, part: u64, image: u64, pixel: u64) -> bool {
    let mut z = seed
        ^ (part << 62)
        ^ image.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ pixel.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    // The SplitMix64 output function: a bijective mixer with full avalanche.
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // u = top 24 bits / 2^24; on iff u < intensity / 255, compared exactly in integers.
    (z >> 40) * 255 < u64::from(intensity) << 24
}

fn check_source(name: &str, source: &Source, wanted: usize) -> Result<(), ShardError> {
    let fail = |message: String| Err(ShardErrorKind::BadLayout(message).in_file(name));
    if source.labels.len() != source.images.count {
        return fail(format!(
            "{} images but {} labels",
            source.images.count,
            source.labels.len()
        ));
    }
    if wanted > source.images.count {
        return fail(format!(
            "{wanted} images asked for, the source has {}",
            source.images.count
        ));
    }
    Ok(())
}

/// Builds an uncompressed shard.
pub fn build(train: Source, test: Source, options: BuildOptions) -> Result<Vec<u8>, ShardError> {
    check_source("train source", &train, options.train_count)?;
    check_source("test source", &test, options.test_count)?;
    let (rows, cols) = (train.images.rows, train.images.cols);
    if (test.images.rows, test.images.cols) != (rows, cols) {
        return Err(ShardErrorKind::BadLayout(format!(
            "train images are {rows}×{cols}, test images {}×{}",
            test.images.rows, test.images.cols
        ))
        .in_file("test source"));
    }
    let mut out = start_shard(
        cols,
        rows,
        Encoding::BINARY,
        options.train_count,
        options.test_count,
        options.seed,
    )?;
    let mut bits = Vec::with_capacity(rows * cols);
    for (part, source, count) in [
        (0, &train, options.train_count),
        (1, &test, options.test_count),
    ] {
        for image in 0..count {
            bits.clear();
            bits.extend(
                source
                    .images
                    .image(image)
                    .iter()
                    .enumerate()
                    .map(|(pixel, &v)| binarize(v, options.seed, part, image as u64, pixel as u64)),
            );
            pack_image(&bits, &mut out);
        }
        out.extend_from_slice(&source.labels[..count]);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    Ok(seal(out))
}

/// A shard of the first `train_count` training and `test_count` test images of `shard` (all of
/// a part if it has fewer), bit for bit as they are there: a smaller data set of the same kind,
/// for tests that need an epoch to end quickly.
pub fn subset(shard: &Shard, train_count: usize, test_count: usize) -> Result<Vec<u8>, ShardError> {
    let (train, test) = (shard.train(), shard.test());
    let (train_count, test_count) = (train_count.min(train.len()), test_count.min(test.len()));
    let mut out = start_shard(
        train.width(),
        train.height(),
        train.encoding(),
        train_count,
        test_count,
        shard.header().binarization_seed,
    )?;
    for part in [train.first(train_count), test.first(test_count)] {
        out.extend_from_slice(part.packed_images());
        out.extend_from_slice(part.labels());
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    Ok(seal(out))
}

/// The header of a shard of these sizes (its checksum still zero), with room for the rest.
pub(crate) fn start_shard(
    width: usize,
    height: usize,
    encoding: Encoding,
    train_count: usize,
    test_count: usize,
    seed: u64,
) -> Result<Vec<u8>, ShardError> {
    let too_big = |what| ShardErrorKind::BadLayout(format!("{what} too large")).in_file("shard");
    let to_u32 = |n: usize, what| u32::try_from(n).map_err(|_| too_big(what));
    let (width, height) = (to_u32(width, "width")?, to_u32(height, "height")?);
    let train_count = to_u32(train_count, "train count")?;
    let test_count = to_u32(test_count, "test count")?;
    let layout = Layout::for_counts(width, height, encoding, train_count, test_count);
    let offset = |at: u64| u32::try_from(at).map_err(|_| too_big("shard"));
    let header = Header {
        // Binary grey shards stay version 1: the same bytes as before version 2 existed.
        version: if encoding == Encoding::BINARY {
            1
        } else {
            FORMAT_VERSION
        },
        checksum: 0,
        width,
        height,
        train_count,
        test_count,
        binarization_seed: seed,
        train_images_offset: offset(layout.train_images)?,
        train_labels_offset: offset(layout.train_labels)?,
        test_images_offset: offset(layout.test_images)?,
        test_labels_offset: offset(layout.test_labels)?,
        file_len: offset(layout.file_len)?,
        encoding,
    };
    let mut out = Vec::with_capacity(layout.file_len as usize);
    out.extend_from_slice(&header.write());
    Ok(out)
}

/// Writes the checksum of a shard whose every other byte is in place.
pub(crate) fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let crc = checksum(&out);
    out[CHECKSUM_RANGE].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Gzip at the best level with no file name and a zero timestamp, so the bytes depend only on
/// the input (and the pinned compressor).
pub fn gzip(shard: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(shard)
        .expect("writing into a Vec cannot fail");
    encoder.finish().expect("writing into a Vec cannot fail")
}
