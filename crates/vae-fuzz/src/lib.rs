//! One function per input the lab reads from outside. Each takes arbitrary bytes, must never
//! panic, hang or allocate out of proportion to its input, and asserts what must hold of whatever
//! it accepts. The cargo-fuzz targets in `fuzz/` call these with coverage guidance; this crate's
//! tests replay the committed corpora (`fuzz/corpus/<target>/`) on every `cargo test`.

use vae_gpu::wgpu;
use vae_model::{inspect_checkpoint, read_checkpoint, read_state_dict, BindingLimits, VaeConfig};
use vae_reference::Layout;

/// A target's check: arbitrary bytes in, a panic on a broken property.
pub type Check = fn(&[u8]);

/// Every target by its name in `fuzz/`, for the replay.
pub const TARGETS: &[(&str, Check)] = &[
    ("shard", shard),
    ("checkpoint", checkpoint),
    ("fragment", fragment),
    ("settings", settings),
    ("saved_curve", saved_curve),
    ("npy", npy),
    ("idx", idx),
    ("archive", archive),
    ("image_header", image_header),
];

/// The limits of a large desktop GPU: the loosest an adapter gives, so the most a file's claims
/// could make the loader allocate.
pub fn generous_limits() -> BindingLimits {
    BindingLimits {
        max_storage_buffer_binding_size: 1 << 31,
        ..vae_gpu::binding_limits(&wgpu::Limits::default())
    }
}

/// A NumPy array of images (`vae data`, and the page's import): what it accepts holds exactly
/// its claimed images, each of which resizes to the model's input.
pub fn npy(bytes: &[u8]) {
    let Ok(array) = mnist_shard::npy::read_npy(bytes, "fuzz.npy") else {
        return;
    };
    let size = array.height * array.width * array.channels;
    assert_eq!(array.pixels.len(), array.count * size);
    assert!(array.count >= 1 && array.count <= mnist_shard::import::MAX_IMAGES);
    let options = mnist_shard::import::ImportOptions::default();
    let last = array.image(array.count - 1);
    let ink = last.ink(false);
    assert_eq!(ink.len(), array.height * array.width);
    let resized = mnist_shard::import::resize(&ink, last.width, last.height, &options);
    assert_eq!(resized.len(), options.width * options.height);
}

/// A zip archive of images, or an `.npz`: every file it gives is within the limits, and the
/// whole within its total.
pub fn archive(bytes: &[u8]) {
    use mnist_shard::archive::{for_each_file, read_npz, MAX_FILE_BYTES, MAX_UNPACKED_BYTES};
    let mut total = 0u64;
    let _ = for_each_file(bytes, "fuzz.zip", |_, contents| {
        assert!(contents.len() as u64 <= MAX_FILE_BYTES);
        total += contents.len() as u64;
        assert!(total <= MAX_UNPACKED_BYTES);
        Ok(())
    });
    if let Ok(contents) = read_npz(bytes, "fuzz.npz") {
        for (_, array) in contents.arrays {
            assert!(array.count >= 1);
        }
    }
}

/// MNIST's IDX files, images and labels, gzip'd or not: what is accepted holds its claimed
/// images or labels exactly.
pub fn idx(bytes: &[u8]) {
    let Ok(raw) = mnist_shard::decompress(bytes, "fuzz") else {
        return;
    };
    if let Ok(images) = mnist_shard::idx::read_images(&raw, "fuzz") {
        assert_eq!(
            images.pixels.len(),
            images.count * images.rows * images.cols
        );
        if images.count > 0 {
            assert_eq!(
                images.image(images.count - 1).len(),
                images.rows * images.cols
            );
        }
    }
    if let Ok(labels) = mnist_shard::idx::read_labels(&raw, "fuzz") {
        assert!(labels.len() <= raw.len());
    }
}

/// An image file's header (PNG, GIF, BMP, JPEG, WebP), read for its size before the browser
/// decodes it: never a panic, and a size only where the bytes hold one.
pub fn image_header(bytes: &[u8]) {
    if let Some((width, height)) = mnist_shard::collect::image_dimensions(bytes) {
        assert!(bytes.len() >= 10, "a size from {} bytes", bytes.len());
        let refused = mnist_shard::collect::check_dimensions(bytes).is_err();
        let pixels = u64::from(width) * u64::from(height);
        assert_eq!(refused, pixels > mnist_shard::collect::MAX_DECODED_PIXELS);
    } else {
        assert!(mnist_shard::collect::check_dimensions(bytes).is_ok());
    }
}

