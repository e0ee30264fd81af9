//! `vae data`: a data set from images made here (two classes of shapes in sub-folders, of mixed
//! sizes, the same zipped; one drawn dark on light), NumPy arrays (.npy, .npz) and MNIST's own
//! IDX files, at an odd size (30 × 17); the model trains on it and learns; colour images kept as
//! grey levels or drawn each epoch, trained on and drawn in colour; and each bad input's one
//! clear line (a zip bomb among them).

use std::path::{Path, PathBuf};

mod common;
use common::{assert_one_line_error, assert_says, run, scratch, succeed};

/// A `width × height` grey PNG with `ink(x, y)` (0-255) as its lightness.
fn png(path: &Path, width: u32, height: u32, ink: impl Fn(u32, u32) -> u8) {
    image::GrayImage::from_fn(width, height, |x, y| image::Luma([ink(x, y)]))
        .save(path)
        .unwrap();
}

/// `bars/` and `rings/`, 24 images each, of sizes from 40×40 to 60×36, light on dark.
fn shapes(name: &str) -> PathBuf {
    let dir = scratch(name);
    for class in ["bars", "rings"] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
    }
    for i in 0..24u32 {
        let (w, h) = (40 + i % 3 * 10, 40 - i % 2 * 4);
        png(&dir.join(format!("bars/{i:02}.png")), w, h, |x, _| {
            if (x + i) % 12 < 4 {
                230
            } else {
                10
            }
        });
        let (cx, cy, r) = (w as f32 / 2.0, h as f32 / 2.0, 8.0 + (i % 5) as f32 * 2.0);
        png(&dir.join(format!("rings/{i:02}.png")), w, h, |x, y| {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            if (d - r).abs() < 2.5 {
                240
            } else {
                0
            }
        });
    }
    dir
}

