//! `shaders/gather_batch.wgsl`: unpack a batch of packed images (bits, or levels kept or drawn
//! from), chosen by the epoch order.

use std::num::NonZeroU64;

use wgpu::util::DeviceExt;

use super::{compute_pipeline, create_checked};
use crate::data::GpuSplit;
use crate::{readback::read_f32, shaders, GpuContext, GpuError};

/// Bytes between two steps' parameters: the largest `min_uniform_buffer_offset_alignment` any
/// adapter may ask for, so one layout works everywhere.
const SLOT: u64 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    first: u32,
    batch: u32,
    values: u32,
    words_per_image: u32,
    image_count: u32,
    /// Added to the step counter by the gather (1 in training, 0 in evaluation).
    advance: u32,
    /// Bits a value (1 or 8).
    depth: u32,
    /// 1: levels drawn from (a binary image per epoch), 0: as stored.
    drawn: u32,
    seed_low: u32,
    seed_high: u32,
    /// What drawn levels are drawn for (`mnist_shard::draw`).
    epoch: u32,
}

/// The gather pipeline, created once per device.
pub struct BatchGather {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    workgroup: u32,
}

/// What a gather reads its indices from and writes its batch to.
pub struct GatherBuffers<'a> {
    /// This epoch's image indices (u32), `order_len` of them.
    pub order: &'a wgpu::Buffer,
    pub order_len: u32,
    /// The batch, `[batch, pixels]` f32.
    pub x: &'a wgpu::Buffer,
    /// The step counter the gather advances by one per step (training's), or none
    /// (evaluation: its batches are not steps).
    pub step_counter: Option<&'a wgpu::Buffer>,
}

