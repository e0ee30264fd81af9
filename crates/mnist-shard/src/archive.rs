//! Zip archives of a visitor's images (and `.npz`, NumPy's zip of `.npy` arrays), unpacked one
//! file at a time under limits a zip bomb cannot pass: no file may unpack past
//! [`MAX_FILE_BYTES`], the whole past [`MAX_UNPACKED_BYTES`], nor hold more than
//! [`MAX_FILES`] files, whatever the archive's directory claims.

use std::io::{Cursor, Read};

use crate::npy::{read_npy, ImageArray};
use crate::{ShardError, ShardErrorKind};

/// One file of an archive unpacked past this is refused.
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// All files of an archive together.
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;
/// Files an archive may hold.
pub const MAX_FILES: usize = 200_000;

fn bad(file: &str, message: String) -> ShardError {
    ShardErrorKind::BadArchive(message).in_file(file)
}

/// Calls `each` with the path and bytes of every file in the zip archive `bytes` (folders
/// skipped), in the archive's order, one at a time; `each` may stop it with an error. Encrypted
/// files and unsupported compression are refused by name.
pub fn for_each_file(
    bytes: &[u8],
    file: &str,
    mut each: impl FnMut(&str, Vec<u8>) -> Result<(), ShardError>,
) -> Result<(), ShardError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|error| bad(file, format!("not a readable zip archive ({error})")))?;
    if archive.len() > MAX_FILES {
        return Err(bad(
            file,
            format!("{} files; an archive may hold {MAX_FILES}", archive.len()),
        ));
    }
    let mut unpacked = 0u64;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|error| bad(file, format!("file {index}: {error}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        // The directory's size may lie: read one byte past the limit to know.
        let mut contents = Vec::new();
        let limit = MAX_FILE_BYTES.min(MAX_UNPACKED_BYTES - unpacked);
        (&mut entry)
            .take(limit + 1)
            .read_to_end(&mut contents)
            .map_err(|error| bad(file, format!("{name}: {error}")))?;
        if contents.len() as u64 > limit {
            return Err(bad(
                file,
                format!(
                    "{name} unpacks past {} MB: a zip bomb, or far more than images need",
                    limit >> 20
                ),
            ));
        }
        unpacked += contents.len() as u64;
        each(&name, contents)?;
    }
    Ok(())
}

/// What an `.npz` holds: its image arrays by name, and its other members with why they are not.
pub struct NpzContents {
    pub arrays: Vec<(String, ImageArray)>,
    pub others: Vec<String>,
}

/// The image arrays of an `.npz` (`np.savez`): each member that reads as images, by its name
/// without `.npy`; members of other shapes (labels, say) are listed apart with why.
pub fn read_npz(bytes: &[u8], file: &str) -> Result<NpzContents, ShardError> {
    let (mut arrays, mut others) = (Vec::new(), Vec::new());
    for_each_file(bytes, file, |name, contents| {
        let member = format!("{file}/{name}");
        match read_npy(&contents, &member) {
            Ok(array) => arrays.push((name.trim_end_matches(".npy").to_string(), array)),
            Err(error) => others.push(format!("{member} ({})", error.kind)),
        }
        Ok(())
    })?;
    Ok(NpzContents { arrays, others })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in files {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn files_come_out_in_order_with_their_paths() {
        let archive = zip_of(&[("cats/a.png", b"first"), ("dogs/b.png", b"second")]);
        let mut seen = Vec::new();
        for_each_file(&archive, "pets.zip", |name, bytes| {
            seen.push((name.to_string(), bytes));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("cats/a.png".to_string(), b"first".to_vec()),
                ("dogs/b.png".to_string(), b"second".to_vec())
            ]
        );
    }

    #[test]
    fn a_bomb_or_a_broken_archive_is_refused_by_name() {
        // 300 MB of zeros deflate to a few hundred kB.
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("zeros.bin", options).unwrap();
        let block = vec![0u8; 1 << 20];
        for _ in 0..300 {
            writer.write_all(&block).unwrap();
        }
        let bomb = writer.finish().unwrap().into_inner();
        assert!(bomb.len() < 1 << 20);
        let error = for_each_file(&bomb, "bomb.zip", |_, _| Ok(())).unwrap_err();
        assert!(
            error.to_string().contains("zeros.bin unpacks past 256 MB"),
            "{error}"
        );
        let error = for_each_file(b"PK\x03\x04 not really", "x.zip", |_, _| Ok(())).unwrap_err();
        assert!(error.to_string().starts_with("x.zip: ") && error.to_string().contains("zip"));
    }

    #[test]
    fn an_npz_gives_its_image_arrays_and_says_what_it_left() {
        let images = crate::npy::tests::npy("|u1", &[2, 1, 2], &[1, 2, 3, 4]);
        let labels = crate::npy::tests::npy("|u1", &[2], &[0, 1]);
        let archive = zip_of(&[("x_train.npy", &images), ("y_train.npy", &labels)]);
        let NpzContents { arrays, others } = read_npz(&archive, "mnist.npz").unwrap();
        assert_eq!(arrays.len(), 1);
        assert_eq!((arrays[0].0.as_str(), arrays[0].1.count), ("x_train", 2));
        assert_eq!(others.len(), 1);
        assert!(
            others[0].starts_with("mnist.npz/y_train.npy ("),
            "{others:?}"
        );
    }
}
