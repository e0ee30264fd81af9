//! What the model-using subcommands share: choosing the adapter, and writing checkpoints safely.

use std::path::Path;

use clap::Args;
use vae_gpu::vae::Vae;
use vae_gpu::GpuContext;

#[derive(Args)]
pub struct GpuArgs {
    /// Which GPU API to use: vulkan, metal, dx12 or gl (the best available when left out;
    /// the same as WGPU_BACKEND).
    #[arg(long, value_parser = ["vulkan", "metal", "dx12", "gl"])]
    backend: Option<String>,
}

pub fn context(args: &GpuArgs) -> Result<GpuContext, String> {
    if let Some(backend) = &args.backend {
        // GpuContext::new narrows its adapter search by this variable.
        std::env::set_var("WGPU_BACKEND", backend);
    }
    let context = pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())?;
    Ok(context)
}

/// Loads a checkpoint written by `vae train` (or any safetensors file with the model's names).
pub fn load_checkpoint(context: GpuContext, path: &Path) -> Result<Vae, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    pollster::block_on(Vae::load(context, &bytes)).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes a checkpoint's bytes to `path` through a temporary file and a rename, so an
/// interrupted write never replaces a good checkpoint with half of one.
pub fn write_checkpoint_file(bytes: Vec<u8>, path: &Path) -> Result<(), String> {
    let partial = path.with_extension("safetensors.partial");
    std::fs::write(&partial, bytes).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|e| format!("{}: {e}", path.display()))
}