/// The bundled data: gzip or plain, then the shard format. What it accepts has consistent
/// sizes, labels 0–9 and readable last images.
pub fn shard(bytes: &[u8]) {
    let Ok(raw) = mnist_shard::decompress(bytes, "fuzz") else {
        return;
    };
    let Ok(shard) = mnist_shard::Shard::parse(&raw, "fuzz") else {
        return;
    };
    for split in [shard.train(), shard.test()] {
        assert_eq!(
            split.packed_images().len(),
            split.len() * split.words_per_image() * 4
        );
        assert!(split.labels().iter().all(|&label| label <= 9));
        if let Some(last) = split.len().checked_sub(1) {
            assert_eq!(split.image_f32(last).len(), split.values_per_image());
        }
    }
}

/// A file opened in the page or by the CLI: the look before loading ([`inspect_checkpoint`]), a
/// full checkpoint or a state dict ([`read_checkpoint`]), and a state dict read with the page's
/// settings ([`read_state_dict`]). What loads is whole, finite and agrees with the look.
pub fn checkpoint(bytes: &[u8]) {
    let limits = generous_limits();
    let summary = inspect_checkpoint(bytes);
    if let Ok(contents) = read_checkpoint(bytes, &limits, |_| {}) {
        let summary = summary
            .as_ref()
            .expect("a file that loads passes the look before loading");
        assert_eq!(summary.sizes, contents.config.sizes);
        let layout = Layout::aligned(contents.config.sizes, vae_model::ALIGN);
        assert_eq!(contents.params.len(), layout.len());
        assert!(contents.params.iter().all(|p| p.is_finite()));
        if let Some(training) = &contents.training {
            assert_eq!(training.m.len(), layout.len());
            assert!(training.v.iter().all(|&v| v >= 0.0));
            assert_eq!(summary.step, Some(training.step));
        }
        contents
            .config
            .validate(&limits)
            .expect("what loads has valid settings");
    }
    let settings = VaeConfig::default();
    if let Ok(contents) = read_state_dict(bytes, &limits, Some(settings)) {
        assert_eq!(contents.config, settings);
        assert!(contents.training.is_none());
    }
}

/// The URL fragment a link carries. Anything accepted round-trips through the fragment the page
/// would write for it.
pub fn fragment(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(state) = vae_app::link::parse_fragment(text) else {
        return;
    };
    let config = state.settings(VaeConfig::default());
    let z = state
        .z
        .clone()
        .unwrap_or_else(|| vec![0.0; config.sizes.latent]);
    if z.len() == config.sizes.latent {
        let again = vae_app::link::parse_fragment(&vae_app::link::format_fragment(&config, &z))
            .expect("the page reads back what it writes");
        assert_eq!(again.settings(VaeConfig::default()), config);
        assert_eq!(again.z.as_deref(), Some(z.as_slice()));
    }
}

/// The settings form: seven fields of typed text (split at 0x1f, the unit separator). Accepted
/// settings are valid for the adapter.
pub fn settings(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut fields = text.split('\u{1f}').map(str::to_string);
    let mut next = || fields.next().unwrap_or_default();
    let form = vae_app::settings::SettingsText {
        learning_rate: next(),
        batch: next(),
        latent: next(),
        hidden: next(),
        seed: next(),
        kl_weight: next(),
        importance_samples: next(),
    };
    let limits = wgpu::Limits::default();
    if let Ok(config) = form.parse(&limits, vae_app::settings::TrainingData::MNIST) {
        config
            .validate(&vae_gpu::binding_limits(&limits))
            .expect("accepted settings are valid");
        assert!(config.batch as usize <= 60_000);
    }
}

/// The curve stored beside an autosave, as the little-endian f64s IndexedDB holds.
pub fn saved_curve(bytes: &[u8]) {
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")))
        .collect();
    if let Ok(curve) = vae_app::unflatten_curve(&values) {
        let points = 3 + curve.train.len() * 4 + curve.test.len() * 6;
        // The estimates' section is absent (a page before them), or its count and its points.
        let estimates = values.len() - points;
        assert!(
            estimates == 0 || estimates == 1 + curve.likelihood.len() * 5,
            "{estimates} numbers for {} estimates",
            curve.likelihood.len()
        );
    }
}
