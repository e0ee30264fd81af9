//! Saving and loading in the model's checkpoint format (`vae_model`: safetensors, PyTorch's
//! names and shapes): a checkpoint from either engine opens in the other, and in PyTorch.

use vae_model::{
    read_checkpoint, read_state_dict, write_checkpoint, BindingLimits, CheckpointContents,
    TrainingPosition, VaeConfig, ALIGN,
};
use vae_reference::Layout;

use crate::engine::CpuVae;
use crate::CpuError;

impl CpuVae {
    /// All parameters, Adam's moments, the step, the configuration and the data position, as
    /// the GPU engine's checkpoint bytes.
    pub fn save(&self) -> Result<Vec<u8>, CpuError> {
        let layout = Layout::aligned(self.config.sizes, ALIGN);
        let params = self.parameters_in(&layout);
        let (m, v) = self.moments_in(&layout);
        let at = TrainingPosition {
            step: self.step,
            cursor: self.position(),
        };
        write_checkpoint(&self.config, &layout, [&params, &m, &v], at)
    }

    /// A model from checkpoint bytes (a full checkpoint, or a plain state dict), `adjust`ing a
    /// state dict's default settings. Training data must be set again; training then resumes
    /// where the checkpoint left off.
    pub fn load_with(bytes: &[u8], adjust: impl FnOnce(&mut VaeConfig)) -> Result<Self, CpuError> {
        Self::from_contents(read_checkpoint(bytes, &BindingLimits::NONE, adjust)?)
    }

    /// [`CpuVae::load_with`] leaving a state dict's settings at their defaults.
    pub fn load(bytes: &[u8]) -> Result<Self, CpuError> {
        Self::load_with(bytes, |_| {})
    }

    /// A plain state dict trained on with `config`'s settings (its sizes must be the file's).
    pub fn load_state_dict_as(bytes: &[u8], config: VaeConfig) -> Result<Self, CpuError> {
        Self::from_contents(read_state_dict(bytes, &BindingLimits::NONE, Some(config))?)
    }

    /// Checked contents (from either engine's reader) as a CPU model.
    pub fn from_contents(contents: CheckpointContents) -> Result<Self, CpuError> {
        let gpu_layout = Layout::aligned(contents.config.sizes, ALIGN);
        let cpu = crate::params::CpuLayout::new(contents.config.sizes);
        let params = cpu.from_reference(&gpu_layout, &contents.params);
        let mut vae = CpuVae::with_parameters(contents.config, params)?;
        if let Some(training) = contents.training {
            vae.m = cpu.from_reference(&gpu_layout, &training.m);
            vae.v = cpu.from_reference(&gpu_layout, &training.v);
            vae.step = training.step;
            vae.resume = Some(training.cursor);
            vae.mark_good();
        }
        Ok(vae)
    }
}
