//! One module per WGSL kernel: pipeline creation, binding and encoding.

pub mod dense;
pub mod dense_backward;
mod dense_paths;
pub mod gather;
pub mod step;
mod template;
mod unrolled;

use wgpu::util::DeviceExt;

use crate::readback::read_f32;

use crate::{shaders::ShaderSource, GpuContext, GpuError};

/// Runs `create` inside a validation error scope, so a shader or pipeline the device rejects
/// becomes an error naming the shader file instead of a panic.
pub(crate) async fn create_checked<T>(
    context: &GpuContext,
    what: &str,
    create: impl FnOnce() -> T,
) -> Result<T, GpuError> {
    match scoped(context, wgpu::ErrorFilter::Validation, create).await {
        (created, None) => Ok(created),
        (_, Some(error)) => Err(GpuError::Validation {
            context: what.to_string(),
            message: error.to_string(),
        }),
    }
}

/// `make`'s result and the first error of kind `filter` it caused.
async fn scoped<T>(
    context: &GpuContext,
    filter: wgpu::ErrorFilter,
    make: impl FnOnce() -> T,
) -> (T, Option<wgpu::Error>) {
    let scope = context.device.push_error_scope(filter);
    let made = make();
    (made, scope.pop().await)
}

/// Runs `allocate` inside an out-of-memory error scope, so buffers this GPU has no memory for
/// become an error naming what was being made (the caller's previous model stays usable)
/// instead of an uncaptured error.
pub(crate) async fn allocate_checked<T>(
    context: &GpuContext,
    what: &str,
    allocate: impl FnOnce() -> T,
) -> Result<T, GpuError> {
    match scoped(context, wgpu::ErrorFilter::OutOfMemory, allocate).await {
        (allocated, None) => Ok(allocated),
        (_, Some(_)) => Err(GpuError::OutOfMemory(what.to_string())),
    }
}

/// Compiles `shader` into a compute pipeline for its `main` entry point, with the given
/// override constants (workgroup sizes chosen per adapter). Without a `layout` the bindings are
/// derived from the shader; kernels with dynamic offsets pass their own.
pub(crate) async fn compute_pipeline(
    context: &GpuContext,
    shader: &ShaderSource,
    constants: &[(&str, f64)],
    layout: Option<&wgpu::PipelineLayout>,
) -> Result<wgpu::ComputePipeline, GpuError> {
    create_checked(context, shader.label, || {
        let module = context
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(shader.label),
                source: wgpu::ShaderSource::Wgsl(shader.source.clone()),
            });
        context
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(shader.label),
                layout,
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    // Our kernels initialise what they use; skipping the zero fill saves work.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            })
    })
    .await
}

