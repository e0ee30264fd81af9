//! The original MNIST IDX files (LeCun & Cortes), plain or gzip'd, validated like a shard.

use crate::shard::decompress;
use crate::{ShardError, ShardErrorKind};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Images of an IDX3 file: `count` images of `rows × cols` bytes (0 = white, 255 = black ink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl IdxImages {
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.pixels[index * size..(index + 1) * size]
    }
}

fn bad(file: &str, message: String) -> ShardError {
    ShardErrorKind::BadIdx(message).in_file(file)
}

fn header(bytes: &[u8], file: &str, magic: u32, dims: usize) -> Result<Vec<usize>, ShardError> {
    let header_len = 4 + 4 * dims;
    if bytes.len() < header_len {
        return Err(bad(
            file,
            format!("{} bytes is shorter than its header", bytes.len()),
        ));
    }
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    if word(0) != magic {
        return Err(bad(
            file,
            format!("magic {:#010x}, expected {magic:#010x}", word(0)),
        ));
    }
    let shape: Vec<usize> = (1..=dims).map(|i| word(i) as usize).collect();
    // Saturating: three u32 dimensions can overflow u64, and must fail cleanly, not panic.
    let body = shape
        .iter()
        .fold(1u64, |product, &d| product.saturating_mul(d as u64));
    if (bytes.len() - header_len) as u64 != body {
        return Err(bad(
            file,
            format!(
                "shape {shape:?} needs {body} bytes of data, the file has {}",
                bytes.len() - header_len
            ),
        ));
    }
    Ok(shape)
}

/// Reads an IDX3 image file (`*-images-idx3-ubyte[.gz]`).
pub fn read_images(bytes: &[u8], file: &str) -> Result<IdxImages, ShardError> {
    let bytes = decompress(bytes, file)?;
    let shape = header(&bytes, file, IMAGES_MAGIC, 3)?;
    Ok(IdxImages {
        count: shape[0],
        rows: shape[1],
        cols: shape[2],
        pixels: bytes[16..].to_vec(),
    })
}

/// Reads an IDX1 label file (`*-labels-idx1-ubyte[.gz]`); every label must be a digit.
pub fn read_labels(bytes: &[u8], file: &str) -> Result<Vec<u8>, ShardError> {
    let bytes = decompress(bytes, file)?;
    header(&bytes, file, LABELS_MAGIC, 1)?;
    let labels = bytes[8..].to_vec();
    if let Some(index) = labels.iter().position(|&label| label > 9) {
        return Err(bad(file, format!("label {index} is {}", labels[index])));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(body);
        out
    }

    #[test]
    fn reads_a_small_image_file() {
        let images = read_images(&idx(IMAGES_MAGIC, &[2, 1, 3], &[0, 1, 2, 3, 4, 5]), "x").unwrap();
        assert_eq!((images.count, images.rows, images.cols), (2, 1, 3));
        assert_eq!(images.image(1), &[3, 4, 5]);
    }

    #[test]
    fn rejects_wrong_magic_short_files_bad_lengths_and_bad_labels() {
        let error = read_images(&idx(LABELS_MAGIC, &[1, 1, 1], &[0]), "a.idx").unwrap_err();
        assert_eq!(
            error.to_string(),
            "a.idx: not a valid IDX file: magic 0x00000801, expected 0x00000803"
        );
        assert!(read_images(&[0, 0, 8], "b").is_err());
        let error = read_images(&idx(IMAGES_MAGIC, &[2, 2, 2], &[0; 7]), "c").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("needs 8 bytes of data, the file has 7"),
            "{error}"
        );
        // Dimensions whose product overflows 32 bits must not panic either.
        assert!(read_images(
            &idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[]),
            "d"
        )
        .is_err());
        let error = read_labels(&idx(LABELS_MAGIC, &[3], &[1, 12, 3]), "e").unwrap_err();
        assert!(error.to_string().contains("label 1 is 12"), "{error}");
    }
}
