//! NumPy `.npy` arrays of images (format versions 1-3): shape `[N, H, W]` or `[N, H, W, C]`
//! with C of 1, 3 or 4, in C order, of uint8, bool, or floats in [0, 1] (float32 or float64,
//! either byte order). Validated before anything of the claimed size is allocated; every way a
//! file can be wrong is a [`ShardError`] naming it.

use crate::import::{DecodedImage, MAX_IMAGES};
use crate::{ShardError, ShardErrorKind};

const MAGIC: &[u8] = b"\x93NUMPY";
/// Larger images than this are no images a lab resizes to at most 64 × 64.
const MAX_IMAGE_SIDE: usize = 4096;

/// The images of an array, all of one size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageArray {
    pub count: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// `count × height × width × channels` bytes, floats scaled to 0-255.
    pub pixels: Vec<u8>,
}

impl ImageArray {
    /// Image `index` as a decoded image.
    pub fn image(&self, index: usize) -> DecodedImage {
        let size = self.height * self.width * self.channels;
        DecodedImage {
            width: self.width,
            height: self.height,
            channels: self.channels,
            pixels: self.pixels[index * size..(index + 1) * size].to_vec(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Element {
    U8,
    Bool,
    F32 { little: bool },
    F64 { little: bool },
}

impl Element {
    fn size(self) -> usize {
        match self {
            Element::U8 | Element::Bool => 1,
            Element::F32 { .. } => 4,
            Element::F64 { .. } => 8,
        }
    }
}

fn bad(file: &str, message: String) -> ShardError {
    ShardErrorKind::BadNpy(message).in_file(file)
}

/// Reads an `.npy` file's bytes.
pub fn read_npy(bytes: &[u8], file: &str) -> Result<ImageArray, ShardError> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad(
            file,
            "it does not start with NumPy's magic bytes".into(),
        ));
    }
    let (header_len, header_at): (usize, usize) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        version => {
            return Err(bad(
                file,
                format!("format version {version} is not 1, 2 or 3"),
            ))
        }
    };
    let data_at = header_at
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            bad(
                file,
                format!("its header of {header_len} bytes runs past the file"),
            )
        })?;
    let header = std::str::from_utf8(&bytes[header_at..data_at])
        .map_err(|_| bad(file, "its header is not text".into()))?;
    let descr = quoted_value(header, "descr")
        .ok_or_else(|| bad(file, "no 'descr' in its header".into()))?;
    let element = match descr {
        "|u1" | "<u1" | ">u1" | "u1" => Element::U8,
        "|b1" => Element::Bool,
        "<f4" => Element::F32 { little: true },
        ">f4" => Element::F32 { little: false },
        "<f8" => Element::F64 { little: true },
        ">f8" => Element::F64 { little: false },
        other => {
            return Err(bad(
                file,
                format!("elements of type '{other}': uint8, bool, float32 or float64 only"),
            ))
        }
    };
    if raw_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(bad(
            file,
            "Fortran order: save it in C order (np.ascontiguousarray)".into(),
        ));
    }
    let shape =
        shape(header).ok_or_else(|| bad(file, "no readable 'shape' in its header".into()))?;
    let (count, height, width, channels) = match shape[..] {
        [n, h, w] => (n, h, w, 1),
        [n, h, w, c] if [1, 3, 4].contains(&c) => (n, h, w, c),
        [_, _, _, c] => return Err(bad(file, format!("{c} channels: 1, 3 or 4 only"))),
        _ => {
            return Err(bad(
                file,
                format!("shape {shape:?}: images are [N, H, W] or [N, H, W, C]"),
            ))
        }
    };
    if count == 0 || height == 0 || width == 0 {
        return Err(bad(file, format!("shape {shape:?} holds no image")));
    }
    if count > MAX_IMAGES {
        return Err(bad(
            file,
            format!("{count} images; a data set holds at most {MAX_IMAGES}"),
        ));
    }
    if height > MAX_IMAGE_SIDE || width > MAX_IMAGE_SIDE {
        return Err(bad(
            file,
            format!("images of {width}×{height}: at most {MAX_IMAGE_SIDE} a side"),
        ));
    }
    // Bounded by the checks above: at most 1e5 · 4096² · 4 · 8, well inside u64.
    let elements = (count * height * width * channels) as u64;
    let expected = elements * element.size() as u64;
    let data = &bytes[data_at..];
    if data.len() as u64 != expected {
        return Err(bad(
            file,
            format!(
                "shape {shape:?} of '{descr}' needs {expected} bytes of data, the file has {}",
                data.len()
            ),
        ));
    }
    let to_byte = |value: f64, at: usize| -> Result<u8, ShardError> {
        if value.is_nan() {
            return Err(bad(file, format!("element {at} is NaN")));
        }
        if !(0.0..=1.0).contains(&value) {
            return Err(bad(
                file,
                format!("element {at} is {value}: floats must lie in [0, 1]"),
            ));
        }
        Ok((value * 255.0).round() as u8)
    };
    let pixels = match element {
        Element::U8 => data.to_vec(),
        Element::Bool => data.iter().map(|&b| if b != 0 { 255 } else { 0 }).collect(),
        Element::F32 { little } => data
            .chunks_exact(4)
            .enumerate()
            .map(|(at, b)| {
                let b = [b[0], b[1], b[2], b[3]];
                let v = if little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                to_byte(f64::from(v), at)
            })
            .collect::<Result<_, _>>()?,
        Element::F64 { little } => data
            .chunks_exact(8)
            .enumerate()
            .map(|(at, b)| {
                let b: [u8; 8] = b.try_into().expect("chunks of 8");
                let v = if little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                to_byte(v, at)
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(ImageArray {
        count,
        height,
        width,
        channels,
        pixels,
    })
}

/// The text after `'key':` in a header dict, trimmed.
fn raw_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?;
    Some(rest.trim_start())
}

/// A quoted string value: `'descr': '<f4'`.
fn quoted_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let rest = raw_value(header, key)?.strip_prefix('\'')?;
    Some(&rest[..rest.find('\'')?])
}