/// A kernel compiled the first time a binding needs it: the dense kernels' scalar forms, for
/// shapes that are not multiples of 4, which the default model never has. Compiling them at
/// start-up cost the page a few hundred milliseconds before its first digit on SwiftShader.
pub(crate) struct LazyKernel {
    shader: ShaderSource,
    constants: Vec<(&'static str, f64)>,
    compiled: std::sync::OnceLock<Kernel>,
}

impl LazyKernel {
    pub(crate) fn new(shader: ShaderSource, constants: &[(&'static str, f64)]) -> Self {
        Self {
            shader,
            constants: constants.to_vec(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    pub(crate) async fn get(&self, context: &GpuContext) -> Result<&Kernel, GpuError> {
        if let Some(kernel) = self.compiled.get() {
            return Ok(kernel);
        }
        let kernel = Kernel::new(context, &self.shader, &self.constants).await?;
        Ok(self.compiled.get_or_init(|| kernel))
    }
}

/// The kernel a shape picked: compiled already, or compiled on first use.
pub(crate) enum Pick<'a> {
    Compiled(&'a Kernel),
    Lazy(&'a LazyKernel),
}

impl<'a> Pick<'a> {
    pub(crate) async fn kernel(self, context: &GpuContext) -> Result<&'a Kernel, GpuError> {
        match self {
            Pick::Compiled(kernel) => Ok(kernel),
            Pick::Lazy(lazy) => lazy.get(context).await,
        }
    }
}

/// A compute kernel whose bindings follow one convention: binding 0 is a uniform with its
/// parameters, then the storage buffers in the order the shader's header lists them.
pub struct Kernel {
    pipeline: wgpu::ComputePipeline,
    label: &'static str,
}

/// A kernel bound to its buffers and parameters, with its dispatch size.
pub struct Binding {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: (u32, u32),
}

/// Dispatches recorded so far by this process: what a training step costs the CPU is mostly
/// its dispatches (three calls into the browser's WebGPU each), so the engine reports them.
static DISPATCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) fn dispatches_recorded() -> u64 {
    DISPATCHES.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn count_dispatch() {
    DISPATCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

impl Binding {
    /// Records the dispatch into an open compute pass.
    pub(crate) fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        count_dispatch();
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.workgroups.0, self.workgroups.1, 1);
    }
}

impl Kernel {
    pub(crate) async fn new(
        context: &GpuContext,
        shader: &ShaderSource,
        constants: &[(&str, f64)],
    ) -> Result<Self, GpuError> {
        Ok(Self {
            pipeline: compute_pipeline(context, shader, constants, None).await?,
            label: shader.label,
        })
    }

    /// A kernel from a shader source made at run time (a specialised template), labelled as
    /// the file it came from.
    pub(crate) async fn from_source(
        context: &GpuContext,
        label: &'static str,
        source: String,
        constants: &[(&str, f64)],
    ) -> Result<Self, GpuError> {
        let source = std::borrow::Cow::Owned(source);
        Self::new(context, &ShaderSource { label, source }, constants).await
    }

    /// Binds `uniform` (the kernel's parameters) and `storage`, checking the dispatch size
    /// against the adapter's limits.
    pub(crate) async fn bind(
        &self,
        context: &GpuContext,
        uniform: &[u8],
        storage: &[wgpu::BufferBinding<'_>],
        workgroups: (u32, u32),
    ) -> Result<Binding, GpuError> {
        let max_groups = context.limits.max_compute_workgroups_per_dimension;
        if workgroups.0 > max_groups || workgroups.1 > max_groups {
            return Err(GpuError::InvalidInput(format!(
                "{} needs {workgroups:?} workgroups, over the adapter's \
                 max_compute_workgroups_per_dimension of {max_groups}",
                self.label
            )));
        }
        let bind_group = create_checked(context, self.label, || {
            let params = context
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(self.label),
                    contents: uniform,
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            let entries: Vec<wgpu::BindGroupEntry> =
                std::iter::once(params.as_entire_buffer_binding())
                    .chain(storage.iter().cloned())
                    .enumerate()
                    .map(|(binding, buffer)| wgpu::BindGroupEntry {
                        binding: binding as u32,
                        resource: wgpu::BindingResource::Buffer(buffer),
                    })
                    .collect();
            context
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(self.label),
                    layout: &self.pipeline.get_bind_group_layout(0),
                    entries: &entries,
                })
        })
        .await?;
        Ok(Binding {
            pipeline: self.pipeline.clone(),
            bind_group,
            workgroups,
        })
    }

    pub(crate) fn encode(&self, pass: &mut wgpu::ComputePass<'_>, binding: &Binding) {
        binding.encode(pass);
    }

    /// Uploads `inputs` (raw bytes, as the shader's header lays them out), runs the kernel once
    /// on outputs that start as `outputs` (f32), and reads the outputs back, all in one submit:
    /// for checks and one-off use, never the training loop.
    pub async fn run_once(
        &self,
        context: &GpuContext,
        uniform: &[u8],
        inputs: &[&[u8]],
        outputs: &[&[f32]],
        workgroups: (u32, u32),
    ) -> Result<Vec<Vec<f32>>, GpuError> {
        let device = &context.device;
        // wgpu rejects empty bindings; 4 zero bytes stand in for an unused one.
        let non_empty = |bytes: &[u8]| -> Vec<u8> {
            if bytes.is_empty() {
                vec![0; 4]
            } else {
                bytes.to_vec()
            }
        };
        let inputs: Vec<wgpu::Buffer> = inputs
            .iter()
            .map(|data| {
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("input"),
                    contents: &non_empty(data),
                    usage: wgpu::BufferUsages::STORAGE,
                })
            })
            .collect();
        let output_lens: Vec<usize> = outputs.iter().map(|values| values.len()).collect();
        let outputs: Vec<(wgpu::Buffer, wgpu::Buffer)> = outputs
            .iter()
            .map(|values| {
                let output = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("output"),
                    contents: &non_empty(bytemuck::cast_slice(values)),
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                });
                let staging = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("output staging"),
                    size: output.size(),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                (output, staging)
            })
            .collect();
        let storage: Vec<wgpu::BufferBinding> = inputs
            .iter()
            .chain(outputs.iter().map(|(output, _)| output))
            .map(|buffer| buffer.as_entire_buffer_binding())
            .collect();
        let binding = self.bind(context, uniform, &storage, workgroups).await?;

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some(self.label),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(self.label),
                timestamp_writes: None,
            });
            self.encode(&mut pass, &binding);
        }
        for (output, staging) in &outputs {
            encoder.copy_buffer_to_buffer(output, 0, staging, 0, output.size());
        }
        context.queue.submit([encoder.finish()]);
        if let Some(error) = scope.pop().await {
            return Err(GpuError::Validation {
                context: format!("{} dispatch", self.label),
                message: error.to_string(),
            });
        }
        let mut results = Vec::with_capacity(outputs.len());
        for ((_, staging), &len) in outputs.iter().zip(&output_lens) {
            let mut values = read_f32(context, staging).await?;
            values.truncate(len);
            results.push(values);
        }
        Ok(results)
    }
}
