//! The header and section layout of format versions 1 and 2 (see `FORMAT.md`).

use crate::bits::words_per_image;
use crate::ShardErrorKind;

pub const MAGIC: [u8; 8] = *b"VAESHARD";
/// The newest version: 2 adds colour, grey levels and levels drawn each epoch. A binary grey
/// shard is still written as version 1, so the bundled MNIST and every shard made before stay
/// byte for byte what they were.
pub const FORMAT_VERSION: u32 = 2;

/// How an image's values are stored: how many a pixel has and how many bits each takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Encoding {
    /// Values a pixel: 1 (grey) or 3 (red, green, blue, next to each other).
    pub channels: u8,
    /// Bits a value: 1 (ink or not) or 8 (a level, 0-255).
    pub depth: u8,
    /// The levels are probabilities: training draws a binary image from them afresh each epoch
    /// (on with probability level/255), evaluation once, the same every time ([`crate::draw`]).
    pub drawn: bool,
}

impl Encoding {
    /// One bit a pixel, grey: version 1's only encoding (the bundled MNIST).
    pub const BINARY: Encoding = Encoding {
        channels: 1,
        depth: 1,
        drawn: false,
    };

    /// Values an image of `pixels` pixels has: the model's inputs.
    pub fn values(&self, pixels: usize) -> usize {
        pixels * usize::from(self.channels)
    }

    /// Whether what the model sees is 0 or 1 (stored bits, or bits drawn from levels).
    pub fn is_binary(&self) -> bool {
        self.depth == 1 || self.drawn
    }

    /// `u32` words an image of `pixels` pixels takes.
    pub fn words_per_image(&self, pixels: usize) -> usize {
        words_per_image(self.values(pixels) * usize::from(self.depth))
    }

    fn check(&self) -> Result<(), ShardErrorKind> {
        let fine = matches!(self.channels, 1 | 3)
            && matches!(self.depth, 1 | 8)
            && (!self.drawn || self.depth == 8);
        if fine {
            Ok(())
        } else {
            Err(ShardErrorKind::BadLayout(format!(
                "{} channels of {} bits{}: a shard holds 1 or 3 channels of 1 or 8 bits, and \
                 only 8-bit levels can be drawn from",
                self.channels,
                self.depth,
                if self.drawn { " drawn each epoch" } else { "" }
            )))
        }
    }
}
pub const HEADER_LEN: usize = 64;
/// Byte range of the CRC-32 inside the header; it is taken as zero when the checksum is computed.
pub(crate) const CHECKSUM_RANGE: std::ops::Range<usize> = 12..16;

/// Everything the 64-byte header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub checksum: u32,
    pub width: u32,
    pub height: u32,
    pub train_count: u32,
    pub test_count: u32,
    /// Seed of the stochastic binarisation, recorded so the shard can be rebuilt identically.
    pub binarization_seed: u64,
    pub train_images_offset: u32,
    pub train_labels_offset: u32,
    pub test_images_offset: u32,
    pub test_labels_offset: u32,
    pub file_len: u32,
    /// Version 2's bytes 60-62; [`Encoding::BINARY`] in version 1.
    pub encoding: Encoding,
}

/// Where each section must start for given counts: sections follow the header in order, each
/// starting on a 4-byte boundary so image words can be uploaded to the GPU as they lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub train_images: u64,
    pub train_labels: u64,
    pub test_images: u64,
    pub test_labels: u64,
    pub file_len: u64,
}

fn align4(n: u64) -> u64 {
    n.div_ceil(4) * 4
}