#[test]
fn own_images_become_a_data_set_the_model_trains_on() {
    let dir = shapes("data-shapes");
    // A corrupt image and a stray file are skipped and counted, not fatal.
    std::fs::write(dir.join("rings/broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    std::fs::write(dir.join("notes.txt"), "what these are").unwrap();
    let out = scratch("data-shapes-out").join("shapes.shard.gz");
    let (said, _) = succeed(
        "data {} --out {} --size 30x17 --test-share 0.25 --seed 3",
        &[&dir, &out],
    );
    assert_says(
        &said,
        "48 images (36 training, 12 test) of 30×17, 2 classes (bars, rings)",
    );
    assert_says(&said, "mixed sizes, from 40×36 to 60×40");
    assert_says(&said, "skipped 2 files");
    assert_says(&said, "broken.png");
    assert_says(
        &said,
        "notes.txt (not an image, IDX, .npy, .npz or .zip file)",
    );
    // The same files and options make the same bytes.
    let again = scratch("data-shapes-again").join("shapes.shard.gz");
    succeed(
        "data {} --out {} --size 30x17 --test-share 0.25 --seed 3",
        &[&dir, &again],
    );
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    // The same folder zipped: the same data set, its top folders the classes.
    let zipped = scratch("data-shapes-zip").join("shapes.zip");
    let files: Vec<(String, Vec<u8>)> = ["bars", "rings"]
        .iter()
        .flat_map(|class| {
            let dir = &dir;
            let mut names: Vec<_> = std::fs::read_dir(dir.join(class))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names.into_iter().map(move |n| {
                let bytes = std::fs::read(dir.join(class).join(&n)).unwrap();
                (format!("{class}/{n}"), bytes)
            })
        })
        .collect();
    std::fs::write(&zipped, zip_of(&files)).unwrap();
    let from_zip = scratch("data-shapes-from-zip").join("shapes.shard.gz");
    let (said, _) = succeed(
        "data {} --out {} --size 30x17 --test-share 0.25 --seed 3",
        &[&zipped, &from_zip],
    );
    assert_says(
        &said,
        "48 images (36 training, 12 test) of 30×17, 2 classes (bars, rings)",
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&from_zip).unwrap()
    );

    // The model takes the data set's 510 inputs, and learns: its test −ELBO falls.
    let checkpoint = scratch("data-shapes-model").join("model.safetensors");
    let train = "train --data {} --epochs 8 --batch 6 --lr 0.005 --hidden 32 --latent 4 \
                 --backend cpu --checkpoint {}";
    let (curve, stderr) = succeed(train, &[&out, &checkpoint]);
    assert_says(&stderr, "510 → 32 → 4");
    let tests: Vec<f64> = curve
        .lines()
        .filter_map(|line| line.split("test −ELBO").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(tests.len(), 8, "{curve}");
    assert!(tests[7] < 0.6 * tests[0], "{tests:?}");
    // And on the GPU, from the same file.
    let resume = "train --data {} --epochs 9 --resume {} --checkpoint {}";
    succeed(resume, &[&out, &checkpoint, &checkpoint]);
    // Its pictures are drawn at the data's size: 3 × 3 tiles of 30 × 17, each pixel 2 × 2.
    let pictures = scratch("data-shapes-pictures");
    let sample = "sample {} --data {} --out {} --grid 3";
    succeed(sample, &[&checkpoint, &out, &pictures]);
    let prior = image::open(pictures.join("prior.png")).unwrap();
    assert_eq!((prior.width(), prior.height()), (180, 102));
    let without_data = run("sample {} --out {}", &[&checkpoint, &pictures]);
    assert_one_line_error(&without_data, "pass the model's data with --data");
}

/// Colour images, kept as levels or drawn afresh each epoch: a data set of 3 values a pixel,
/// trained on by both engines, its samples written in colour.
#[test]
fn colour_images_train_as_grey_levels_or_drawn_bits() {
    let dir = scratch("data-colour");
    for class in ["red", "blue"] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
    }
    for i in 0..20u32 {
        let (red, blue) = (
            dir.join(format!("red/{i:02}.png")),
            dir.join(format!("blue/{i:02}.png")),
        );
        image::RgbImage::from_fn(20, 16, |x, _| {
            image::Rgb(if (x + i) % 8 < 3 {
                [230, 40, 30]
            } else {
                [0, 0, 0]
            })
        })
        .save(red)
        .unwrap();
        image::RgbImage::from_fn(20, 16, |_, y| {
            image::Rgb(if (y + i) % 6 < 2 {
                [40, 100, 240]
            } else {
                [0, 0, 0]
            })
        })
        .save(blue)
        .unwrap();
    }
    let out = scratch("data-colour-out");
    for (how, says) in [
        (
            "keep",
            "40 images (36 training, 4 test) of 20×16 in colour, grey levels, 2 classes",
        ),
        (
            "epoch",
            "of 20×16 in colour, grey levels drawn afresh each epoch, 2 classes",
        ),
    ] {
        let shard = out.join(format!("{how}.shard"));
        let (said, _) = succeed(
            &format!("data {{}} --out {{}} --size 20x16 --colour --binarize {how}"),
            &[&dir, &shard],
        );
        assert_says(&said, says);
        let (inspected, _) = succeed("shard inspect {}", &[&shard]);
        assert_says(&inspected, "format version 2");
        assert_says(&inspected, "images 20×16 in colour");
        let checkpoint = out.join(format!("{how}.safetensors"));
        let train = "train --data {} --epochs 6 --batch 6 --lr 0.005 --hidden 32 --latent 4 \
                     --backend cpu --checkpoint {}";
        let (curve, stderr) = succeed(train, &[&shard, &checkpoint]);
        assert_says(&stderr, "960 → 32 → 4");
        let tests: Vec<f64> = curve
            .lines()
            .filter_map(|line| line.split("test −ELBO").nth(1))
            .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
            .collect();
        assert!(tests[5] < 0.8 * tests[0], "{how}: {tests:?}");
        // The GPU goes on from the CPU's checkpoint, on the same data.
        let resume = "train --data {} --epochs 7 --resume {} --checkpoint {}";
        succeed(resume, &[&shard, &checkpoint, &checkpoint]);
        let pictures = out.join(format!("{how}-pictures"));
        succeed(
            "sample {} --data {} --out {} --grid 2",
            &[&checkpoint, &shard, &pictures],
        );
        let prior = image::open(pictures.join("prior.png")).unwrap();
        assert_eq!(prior.color(), image::ColorType::Rgb8);
        assert_eq!((prior.width(), prior.height()), (80, 64));
    }
}

#[test]
fn dark_on_light_is_inverted_and_arrays_and_idx_files_are_read() {
    // One dark stroke on white paper: without --invert the paper is the ink.
    let dir = scratch("data-paper");
    for i in 0..4u32 {
        png(&dir.join(format!("{i}.png")), 28, 28, |x, _| {
            if x == 10 + i {
                0
            } else {
                255
            }
        });
    }
    let out = scratch("data-paper-out");
    let (plain, inverted) = (out.join("plain.shard"), out.join("inverted.shard"));
    succeed("data {} --out {} --test-share 0.25", &[&dir, &plain]);
    succeed(
        "data {} --out {} --test-share 0.25 --invert",
        &[&dir, &inverted],
    );
    let lit = |path: &Path| {
        let bytes = std::fs::read(path).unwrap();
        let shard = mnist_shard::Shard::parse(&bytes, "x").unwrap();
        (0..784)
            .filter(|&p| shard.train().level(0, p) == 255)
            .count()
    };
    assert_eq!((lit(&plain), lit(&inverted)), (784 - 28, 28));

    // A NumPy array of floats in [0, 1], [N, H, W, C] in RGB.
    let npy_dir = scratch("data-npy");
    let floats: Vec<u8> = (0..6 * 8 * 8 * 3)
        .flat_map(|i| ((i % 7) as f32 / 6.0).to_le_bytes())
        .collect();
    let mut array = npy_bytes("<f4", "(6, 8, 8, 3)", &floats);
    let npy = npy_dir.join("images.npy");
    std::fs::write(&npy, &array).unwrap();
    let (said, _) = succeed(
        "data {} --out {} --size 8x8",
        &[&npy, &out.join("npy.shard")],
    );
    assert_says(&said, "6 images (5 training, 1 test) of 8×8");
    // NaN in it: refused, nothing written.
    let nan_at = array.len() - 4;
    array[nan_at..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&npy, &array).unwrap();
    let refused = out.join("nan.shard");
    assert_one_line_error(&run("data {} --out {}", &[&npy, &refused]), "is NaN");
    assert!(!refused.exists());

    // An .npz (np.savez): its image arrays are read, its labels listed as left out.
    let labels = npy_bytes("|u1", "(6,)", &[0, 1, 0, 1, 0, 1]);
    let images = npy_bytes("|u1", "(6, 8, 8)", &[40; 6 * 64]);
    let npz = npy_dir.join("set.npz");
    std::fs::write(
        &npz,
        zip_of(&[("x.npy".into(), images), ("y.npy".into(), labels)]),
    )
    .unwrap();
    let (said, _) = succeed(
        "data {} --out {} --size 8x8",
        &[&npz, &out.join("npz.shard")],
    );
    assert_says(&said, "6 images (5 training, 1 test) of 8×8");
    assert_says(
        &said,
        "set.npz/y.npy (not a usable NumPy array of images: shape [6]",
    );

    // IDX files in a zip: the labels file beside the images in the archive labels them.
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];
    images.extend([255u8, 0, 0, 255, 0, 255, 255, 0, 255, 255, 0, 0]);
    let labels = [0, 0, 8, 1, 0, 0, 0, 3, 4, 7, 7].to_vec();
    let idx_zip = npy_dir.join("idx.zip");
    let members = [
        ("set/t-images-idx3-ubyte".to_string(), images),
        ("set/t-labels-idx1-ubyte".to_string(), labels),
    ];
    std::fs::write(&idx_zip, zip_of(&members)).unwrap();
    let (said, _) = succeed(
        "data {} --out {} --size 2x2",
        &[&idx_zip, &out.join("idx-zip.shard")],
    );
    assert_says(
        &said,
        "3 images (2 training, 1 test) of 2×2, 2 classes (4, 7)",
    );

    // MNIST's own IDX files, labelled by the labels file beside them.
    let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/mnist");
    let images = mnist.join("t10k-images-idx3-ubyte.gz");
    if images.exists() {
        let (said, _) = succeed("data {} --out {}", &[&images, &out.join("idx.shard")]);
        assert_says(
            &said,
            "10000 images (9000 training, 1000 test) of 28×28, 10 classes",
        );
    }
}