/// `'shape': (60000, 28, 28)`, each dimension parsed and bounded.
fn shape(header: &str) -> Option<Vec<usize>> {
    let rest = raw_value(header, "shape")?.strip_prefix('(')?;
    let inside = &rest[..rest.find(')')?];
    let dims: Option<Vec<usize>> = inside
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>().ok().filter(|&d| d <= u32::MAX as usize))
        .collect();
    dims.filter(|d| !d.is_empty() && d.len() <= 8)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An .npy file as NumPy writes it (version 1, the header padded to 64 bytes).
    pub(crate) fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let comma = if shape.len() == 1 { "," } else { "" };
        let mut header = format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}{comma}), }}",
            dims.join(", ")
        );
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend([1, 0]);
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn uint8_and_float_arrays_read_as_images() {
        let array = read_npy(
            &npy("|u1", &[2, 2, 3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
            "a.npy",
        )
        .unwrap();
        assert_eq!(
            (array.count, array.height, array.width, array.channels),
            (2, 2, 3, 1)
        );
        assert_eq!(array.image(1).pixels, [6, 7, 8, 9, 10, 11]);
        let floats: Vec<u8> = [0.0f32, 0.5, 1.0, 0.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let array = read_npy(&npy("<f4", &[1, 1, 1, 4], &floats), "f.npy").unwrap();
        assert_eq!(
            (array.channels, array.pixels.clone()),
            (4, vec![0, 128, 255, 64])
        );
        let doubles: Vec<u8> = [1.0f64, 0.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(
            read_npy(&npy(">f8", &[2, 1, 1], &doubles), "d.npy")
                .unwrap()
                .pixels,
            [255, 0]
        );
        assert_eq!(
            read_npy(&npy("|b1", &[1, 1, 2], &[1, 0]), "b.npy")
                .unwrap()
                .pixels,
            [255, 0]
        );
    }

    #[test]
    fn every_bad_array_is_refused_by_name() {
        let says = |bytes: &[u8], what: &str| {
            let error = read_npy(bytes, "x.npy").unwrap_err().to_string();
            assert!(
                error.starts_with("x.npy: ") && error.contains(what),
                "{error}"
            );
        };
        says(b"not numpy at all", "magic");
        says(&npy("<i8", &[1, 1, 1], &[0; 8]), "'<i8'");
        says(&npy("|u1", &[1, 2], &[0; 2]), "[N, H, W]");
        says(&npy("|u1", &[1, 1, 1, 2], &[0; 2]), "2 channels");
        says(&npy("|u1", &[2, 2, 2], &[0; 7]), "needs 8 bytes");
        says(&npy("|u1", &[0, 2, 2], &[]), "no image");
        says(&npy("|u1", &[100_001, 1, 1], &[]), "at most 100000");
        says(&npy("|u1", &[1, 5000, 1], &[]), "at most 4096");
        let nan: Vec<u8> = [0.5f32, f32::NAN]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        says(&npy("<f4", &[1, 1, 2], &nan), "element 1 is NaN");
        let big: Vec<u8> = 2.0f32.to_le_bytes().to_vec();
        says(&npy("<f4", &[1, 1, 1], &big), "must lie in [0, 1]");
        let mut fortran = npy("|u1", &[1, 1, 1], &[0]);
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran[at..at + 5].copy_from_slice(b"True ");
        says(&fortran, "Fortran order");
        let mut long = npy("|u1", &[1, 1, 1], &[0]);
        long[8] = 0xff;
        says(&long, "runs past the file");
        says(&npy("|u1", &[99_999_999_999, 1, 1], &[]), "shape");
    }
}
