//! The validating loader: bytes in, a borrowed view of the images and labels out.

use std::borrow::Cow;
use std::io::Read;

use crate::bits;
use crate::draw::{draw_bit, EVALUATION_EPOCH};
use crate::format::{Encoding, Header, CHECKSUM_RANGE, FORMAT_VERSION, HEADER_LEN, MAGIC};
use crate::{ShardError, ShardErrorKind};

/// No shard decompresses to more than this; a larger output is a corrupt or hostile file.
const MAX_DECOMPRESSED: u64 = 512 << 20;

/// A parsed shard borrowing the bytes it was read from (no pixel is copied).
#[derive(Clone, Debug)]
pub struct Shard<'a> {
    header: Header,
    train: Split<'a>,
    test: Split<'a>,
}

/// The training or the test part of a shard.
#[derive(Clone, Copy, Debug)]
pub struct Split<'a> {
    name: &'static str,
    width: usize,
    height: usize,
    encoding: Encoding,
    /// The shard's seed: what its levels are drawn with, where they are drawn.
    seed: u64,
    images: &'a [u8],
    labels: &'a [u8],
}

/// A split copied out of its shard's bytes (about 1 MB for MNIST's test set), to keep once
/// the shard itself is gone.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedSplit {
    name: &'static str,
    width: usize,
    height: usize,
    encoding: Encoding,
    seed: u64,
    images: Vec<u8>,
    labels: Vec<u8>,
}

impl OwnedSplit {
    pub fn split(&self) -> Split<'_> {
        Split {
            name: self.name,
            width: self.width,
            height: self.height,
            encoding: self.encoding,
            seed: self.seed,
            images: &self.images,
            labels: &self.labels,
        }
    }
}

/// Undoes the gzip the shard ships in, if it has one; plain shards pass through unchanged.
pub fn decompress<'a>(bytes: &'a [u8], file: &str) -> Result<Cow<'a, [u8]>, ShardError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|error| ShardErrorKind::Gzip(error.to_string()).in_file(file))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(ShardErrorKind::TooLarge {
            limit: MAX_DECOMPRESSED,
        }
        .in_file(file));
    }
    Ok(Cow::Owned(out))
}

impl<'a> Shard<'a> {
    /// Validates everything (magic, version, layout, length, checksum, labels) and returns a view.
    /// `file` names the source in error messages.
    pub fn parse(bytes: &'a [u8], file: &str) -> Result<Shard<'a>, ShardError> {
        Self::parse_inner(bytes, None).map_err(|kind| kind.in_file(file))
    }

    /// [`Shard::parse`] with the file's checksum already computed (by a [`Checksum`] fed the
    /// bytes as they arrived, or by an earlier parse), so the bytes are not hashed again: the
    /// page hashes a download chunk by chunk instead of in one long task. Everything else is
    /// checked as `parse` checks it, and `computed` against the header's checksum.
    pub fn parse_with_checksum(
        bytes: &'a [u8],
        file: &str,
        computed: u32,
    ) -> Result<Shard<'a>, ShardError> {
        Self::parse_inner(bytes, Some(computed)).map_err(|kind| kind.in_file(file))
    }

    fn parse_inner(bytes: &'a [u8], computed: Option<u32>) -> Result<Shard<'a>, ShardErrorKind> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(if bytes.len() < MAGIC.len() && MAGIC.starts_with(bytes) {
                ShardErrorKind::Truncated {
                    expected: HEADER_LEN as u64,
                    actual: bytes.len() as u64,
                }
            } else {
                ShardErrorKind::BadMagic
            });
        }
        if bytes.len() < HEADER_LEN {
            return Err(ShardErrorKind::Truncated {
                expected: HEADER_LEN as u64,
                actual: bytes.len() as u64,
            });
        }
        let header = Header::read(bytes);
        if !(1..=FORMAT_VERSION).contains(&header.version) {
            return Err(ShardErrorKind::UnsupportedVersion {
                found: header.version,
                supported: FORMAT_VERSION,
            });
        }
        let layout = header.check_layout()?;
        if Header::unknown_bits(bytes) {
            return Err(ShardErrorKind::BadLayout(
                "flags this reader does not know are set (bytes 62-63)".into(),
            ));
        }
        let actual = bytes.len() as u64;
        if actual < layout.file_len {
            return Err(ShardErrorKind::Truncated {
                expected: layout.file_len,
                actual,
            });
        }
        if actual > layout.file_len {
            return Err(ShardErrorKind::TrailingBytes {
                expected: layout.file_len,
                actual,
            });
        }
        let computed = computed.unwrap_or_else(|| checksum(bytes));
        if computed != header.checksum {
            return Err(ShardErrorKind::BadChecksum {
                stored: header.checksum,
                computed,
            });
        }

