//! Image sizes read from file headers (PNG, GIF, BMP, JPEG, WebP) without decoding, so an
//! image too large to decode safely is refused first.

/// An image whose header claims more pixels than this is refused before it is decoded.
pub const MAX_DECODED_PIXELS: u64 = 50_000_000;

/// An image file's width and height from its header (PNG, GIF, BMP, JPEG, WebP), read without
/// decoding it, so a 20,000 × 20,000 image is refused before it costs its 1.6 GB; None when the
/// header is not one of these (the decoder then says what the file is).
pub fn image_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let u16_be = |at: usize| {
        Some(u32::from(u16::from_be_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u16_le = |at: usize| {
        Some(u32::from(u16::from_le_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u32_be = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u32_le = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((u32_be(16)?, u32_be(20)?));
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some((u16_le(6)?, u16_le(8)?));
    }
    if bytes.starts_with(b"BM") {
        // BITMAPINFOHEADER and later: signed 32-bit sizes (a negative height is top-down);
        // the old BITMAPCOREHEADER (12 bytes): 16-bit ones.
        return if u32_le(14)? == 12 {
            Some((u16_le(18)?, u16_le(20)?))
        } else {
            let width = u32_le(18)? as i32;
            let height = u32_le(22)? as i32;
            Some((width.unsigned_abs(), height.unsigned_abs()))
        };
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        let u24_le = |at: usize| {
            let b = bytes.get(at..at + 3)?;
            Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
        };
        return match bytes.get(12..16)? {
            b"VP8 " => Some((u16_le(26)? & 0x3fff, u16_le(28)? & 0x3fff)),
            b"VP8L" => {
                let bits = u32_le(21)?;
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
            }
            b"VP8X" => Some((u24_le(24)? + 1, u24_le(27)? + 1)),
            _ => None,
        };
    }
    if bytes.starts_with(&[0xff, 0xd8]) {
        // Walk the JPEG's segments to the first start-of-frame marker.
        let mut at = 2;
        while at + 4 <= bytes.len() {
            if bytes[at] != 0xff {
                return None;
            }
            let marker = bytes[at + 1];
            if marker == 0xff {
                at += 1;
                continue;
            }
            let length = u16_be(at + 2)? as usize;
            let start_of_frame =
                matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
            if start_of_frame {
                return Some((u16_be(at + 7)?, u16_be(at + 5)?));
            }
            if length < 2 {
                return None;
            }
            at += 2 + length;
        }
        return None;
    }
    None
}

/// Refuses an image whose header claims more than [`MAX_DECODED_PIXELS`].
pub fn check_dimensions(bytes: &[u8]) -> Result<(), String> {
    match image_dimensions(bytes) {
        Some((width, height)) if u64::from(width) * u64::from(height) > MAX_DECODED_PIXELS => Err(
            format!("{width}×{height} pixels, over the {MAX_DECODED_PIXELS} an image may have"),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_give_sizes_without_decoding() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(20_000u32.to_be_bytes());
        png.extend(30u32.to_be_bytes());
        assert_eq!(image_dimensions(&png), Some((20_000, 30)));
        assert!(check_dimensions(&png).is_ok());
        png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(check_dimensions(&png).unwrap_err().contains("20000×20000"));
        let gif = b"GIF89a\x10\x00\x20\x00".to_vec();
        assert_eq!(image_dimensions(&gif), Some((16, 32)));
        let mut bmp = vec![0u8; 26];
        bmp[..2].copy_from_slice(b"BM");
        bmp[14..18].copy_from_slice(&40u32.to_le_bytes());
        bmp[18..22].copy_from_slice(&7i32.to_le_bytes());
        bmp[22..26].copy_from_slice(&(-9i32).to_le_bytes());
        assert_eq!(image_dimensions(&bmp), Some((7, 9)));
        // A JPEG: SOI, an APP0 segment of 16 bytes, then SOF0 (length, precision, height, width).
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        jpeg.extend([0; 14]);
        jpeg.extend([0xff, 0xc0, 0, 17, 8, 0, 40, 0, 50]);
        assert_eq!(image_dimensions(&jpeg), Some((50, 40)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
        webp.extend([0; 8]);
        webp.extend([99, 0, 0, 199, 0, 0]);
        assert_eq!(image_dimensions(&webp), Some((100, 200)));
        assert_eq!(image_dimensions(b"not an image"), None);
        assert_eq!(image_dimensions(&png[..18]), None);
        assert_eq!(image_dimensions(&[0xff, 0xd8, 0xff, 0xe0, 0, 1]), None);
    }
}
