//! `vae sample`: what a checkpoint has learned, as PNG grids: digits decoded from the prior,
//! test digits above their reconstructions, and a sweep over two latent dimensions.

use std::path::{Path, PathBuf};

use clap::Args;
use vae_gpu::vae::{prior_sample, Vae};

use crate::common::{context, load_checkpoint, GpuArgs};
use crate::data;

#[derive(Args)]
pub struct SampleArgs {
    /// A checkpoint from `vae train`.
    checkpoint: PathBuf,
    /// Folder for prior.png, reconstructions.png and sweep.png.
    #[arg(long, short, default_value = "samples")]
    out: PathBuf,
    /// Digits per side of the prior and sweep grids.
    #[arg(long, default_value_t = 10)]
    grid: usize,
    /// The two latent dimensions the sweep varies over [-3, 3] (the others stay 0).
    #[arg(long, num_args = 2, value_names = ["A", "B"], default_values_t = [0, 1])]
    sweep: Vec<usize>,
    /// Which draw of the prior to decode (a seed for prior.png).
    #[arg(long, default_value_t = 0)]
    draw: u32,
    /// Each pixel as a square of this many pixels.
    #[arg(long, default_value_t = 2)]
    scale: usize,
    /// The data whose first test digits are reconstructed (the bundled shard by default); its
    /// images' width and height are the model's (a model of `vae data` images needs its data).
    #[arg(long)]
    data: Option<PathBuf>,
    #[command(flatten)]
    gpu: GpuArgs,
}

/// How the images of a grid are laid out: their size and how many pixels draw each.
#[derive(Clone, Copy)]
struct Tiles {
    width: usize,
    height: usize,
    /// 1 (grey) or 3 (colour).
    channels: usize,
    scale: usize,
}

/// Writes `rows × columns` images (values in [0, 1]) as a PNG: grey ones as a grayscale PNG,
/// ink dark; colour ones as an RGB PNG of their colours.
fn write_grid(
    path: &Path,
    values: &[f32],
    rows: usize,
    columns: usize,
    tiles: Tiles,
) -> Result<(), String> {
    let Tiles {
        width: side_x,
        height: side_y,
        channels,
        scale,
    } = tiles;
    let (width, height) = (columns * side_x * scale, rows * side_y * scale);
    let mut pixels = vec![255u8; width * height * channels];
    let byte = |value: f32| (value.clamp(0.0, 1.0) * 255.0).round() as u8;
    for (index, image) in values
        .chunks_exact(side_x * side_y * channels)
        .take(rows * columns)
        .enumerate()
    {
        let (top, left) = ((index / columns) * side_y, (index % columns) * side_x);
        for (p, pixel) in image.chunks_exact(channels).enumerate() {
            let (y, x) = ((top + p / side_x) * scale, (left + p % side_x) * scale);
            for dy in 0..scale {
                for dx in 0..scale {
                    let at = ((y + dy) * width + x + dx) * channels;
                    if channels == 3 {
                        for (out, &value) in pixels[at..at + 3].iter_mut().zip(pixel) {
                            *out = byte(value);
                        }
                    } else {
                        pixels[at] = 255 - byte(pixel[0]);
                    }
                }
            }
        }
    }
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(if channels == 3 {
        png::ColorType::Rgb
    } else {
        png::ColorType::Grayscale
    });
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn decode(vae: &Vae, z: &[f32]) -> Result<Vec<f32>, String> {
    pollster::block_on(vae.decode(z)).map_err(|e| e.to_string())
}

pub fn run(args: SampleArgs) -> Result<(), String> {
    if args.grid == 0 || args.grid > 64 || args.scale == 0 || args.scale > 16 {
        return Err("--grid must be 1 to 64 and --scale 1 to 16".into());
    }
    let vae = load_checkpoint(context(&args.gpu)?, &args.checkpoint)?;
    let latent = vae.config().sizes.latent;
    let data = data::load(args.data.as_deref())?;
    let shard = data.shard()?;
    let test = shard.test();
    let tiles = Tiles {
        width: test.width(),
        height: test.height(),
        channels: test.channels(),
        scale: args.scale,
    };
    if vae.config().sizes.input != test.values_per_image() {
        return Err(format!(
            "the model makes images of {} values, and {}'s are {}×{}×{}: pass the model's data \
             with --data",
            vae.config().sizes.input,
            data.name,
            tiles.width,
            tiles.height,
            tiles.channels
        ));
    }
    if let Some(&bad) = args.sweep.iter().find(|&&d| d >= latent) {
        return Err(format!(
            "--sweep {bad}: the model has latent dimensions 0 to {}",
            latent - 1
        ));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let n = args.grid;

    let z = prior_sample(vae.config().seed, args.draw, n * n, latent);
    let prior = args.out.join("prior.png");
    write_grid(&prior, &decode(&vae, &z)?, n, n, tiles)?;

    let count = n.min(test.len());
    let x: Vec<f32> = (0..count).flat_map(|i| test.image_f32(i)).collect();
    let (mean, _) = pollster::block_on(vae.encode(&x)).map_err(|e| e.to_string())?;
    let reconstructed = decode(&vae, &mean)?;
    let reconstructions = args.out.join("reconstructions.png");
    write_grid(
        &reconstructions,
        &[x, reconstructed].concat(),
        2,
        count,
        tiles,
    )?;

    let (a, b) = (args.sweep[0], args.sweep[1]);
    let step = |k: usize| {
        if n > 1 {
            -3.0 + 6.0 * k as f32 / (n - 1) as f32
        } else {
            0.0
        }
    };
    let mut sweep_z = vec![0.0f32; n * n * latent];
    for row in 0..n {
        for column in 0..n {
            let at = (row * n + column) * latent;
            sweep_z[at + a] = step(column);
            sweep_z[at + b] = step(n - 1 - row);
        }
    }
    let sweep = args.out.join("sweep.png");
    write_grid(&sweep, &decode(&vae, &sweep_z)?, n, n, tiles)?;
    println!(
        "wrote {} (prior draw {}), {} (posterior means of the first {count} test digits) and {} \
         (z{a} left to right, z{b} bottom to top, over [-3, 3])",
        prior.display(),
        args.draw,
        reconstructions.display(),
        sweep.display()
    );
    Ok(())
}