        // All offsets are now known to lie inside `bytes`.
        let section = |from: u64, len: u64| &bytes[from as usize..(from + len) as usize];
        let (width, height) = (header.width as usize, header.height as usize);
        let image_bytes = 4 * header.encoding.words_per_image(width * height) as u64;
        let split = |name, images_at, count: u32, labels_at| Split {
            name,
            width,
            height,
            encoding: header.encoding,
            seed: header.binarization_seed,
            images: section(images_at, u64::from(count) * image_bytes),
            labels: section(labels_at, u64::from(count)),
        };
        let train = split(
            "train",
            layout.train_images,
            header.train_count,
            layout.train_labels,
        );
        let test = split(
            "test",
            layout.test_images,
            header.test_count,
            layout.test_labels,
        );
        for part in [&train, &test] {
            if let Some(index) = part.labels.iter().position(|&label| label > 9) {
                return Err(ShardErrorKind::LabelOutOfRange {
                    split: part.name,
                    index,
                    label: part.labels[index],
                });
            }
        }
        Ok(Shard {
            header,
            train,
            test,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn train(&self) -> Split<'a> {
        self.train
    }

    pub fn test(&self) -> Split<'a> {
        self.test
    }
}

/// A shard's CRC-32 (IEEE, with the checksum field read as zero) computed as its bytes arrive,
/// chunk by chunk, for [`Shard::parse_with_checksum`].
#[derive(Default)]
pub struct Checksum {
    hasher: crc32fast::Hasher,
    seen: usize,
}

impl Checksum {
    /// The next `chunk` of the file.
    pub fn update(&mut self, chunk: &[u8]) {
        let (start, end) = (self.seen, self.seen + chunk.len());
        self.seen = end;
        let field = CHECKSUM_RANGE;
        if end <= field.start || start >= field.end {
            return self.hasher.update(chunk);
        }
        // The chunk overlaps the checksum field: hashed with those bytes as zero.
        for (at, &byte) in (start..end).zip(chunk) {
            self.hasher
                .update(&[if field.contains(&at) { 0 } else { byte }]);
        }
    }

    pub fn finish(self) -> u32 {
        self.hasher.finalize()
    }
}

/// CRC-32 (IEEE) of the whole file with the checksum field read as zero.
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[..CHECKSUM_RANGE.start]);
    hasher.update(&[0; 4]);
    hasher.update(&bytes[CHECKSUM_RANGE.end..]);
    hasher.finalize()
}

impl<'a> Split<'a> {
    /// A copy that owns its images and labels.
    pub fn to_owned_split(&self) -> OwnedSplit {
        OwnedSplit {
            name: self.name,
            width: self.width,
            height: self.height,
            encoding: self.encoding,
            seed: self.seed,
            images: self.images.to_vec(),
            labels: self.labels.to_vec(),
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Its first `count` images (all of them when it has fewer), borrowed as they are.
    pub fn first(&self, count: usize) -> Split<'a> {
        let count = count.min(self.len());
        Split {
            images: &self.images[..count * 4 * self.words_per_image()],
            labels: &self.labels[..count],
            ..*self
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// How the values are stored (channels, bits, drawn or not).
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub fn channels(&self) -> usize {
        usize::from(self.encoding.channels)
    }

    /// The seed the levels are drawn with (the shard's binarisation seed).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Values an image has (pixels × channels): the model's inputs.
    pub fn values_per_image(&self) -> usize {
        self.encoding.values(self.width * self.height)
    }

    /// `u32` words per image in [`Split::packed_images`].
    pub fn words_per_image(&self) -> usize {
        self.encoding.words_per_image(self.width * self.height)
    }

    /// All images, packed as in `FORMAT.md`, ready to upload to the GPU as they are.
    pub fn packed_images(&self) -> &'a [u8] {
        self.images
    }

    pub fn labels(&self) -> &'a [u8] {
        self.labels
    }

    /// Value `value` (row-major, channels next to each other) of image `index` as stored, as a
    /// level 0-255 (a stored bit is 0 or 255).
    ///
    /// # Panics
    /// If `index` or `value` is out of range.
    pub fn level(&self, index: usize, value: usize) -> u8 {
        assert!(
            value < self.values_per_image(),
            "value {value} out of range"
        );
        let stride = 4 * self.words_per_image();
        bits::level(
            &self.images[index * stride..(index + 1) * stride],
            value,
            self.encoding.depth,
        )
    }

    /// Image `index` as the model's evaluation sees it, row-major: 0.0/1.0 where the values are
    /// bits (stored, or drawn once from levels), level/255 where they are grey levels. It is
    /// also the Bernoulli cross-entropy's target.
    pub fn image_f32(&self, index: usize) -> Vec<f32> {
        self.image_in_epoch(index, EVALUATION_EPOCH)
    }

    /// Image `index` as training sees it in epoch `epoch` (from 1): [`Split::image_f32`], but
    /// drawn levels drawn for that epoch.
    pub fn image_in_epoch(&self, index: usize, epoch: u32) -> Vec<f32> {
        let draw = self.encoding.drawn;
        (0..self.values_per_image())
            .map(|v| {
                let level = self.level(index, v);
                if draw {
                    let on = draw_bit(level, self.seed, epoch, index as u32, v as u32);
                    f32::from(u8::from(on))
                } else {
                    f32::from(level) / 255.0
                }
            })
            .collect()
    }
}
