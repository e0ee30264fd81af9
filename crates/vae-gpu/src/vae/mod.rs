//! The VAE on the GPU: parameters, optimiser state and activations in GPU buffers, a training
//! step of 17 dispatches, many steps per submit, and reads that never block.

mod backward;
mod checkpoint;
mod compact;
mod evaluation;
mod graph;
mod inference;
mod likelihood;
mod state;
mod steps;
mod views;

use std::rc::Rc;

use vae_reference::{init_params, Layout};
use wgpu::util::DeviceExt;

pub use checkpoint::CheckpointRead;
pub use evaluation::{EvaluationRead, Evaluator};
pub use inference::{pack_parameters, prior_sample, ImageRead, Inference, PosteriorRead};
pub use likelihood::{LikelihoodRead, LikelihoodSession};
pub use state::{MetricsData, MetricsRead};
use vae_model::{VaeConfig, ALIGN, METRICS_RING};
pub use views::LineDecoder;

use crate::data::GpuSplit;
use crate::kernels::gather::{GatherBinding, GatherBuffers};
use crate::readback::StagingPool;
use crate::{GpuContext, GpuError};
use backward::{BackwardPass, OptimizerBuffers};
use graph::{storage_buffer, Activations, ForwardPass, Kernels, PassInputs};
use vae_model::{epoch_order, BatchCursor, RollbackPoints};

/// Most steps encoded into one submit (the gather's parameter slots).
pub const MAX_STEPS_PER_SUBMIT: u32 = 256;

struct TrainingData {
    split: GpuSplit,
    /// Two epochs' orders, alternating, so a submit can run across an epoch's end: the next
    /// order is written into the buffer the submit's earlier steps do not read.
    orders: [wgpu::Buffer; 2],
    gathers: [GatherBinding; 2],
    /// Which of the two holds the current epoch's order.
    active: usize,
    cursor: BatchCursor,
}

/// The model, its optimiser and its training data, on one device.
pub struct Vae {
    context: GpuContext,
    config: VaeConfig,
    layout: Layout,
    /// Shared with the sessions' makers ([`Sessions`]).
    kernels: Rc<Kernels>,
    params: wgpu::Buffer,
    grads: wgpu::Buffer,
    m: wgpu::Buffer,
    v: wgpu::Buffer,
    state: wgpu::Buffer,
    ring: wgpu::Buffer,
    /// A [`Vae::begin_metrics`] read is out and not yet finished.
    metrics_in_flight: bool,
    /// Three slots of copies of the parameters, moments and step counter: the good rollback
    /// point's, the one awaiting confirmation, and the next read's.
    snapshots: [[wgpu::Buffer; 4]; 3],
    /// Which slots those are (the model's rule for rollback points, `vae_model`).
    points: RollbackPoints<usize>,
    train_batch: Activations,
    forward: ForwardPass,
    backward: BackwardPass,
    data: Option<TrainingData>,
    /// Steps taken so far (the GPU's counter, mirrored).
    step: u64,
    reported_step: u64,
    /// Where a loaded checkpoint stopped in the data, applied when data is set.
    resume: Option<BatchCursor>,
    /// Staging buffers reused by the reads a page makes many times a second.
    reads: ReadPools,
    dispatches_per_step: u32,
}

/// The staging buffers of the model's recurring reads: fences and metrics.
struct ReadPools {
    fences: StagingPool,
    metrics: StagingPool,
}

impl Vae {
    /// A freshly initialised model (PyTorch's nn.Linear initialisation from `config.seed`).
    pub async fn new(context: GpuContext, config: VaeConfig) -> Result<Self, GpuError> {
        config.validate(&context.binding_limits())?;
        let layout = Layout::aligned(config.sizes, ALIGN);
        let packed = Layout::new(config.sizes);
        let initial = init_params(&packed, config.seed);
        let mut params = vec![0.0f32; layout.len()];
        for tensor in vae_reference::Tensor::ALL {
            params[layout.range(tensor)].copy_from_slice(&initial[packed.range(tensor)]);
        }
        Self::with_parameters(context, config, &params).await
    }