impl Layout {
    pub fn for_counts(
        width: u32,
        height: u32,
        encoding: Encoding,
        train: u32,
        test: u32,
    ) -> Layout {
        let image_bytes = 4 * encoding.words_per_image(width as usize * height as usize) as u64;
        let train_images = HEADER_LEN as u64;
        let train_labels = train_images + u64::from(train) * image_bytes;
        let test_images = align4(train_labels + u64::from(train));
        let test_labels = test_images + u64::from(test) * image_bytes;
        let file_len = align4(test_labels + u64::from(test));
        Layout {
            train_images,
            train_labels,
            test_images,
            test_labels,
            file_len,
        }
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

impl Header {
    /// Reads a header from the first [`HEADER_LEN`] bytes (which the caller has checked exist).
    pub(crate) fn read(bytes: &[u8]) -> Header {
        let version = u32_at(bytes, 8);
        Header {
            version,
            checksum: u32_at(bytes, 12),
            width: u32_at(bytes, 16),
            height: u32_at(bytes, 20),
            train_count: u32_at(bytes, 24),
            test_count: u32_at(bytes, 28),
            binarization_seed: u64::from_le_bytes(bytes[32..40].try_into().expect("8 bytes")),
            train_images_offset: u32_at(bytes, 40),
            train_labels_offset: u32_at(bytes, 44),
            test_images_offset: u32_at(bytes, 48),
            test_labels_offset: u32_at(bytes, 52),
            file_len: u32_at(bytes, 56),
            encoding: if version >= 2 {
                Encoding {
                    channels: bytes[60],
                    depth: bytes[61],
                    // Any other flag is refused by `check_layout` (through `reserved`).
                    drawn: bytes[62] & 1 == 1,
                }
            } else {
                Encoding::BINARY
            },
        }
    }

    /// Version 2's flag and reserved bits that no reader knows: they must be zero.
    pub(crate) fn unknown_bits(bytes: &[u8]) -> bool {
        u32_at(bytes, 8) >= 2 && (bytes[62] & !1 != 0 || bytes[63] != 0)
    }

    pub(crate) fn write(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        let fields = [
            (8, self.version),
            (12, self.checksum),
            (16, self.width),
            (20, self.height),
            (24, self.train_count),
            (28, self.test_count),
            (40, self.train_images_offset),
            (44, self.train_labels_offset),
            (48, self.test_images_offset),
            (52, self.test_labels_offset),
            (56, self.file_len),
        ];
        for (at, value) in fields {
            out[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        out[32..40].copy_from_slice(&self.binarization_seed.to_le_bytes());
        if self.version >= 2 {
            out[60] = self.encoding.channels;
            out[61] = self.encoding.depth;
            out[62] = u8::from(self.encoding.drawn);
        }
        out
    }

    /// Checks that the counts are sane and the offsets are exactly the canonical layout.
    pub(crate) fn check_layout(&self) -> Result<Layout, ShardErrorKind> {
        if self.width == 0 || self.height == 0 || self.width > 4096 || self.height > 4096 {
            return Err(ShardErrorKind::BadLayout(format!(
                "image size {}×{} is not between 1×1 and 4096×4096",
                self.width, self.height
            )));
        }
        self.encoding.check()?;
        if self.train_count == 0 && self.test_count == 0 {
            return Err(ShardErrorKind::BadLayout(
                "the shard holds no images".into(),
            ));
        }
        let layout = Layout::for_counts(
            self.width,
            self.height,
            self.encoding,
            self.train_count,
            self.test_count,
        );
        let stated = [
            (
                "train images",
                self.train_images_offset,
                layout.train_images,
            ),
            (
                "train labels",
                self.train_labels_offset,
                layout.train_labels,
            ),
            ("test images", self.test_images_offset, layout.test_images),
            ("test labels", self.test_labels_offset, layout.test_labels),
            ("file length", self.file_len, layout.file_len),
        ];
        for (name, stated, expected) in stated {
            if u64::from(stated) != expected {
                return Err(ShardErrorKind::BadLayout(format!(
                    "{name} at {stated}, but {} train and {} test images of {}×{} put it at {expected}",
                    self.train_count, self.test_count, self.width, self.height
                )));
            }
        }
        Ok(layout)
    }
}