/// A gather bound to a split, an epoch-order buffer and an output; `slots` steps can be encoded
/// into one submit, each reading its own parameters.
pub struct GatherBinding {
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
    slots: u32,
    batch: u32,
    order_len: u32,
    base: Params,
    workgroups: (u32, u32),
    /// Bound in place of a step counter when there is none.
    _no_counter: Option<wgpu::Buffer>,
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl BatchGather {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        let device = &context.device;
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("gather_batch"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: NonZeroU64::new(std::mem::size_of::<Params>() as u64),
                    },
                    count: None,
                },
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(3, false),
                storage_entry(4, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("gather_batch"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let workgroup = 64;
        let pipeline = compute_pipeline(
            context,
            &shaders::GATHER_BATCH,
            &[("WG_X", f64::from(workgroup))],
            Some(&pipeline_layout),
        )
        .await?;
        Ok(Self {
            pipeline,
            layout,
            workgroup,
        })
    }

    /// Binds a gather of `batch` images of `split`, indexed through `buffers.order`, into
    /// `buffers.x`, for up to `slots` steps per submit.
    pub async fn bind(
        &self,
        context: &GpuContext,
        split: &GpuSplit,
        buffers: GatherBuffers<'_>,
        batch: u32,
        slots: u32,
    ) -> Result<GatherBinding, GpuError> {
        let GatherBuffers {
            order,
            order_len,
            x,
            step_counter,
        } = buffers;
        if batch == 0 || slots == 0 || batch > order_len {
            return Err(GpuError::InvalidInput(format!(
                "a gather needs 1 ≤ batch ≤ order length and at least one slot; got batch \
                 {batch}, order length {order_len}, {slots} slots"
            )));
        }
        let max_groups = context.limits.max_compute_workgroups_per_dimension;
        if batch > max_groups {
            return Err(GpuError::InvalidInput(format!(
                "batch {batch} is over the adapter's max_compute_workgroups_per_dimension of \
                 {max_groups}"
            )));
        }
        let params = context.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gather_batch params"),
            size: SLOT * u64::from(slots),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let no_counter = step_counter.is_none().then(|| {
            context.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gather_batch: no step counter"),
                size: 4,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        let counter = step_counter
            .or(no_counter.as_ref())
            .unwrap_or_else(|| unreachable!("a counter or the stand-in"));
        let bind_group = create_checked(context, "gather_batch.wgsl bind group", || {
            context
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("gather_batch"),
                    layout: &self.layout,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: &params,
                                offset: 0,
                                size: NonZeroU64::new(std::mem::size_of::<Params>() as u64),
                            }),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: split.images.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 2,
                            resource: order.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 3,
                            resource: x.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 4,
                            resource: counter.as_entire_binding(),
                        },
                    ],
                })
        })
        .await?;
        Ok(GatherBinding {
            bind_group,
            params,
            slots,
            batch,
            order_len,
            base: Params {
                first: 0,
                batch,
                values: split.values,
                words_per_image: split.words_per_image,
                image_count: split.count,
                advance: u32::from(step_counter.is_some()),
                depth: u32::from(split.encoding.depth),
                drawn: u32::from(split.encoding.drawn),
                seed_low: split.seed as u32,
                seed_high: (split.seed >> 32) as u32,
                epoch: 0,
            },
            workgroups: (split.values.div_ceil(self.workgroup), batch),
            _no_counter: no_counter,
        })
    }

    /// Queues the first order position of each step of the next submit (one write for all), all
    /// of epoch `epoch` (what drawn levels are drawn for; evaluation's is
    /// `mnist_shard::draw::EVALUATION_EPOCH`).
    pub fn write_steps(
        &self,
        queue: &wgpu::Queue,
        binding: &GatherBinding,
        firsts: &[u32],
        epoch: u32,
    ) -> Result<(), GpuError> {
        if firsts.len() > binding.slots as usize {
            return Err(GpuError::InvalidInput(format!(
                "{} steps in one submit, but the gather was bound with {} slots",
                firsts.len(),
                binding.slots
            )));
        }
        let mut bytes = vec![0u8; SLOT as usize * firsts.len()];
        for (slot, &first) in firsts.iter().enumerate() {
            if u64::from(first) + u64::from(binding.batch) > u64::from(binding.order_len) {
                return Err(GpuError::InvalidInput(format!(
                    "a batch of {} from position {first} runs past the epoch's {} images",
                    binding.batch, binding.order_len
                )));
            }
            let params = Params {
                first,
                epoch,
                ..binding.base
            };
            let at = slot * SLOT as usize;
            bytes[at..at + std::mem::size_of::<Params>()]
                .copy_from_slice(bytemuck::bytes_of(&params));
        }
        queue.write_buffer(&binding.params, 0, &bytes);
        Ok(())
    }

    /// Records the gather of step `slot` (as written by [`Self::write_steps`]), which also
    /// advances the step counter if one is bound.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &GatherBinding, slot: u32) {
        debug_assert!(slot < binding.slots);
        super::count_dispatch();
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &binding.bind_group, &[slot * SLOT as u32]);
        pass.dispatch_workgroups(binding.workgroups.0, binding.workgroups.1, 1);
    }

    /// Gathers the batches starting at each of `firsts` in `order`, in one submit, as epoch
    /// `epoch` sees them, and reads them back (`[firsts.len(), batch, values]`): for checks, not
    /// for training.
    pub async fn gather(
        &self,
        context: &GpuContext,
        split: &GpuSplit,
        order: &[u32],
        batch: u32,
        (firsts, epoch): (&[u32], u32),
    ) -> Result<Vec<f32>, GpuError> {
        if let Some(&bad) = order.iter().find(|&&index| index >= split.count) {
            return Err(GpuError::InvalidInput(format!(
                "image index {bad} in the order, but the split has {} images",
                split.count
            )));
        }
        let device = &context.device;
        let order_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("epoch order"),
            contents: bytemuck::cast_slice(order),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let batch_bytes = u64::from(batch) * u64::from(split.values) * 4;
        let x = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("x"),
            size: batch_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("x staging"),
            size: batch_bytes * firsts.len() as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let slots = firsts.len() as u32;
        let order_len = u32::try_from(order.len())
            .map_err(|_| GpuError::InvalidInput("order longer than 2^32".into()))?;
        let binding = self
            .bind(
                context,
                split,
                GatherBuffers {
                    order: &order_buffer,
                    order_len,
                    x: &x,
                    step_counter: None,
                },
                batch,
                slots,
            )
            .await?;
        self.write_steps(&context.queue, &binding, firsts, epoch)?;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("gather_batch run"),
        });
        for slot in 0..slots {
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("gather_batch"),
                    timestamp_writes: None,
                });
                self.encode(&mut pass, &binding, slot);
            }
            encoder.copy_buffer_to_buffer(
                &x,
                0,
                &staging,
                u64::from(slot) * batch_bytes,
                batch_bytes,
            );
        }
        context.queue.submit([encoder.finish()]);
        if let Some(error) = scope.pop().await {
            return Err(GpuError::Validation {
                context: "gather_batch.wgsl dispatch".into(),
                message: error.to_string(),
            });
        }
        read_f32(context, &staging).await
    }
}