#[test]
fn bad_data_gives_one_clear_line_and_writes_nothing() {
    let dir = scratch("data-bad");
    let out = dir.join("never.shard");
    std::fs::write(dir.join("readme.txt"), "no images here").unwrap();
    assert_one_line_error(&run("data {} --out {}", &[&dir, &out]), "no images found");
    // A PNG whose header claims 20,000 × 20,000 is refused before it is decoded.
    let mut huge = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    huge.extend(20_000u32.to_be_bytes());
    huge.extend(20_000u32.to_be_bytes());
    huge.extend([8, 0, 0, 0, 0]);
    let crc = crc32(&huge[12..]);
    huge.extend(crc.to_be_bytes());
    // An empty first data chunk: the header is all a decoder reads before it knows the size.
    huge.extend([0, 0, 0, 0]);
    huge.extend(b"IDAT");
    huge.extend(crc32(b"IDAT").to_be_bytes());
    std::fs::write(dir.join("huge.png"), &huge).unwrap();
    let said = run("data {} --out {}", &[&dir, &out]);
    assert_one_line_error(&said, "20000×20000 pixels, over the 50000000");
    let empty = scratch("data-empty");
    assert_one_line_error(&run("data {} --out {}", &[&empty, &out]), "no images found");
    for (options, says) in [
        ("--size 65x28", "width 65 must be between 1 and 64"),
        ("--size big", "--size big"),
        ("--test-share 1", "test share 1"),
    ] {
        let line = format!("data {{}} --out {{}} {options}");
        assert_one_line_error(&run(&line, &[&dir, &out]), says);
    }
    // Eleven classes: the map colours ten.
    let many = scratch("data-many-classes");
    for class in 0..11 {
        let folder = many.join(format!("class{class:02}"));
        std::fs::create_dir_all(&folder).unwrap();
        png(&folder.join("a.png"), 4, 4, |_, _| 255);
    }
    assert_one_line_error(
        &run("data {} --out {}", &[&many, &out]),
        "more than 10 classes",
    );
    // A zip bomb: 300 MB of zeros in well under 1 MB.
    let bomb = scratch("data-bomb").join("bomb.zip");
    let zeros = vec![0u8; 300 << 20];
    std::fs::write(&bomb, zip_of(&[("zeros.png".into(), zeros)])).unwrap();
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    assert_one_line_error(
        &run("data {} --out {}", &[&bomb, &out]),
        "unpacks past 256 MB",
    );
    assert!(!out.exists());
}

/// A zip archive of `files`, deflated.
fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// An .npy file (version 1) of `descr` elements in `shape` (a Python tuple, as written).
fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let header = format!("{header:<117}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// PNG's CRC-32 of a chunk's type and data.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
