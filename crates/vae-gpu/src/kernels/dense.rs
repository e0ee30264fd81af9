//! `shaders/dense_forward.wgsl`: y = act(x · Wᵀ + b).

use wgpu::util::DeviceExt;

use super::{compute_pipeline, create_checked};
use crate::{readback::read_f32, shaders, GpuContext, GpuError};

/// Each invocation computes a 4 × 4 block of the output (BLOCK_ROWS × BLOCK_COLS in the shader).
const BLOCK: u32 = 4;

/// The shape of one dense layer applied to a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseShape {
    pub rows: u32,
    pub inputs: u32,
    pub outputs: u32,
    pub relu: bool,
}

impl DenseShape {
    fn validate(&self, context: &GpuContext) -> Result<(), GpuError> {
        if self.rows == 0 || self.inputs == 0 || self.outputs == 0 {
            return Err(GpuError::InvalidInput(format!(
                "a dense layer needs at least one row, input and output, got {self:?}"
            )));
        }
        let max_binding = context.limits.max_storage_buffer_binding_size;
        for (name, elements) in [
            ("x", u64::from(self.rows) * u64::from(self.inputs)),
            ("w", u64::from(self.outputs) * u64::from(self.inputs)),
            ("y", u64::from(self.rows) * u64::from(self.outputs)),
        ] {
            if elements * 4 > max_binding {
                return Err(GpuError::InvalidInput(format!(
                    "{name} needs {} bytes, over the adapter's max_storage_buffer_binding_size of \
                     {max_binding}",
                    elements * 4
                )));
            }
        }
        Ok(())
    }
}

/// The dense-forward pipeline, created once per device.
pub struct DenseForward {
    pipeline: wgpu::ComputePipeline,
    workgroup: (u32, u32),
}

/// A layer bound to its buffers: create once, encode into as many passes as needed.
pub struct DenseBinding {
    bind_group: wgpu::BindGroup,
    workgroups: (u32, u32),
}

/// Buffers a [`DenseBinding`] reads and writes; lengths as in the shader's header.
pub struct DenseBuffers<'a> {
    pub x: &'a wgpu::Buffer,
    pub w: &'a wgpu::Buffer,
    pub b: &'a wgpu::Buffer,
    pub y: &'a wgpu::Buffer,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    inputs: u32,
    outputs: u32,
    relu: u32,
}

impl DenseForward {
    pub async fn new(context: &GpuContext) -> Result<Self, GpuError> {
        // 16 × 4 = 64 invocations: a multiple of every common SIMD width (8 on lavapipe, 32 on
        // NVIDIA, 64 on AMD) and within the WebGPU minimum of 256 per workgroup.
        let workgroup = (16, 4);
        let pipeline = compute_pipeline(
            context,
            &shaders::DENSE_FORWARD,
            &[
                ("WG_X", f64::from(workgroup.0)),
                ("WG_Y", f64::from(workgroup.1)),
            ],
            None,
        )
        .await?;
        Ok(Self {
            pipeline,
            workgroup,
        })
    }

    /// Binds a layer of `shape` to `buffers`, checking the shape against the adapter's limits.
    pub async fn bind(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        buffers: DenseBuffers<'_>,
    ) -> Result<DenseBinding, GpuError> {
        shape.validate(context)?;
        let workgroups = (
            shape.outputs.div_ceil(self.workgroup.0 * BLOCK),
            shape.rows.div_ceil(self.workgroup.1 * BLOCK),
        );
        let max_groups = context.limits.max_compute_workgroups_per_dimension;
        if workgroups.0 > max_groups || workgroups.1 > max_groups {
            return Err(GpuError::InvalidInput(format!(
                "{shape:?} needs {workgroups:?} workgroups, over the adapter's \
                 max_compute_workgroups_per_dimension of {max_groups}"
            )));
        }
        let params = Params {
            rows: shape.rows,
            inputs: shape.inputs,
            outputs: shape.outputs,
            relu: u32::from(shape.relu),
        };
        let bind_group = create_checked(context, "dense_forward.wgsl bind group", || {
            let params = context
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("dense_forward params"),
                    contents: bytemuck::bytes_of(&params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            context
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("dense_forward"),
                    layout: &self.pipeline.get_bind_group_layout(0),
                    entries: &[
                        entry(0, &params),
                        entry(1, buffers.x),
                        entry(2, buffers.w),
                        entry(3, buffers.b),
                        entry(4, buffers.y),
                    ],
                })
        })
        .await?;
        Ok(DenseBinding {
            bind_group,
            workgroups,
        })
    }

    /// Records the layer into an open compute pass.
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &DenseBinding) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &binding.bind_group, &[]);
        pass.dispatch_workgroups(binding.workgroups.0, binding.workgroups.1, 1);
    }

    /// Uploads `x`, `w`, `b`, runs the layer in one submit and reads `y` back: for checks and
    /// one-off use, not for the training loop (which keeps everything on the GPU).
    pub async fn run(
        &self,
        context: &GpuContext,
        shape: DenseShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
    ) -> Result<Vec<f32>, GpuError> {
        let (rows, inputs, outputs) = (
            shape.rows as usize,
            shape.inputs as usize,
            shape.outputs as usize,
        );
        for (name, len, expected) in [
            ("x", x.len(), rows * inputs),
            ("w", w.len(), outputs * inputs),
            ("b", b.len(), outputs),
        ] {
            if len != expected {
                return Err(GpuError::InvalidInput(format!(
                    "{name} has {len} values but {shape:?} needs {expected}"
                )));
            }
        }
        shape.validate(context)?;

        let device = &context.device;
        let storage = |label, data: &[f32]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let (x, w, b) = (storage("x", x), storage("w", w), storage("b", b));
        let y_size = (rows * outputs * 4) as u64;
        let y = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("y"),
            size: y_size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("y staging"),
            size: y_size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let binding = self
            .bind(
                context,
                shape,
                DenseBuffers {
                    x: &x,
                    w: &w,
                    b: &b,
                    y: &y,
                },
            )
            .await?;

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("dense_forward run"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("dense_forward"),
                timestamp_writes: None,
            });
            self.encode(&mut pass, &binding);
        }
        encoder.copy_buffer_to_buffer(&y, 0, &staging, 0, y_size);
        context.queue.submit([encoder.finish()]);
        if let Some(error) = scope.pop().await {
            return Err(GpuError::Validation {
                context: "dense_forward.wgsl dispatch".into(),
                message: error.to_string(),
            });
        }
        read_f32(device, &staging).await
    }
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}
