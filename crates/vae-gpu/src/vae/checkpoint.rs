//! Saving and loading the GPU engine's model: its buffers read back into, and written from,
//! the checkpoint format of `vae_model` (safetensors, PyTorch's names and shapes).

use vae_model::{
    read_checkpoint, read_state_dict, write_checkpoint, BatchCursor, CheckpointContents,
    TrainingPosition,
};
use vae_reference::Layout;

use super::{Vae, VaeConfig};
use crate::{GpuContext, GpuError, PendingRead};

impl Vae {
    /// All parameters, Adam's moments, the step and the configuration, as safetensors bytes.
    pub async fn save(&self) -> Result<Vec<u8>, GpuError> {
        self.begin_save().wait().await
    }

    /// [`Vae::save`] as an owned read that holds no borrow of the model (a page awaits it while
    /// training goes on): the copies are queued after the work submitted so far, and the
    /// configuration and position are those of that moment.
    pub fn begin_save(&self) -> CheckpointRead {
        let cursor = self
            .data
            .as_ref()
            .map_or(BatchCursor::START, |data| data.cursor);
        CheckpointRead {
            params: self.read_later(&self.params),
            m: self.read_later(&self.m),
            v: self.read_later(&self.v),
            config: self.config,
            layout: self.layout.clone(),
            step: self.step,
            cursor,
        }
    }

    /// A model from [`Vae::save`]'s bytes: same parameters, moments, step and configuration.
    /// Training data must be set again; training then resumes where the checkpoint left off.
    /// A file without our metadata is read as a plain state dict (PyTorch's
    /// `safetensors.torch.save_file(model.state_dict(), …, metadata={"format": "pt"})`):
    /// [`Vae::load_state_dict`]; other programs' metadata is ignored. Checkpoints of the
    /// earlier layout (`format: vae-lab/1`, keys unprefixed) still load.
    pub async fn load(context: GpuContext, bytes: &[u8]) -> Result<Self, GpuError> {
        Self::load_with(context, bytes, |_| {}).await
    }

    /// [`Vae::load`], with the checkpoint's settings adjusted before the model is made: how a
    /// run goes on at a new learning rate (sizes changed here fail the shape checks).
    pub async fn load_with(
        context: GpuContext,
        bytes: &[u8],
        adjust: impl FnOnce(&mut VaeConfig),
    ) -> Result<Self, GpuError> {
        let contents = read_checkpoint(bytes, &context.binding_limits(), adjust)?;
        Self::from_contents(context, contents).await
    }

    /// A model from a plain state dict in safetensors (the article's PyTorch names, weights
    /// `[out, in]`): sizes from the tensors' shapes, the default training settings, Adam's
    /// moments at zero, step 0.
    pub async fn load_state_dict(context: GpuContext, bytes: &[u8]) -> Result<Self, GpuError> {
        let contents = read_state_dict(bytes, &context.binding_limits(), None)?;
        Self::from_contents(context, contents).await
    }

    /// A plain state dict trained on with `config`'s batch, learning rate and seed (its sizes
    /// must be the file's): how a page opens its pretrained model with the visitor's settings.
    pub async fn load_state_dict_as(
        context: GpuContext,
        bytes: &[u8],
        config: VaeConfig,
    ) -> Result<Self, GpuError> {
        let contents = read_state_dict(bytes, &context.binding_limits(), Some(config))?;
        Self::from_contents(context, contents).await
    }

    /// The checked contents on the GPU.
    async fn from_contents(
        context: GpuContext,
        contents: CheckpointContents,
    ) -> Result<Self, GpuError> {
        let mut vae = Vae::with_parameters(context, contents.config, &contents.params).await?;
        let Some(training) = contents.training else {
            return Ok(vae);
        };
        let queue = &vae.context.queue;
        queue.write_buffer(&vae.m, 0, bytemuck::cast_slice(&training.m));
        queue.write_buffer(&vae.v, 0, bytemuck::cast_slice(&training.v));
        queue.write_buffer(&vae.state, 0, &(training.step as u32).to_le_bytes());
        vae.step = training.step;
        vae.reported_step = training.step;
        vae.resume = Some(training.cursor);
        let slot = *vae.points.good();
        vae.points.reset(slot, training.step);
        vae.snapshot_into_good();
        Ok(vae)
    }
}

/// A checkpoint on its way back from the GPU ([`Vae::begin_save`]).
pub struct CheckpointRead {
    params: PendingRead,
    m: PendingRead,
    v: PendingRead,
    config: VaeConfig,
    layout: Layout,
    step: u64,
    cursor: BatchCursor,
}

impl CheckpointRead {
    /// The safetensors bytes. Parameters that are not all finite are refused rather than
    /// written: a saved file must never be worse than the one it replaces.
    pub async fn wait(self) -> Result<Vec<u8>, GpuError> {
        let params = self.params.floats().await?;
        let m = self.m.floats().await?;
        let v = self.v.floats().await?;
        let training = TrainingPosition {
            step: self.step,
            cursor: self.cursor,
        };
        Ok(write_checkpoint(
            &self.config,
            &self.layout,
            [&params, &m, &v],
            training,
        )?)
    }
}
