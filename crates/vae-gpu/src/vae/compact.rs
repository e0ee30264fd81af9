//! Compact weights from the GPU engine's model: its parameters read back and written by
//! `vae_model::write_weights` (what a page ships as its pretrained model).

use vae_model::{write_weights, TestScores, WeightDtype};

use super::Vae;
use crate::GpuError;

impl Vae {
    /// The parameters alone as a plain PyTorch state dict (`format: pt`), in `dtype`, with a
    /// description and its test figures under our keys: a file any safetensors reader takes, that
    /// [`Vae::load`] reads as a state dict (default settings, step 0, fresh Adam moments).
    pub async fn save_weights(
        &self,
        dtype: WeightDtype,
        description: &str,
        scores: TestScores,
    ) -> Result<Vec<u8>, GpuError> {
        let params = self.read_buffer(&self.params).await?;
        Ok(write_weights(
            self.config.sizes,
            &self.layout,
            &params,
            dtype,
            description,
            scores,
        )?)
    }
}