    /// A model with the given parameters, in the GPU layout ([`Vae::layout`]).
    pub async fn with_parameters(
        context: GpuContext,
        config: VaeConfig,
        params: &[f32],
    ) -> Result<Self, GpuError> {
        config.validate(&context.binding_limits())?;
        let layout = Layout::aligned(config.sizes, ALIGN);
        if params.len() != layout.len() {
            return Err(GpuError::InvalidInput(format!(
                "{} parameters given, the model has {}",
                params.len(),
                layout.len()
            )));
        }
        let kernels = Rc::new(Kernels::new(&context).await?);
        let device = &context.device;
        let flat = |label| storage_buffer(device, label, layout.len());
        let what = format!(
            "a {} → {} → {} model trained in batches of {}",
            config.sizes.input, config.sizes.hidden, config.sizes.latent, config.batch
        );
        let buffers = crate::kernels::allocate_checked(&context, &what, || {
            let params_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("parameters"),
                contents: bytemuck::cast_slice(params),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            });
            let (grads, m, v) = (flat("gradients"), flat("adam m"), flat("adam v"));
            let state = storage_buffer(device, "step counter", 1);
            let ring = storage_buffer(device, "metrics ring", 4 * METRICS_RING as usize);
            let snapshot = || {
                [
                    flat("snapshot parameters"),
                    flat("snapshot m"),
                    flat("snapshot v"),
                    storage_buffer(device, "snapshot step counter", 1),
                ]
            };
            let snapshots = [snapshot(), snapshot(), snapshot()];
            let train_batch = Activations::with_samples(
                device,
                config.sizes,
                config.batch,
                config.importance_samples,
            );
            (
                params_buffer,
                grads,
                m,
                v,
                state,
                ring,
                snapshots,
                train_batch,
            )
        })
        .await?;
        let (params_buffer, grads, m, v, state, ring, snapshots, train_batch) = buffers;
        let inputs = PassInputs {
            layout: &layout,
            params: &params_buffer,
            state: &state,
            ring: &ring,
            ring_slots: METRICS_RING,
            seed: config.seed,
        };
        let forward = ForwardPass::bind(&context, &kernels, &inputs, &train_batch).await?;
        let optimizer = OptimizerBuffers {
            grads: &grads,
            m: &m,
            v: &v,
        };
        let backward = BackwardPass::bind(
            &context,
            &kernels,
            &inputs,
            &optimizer,
            &config.adam,
            config.kl_weight as f32,
            &train_batch,
        )
        .await?;
        let vae = Self {
            context,
            config,
            layout,
            kernels,
            params: params_buffer,
            grads,
            m,
            v,
            state,
            ring,
            metrics_in_flight: false,
            snapshots,
            points: RollbackPoints::new(0, 0),
            train_batch,
            forward,
            backward,
            data: None,
            step: 0,
            reported_step: 0,
            resume: None,
            reads: ReadPools {
                fences: StagingPool::new(4),
                metrics: StagingPool::new(u64::from(4 * METRICS_RING) * 4),
            },
            dispatches_per_step: 0,
        };
        vae.snapshot_into_good();
        Ok(vae)
    }

    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Where each tensor lives in the flat GPU buffers.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn context(&self) -> &GpuContext {
        &self.context
    }

    /// Steps taken so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Uploads the training images once; epochs then shuffle them by the seed.
    pub async fn set_training_data(
        &mut self,
        split: &mnist_shard::Split<'_>,
    ) -> Result<(), GpuError> {
        self.config.check_training_data(split)?;
        let gpu_split = GpuSplit::upload(&self.context, split)?;
        let device = &self.context.device;
        let orders = [
            storage_buffer(device, "epoch order A", split.len()),
            storage_buffer(device, "epoch order B", split.len()),
        ];
        let mut gathers = Vec::with_capacity(2);
        for order in &orders {
            let gather = self
                .kernels
                .gather
                .bind(
                    &self.context,
                    &gpu_split,
                    GatherBuffers {
                        order,
                        order_len: split.len() as u32,
                        x: &self.train_batch.x,
                        step_counter: Some(&self.state),
                    },
                    self.config.batch,
                    MAX_STEPS_PER_SUBMIT,
                )
                .await?;
            gathers.push(gather);
        }
        let gathers: [GatherBinding; 2] = gathers
            .try_into()
            .unwrap_or_else(|_| unreachable!("two orders, two gathers"));
        // A fresh model starts epoch 1 with its first step; a loaded one where it stopped.
        let cursor = self.resume.take().unwrap_or_default();
        if cursor.is_mid_epoch() {
            // Resuming mid-epoch: that epoch's order must be on the GPU.
            let indices = epoch_order(self.config.seed, cursor.epoch, split.len());
            self.context
                .queue
                .write_buffer(&orders[0], 0, bytemuck::cast_slice(&indices));
        }
        self.data = Some(TrainingData {
            split: gpu_split,
            orders,
            gathers,
            active: 0,
            cursor,
        });
        Ok(())
    }

    /// Full batches per epoch (the remainder of an epoch's shuffle is left out, as in the Flax
    /// example).
    pub fn steps_per_epoch(&self) -> Option<u64> {
        let data = self.data.as_ref()?;
        Some(data.split.len() as u64 / u64::from(self.config.batch))
    }

    /// The epoch the next step belongs to (1 for the first), and how far into it.
    pub fn epoch_progress(&self) -> Option<(u64, u64)> {
        let data = self.data.as_ref()?;
        Some(
            data.cursor
                .progress(self.config.batch, self.steps_per_epoch()?),
        )
    }
}
