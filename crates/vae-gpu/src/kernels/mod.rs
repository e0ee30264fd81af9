//! One module per WGSL kernel: pipeline creation, binding and encoding.

pub mod dense;
pub mod gather;

use crate::{shaders::ShaderSource, GpuContext, GpuError};

/// Runs `create` inside a validation error scope, so a shader or pipeline the device rejects
/// becomes an error naming the shader file instead of a panic.
pub(crate) async fn create_checked<T>(
    context: &GpuContext,
    what: &str,
    create: impl FnOnce() -> T,
) -> Result<T, GpuError> {
    let scope = context
        .device
        .push_error_scope(wgpu::ErrorFilter::Validation);
    let created = create();
    match scope.pop().await {
        None => Ok(created),
        Some(error) => Err(GpuError::Validation {
            context: what.to_string(),
            message: error.to_string(),
        }),
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
                source: wgpu::ShaderSource::Wgsl(shader.source.into()),
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
