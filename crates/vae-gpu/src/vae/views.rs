//! Views of the latent space: decodes of many latent points along straight lines in one pass
//! (a manifold grid, an interpolation, a strip per dimension), the points made on the GPU by
//! `latent_lines.wgsl` from a few numbers per line.

use vae_reference::latent::LatentLines;

use super::graph::storage_buffer;
use super::inference::{ImageRead, Inference, PosteriorRead};
use super::Vae;
use crate::kernels::step::{latent_lines_uniform, spread_workgroups, ROW_WORKGROUP};
use crate::kernels::Binding;
use crate::readback::PendingRead;
use crate::GpuError;

/// A decoder session for `lines` × `points` latent points, with the line parameters' buffers
/// and the kernel that expands them, bound once ([`Vae::line_decoder`]).
pub struct LineDecoder {
    session: Inference,
    lines: u32,
    points: u32,
    origins: wgpu::Buffer,
    directions: wgpu::Buffer,
    t: wgpu::Buffer,
    expand: Binding,
}

impl LineDecoder {
    pub fn lines(&self) -> u32 {
        self.lines
    }

    pub fn points(&self) -> u32 {
        self.points
    }
}

impl Vae {
    /// A session that decodes `lines` lines of `points` points each per request.
    pub async fn line_decoder(&self, lines: u32, points: u32) -> Result<LineDecoder, GpuError> {
        let rows = lines
            .checked_mul(points)
            .filter(|&rows| rows > 0)
            .ok_or_else(|| GpuError::InvalidInput(format!("{lines} lines of {points} points")))?;
        let session = self.inference(rows).await?;
        let latent = self.config.sizes.latent;
        let device = &self.context.device;
        let origins = storage_buffer(device, "line origins", lines as usize * latent);
        let directions = storage_buffer(device, "line directions", lines as usize * latent);
        let t = storage_buffer(device, "line parameters", points as usize);
        let kernel = self.kernels.lines.get(&self.context).await?;
        let expand = kernel
            .bind(
                &self.context,
                &latent_lines_uniform(lines, points, latent as u32),
                &[
                    origins.as_entire_buffer_binding(),
                    directions.as_entire_buffer_binding(),
                    t.as_entire_buffer_binding(),
                    session.activations.z.as_entire_buffer_binding(),
                ],
                spread_workgroups(rows * latent as u32, ROW_WORKGROUP),
            )
            .await?;
        Ok(LineDecoder {
            session,
            lines,
            points,
            origins,
            directions,
            t,
            expand,
        })
    }

    /// Queues the points of `lines` and the decoder over them in one submit, and starts reading
    /// the `[lines · points, input]` pixel probabilities back, line by line.
    pub fn request_lines(
        &self,
        decoder: &LineDecoder,
        lines: &LatentLines,
    ) -> Result<ImageRead, GpuError> {
        let mut reads = self.request_line_sets(&[(decoder, lines)])?;
        Ok(reads.remove(0))
    }

    /// [`Vae::request_lines`] for several sessions at once, all in one submit (a view's refresh
    /// is one piece of GPU work, not one per picture).
    pub fn request_line_sets(
        &self,
        sets: &[(&LineDecoder, &LatentLines)],
    ) -> Result<Vec<ImageRead>, GpuError> {
        self.context.check_device()?;
        for (decoder, lines) in sets {
            self.check_lines(decoder, lines)?;
        }
        let queue = &self.context.queue;
        for (decoder, lines) in sets {
            queue.write_buffer(&decoder.origins, 0, bytemuck::cast_slice(&lines.origins));
            queue.write_buffer(
                &decoder.directions,
                0,
                bytemuck::cast_slice(&lines.directions),
            );
            queue.write_buffer(&decoder.t, 0, bytemuck::cast_slice(&lines.t));
        }
        let device = &self.context.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("latent lines"),
        });
        self.compute(&mut encoder, |pass| {
            for (decoder, _) in sets {
                decoder.expand.encode(pass);
                decoder.session.forward.encode_decoder(pass);
            }
        });
        let staging: Vec<_> = sets
            .iter()
            .map(|(decoder, _)| {
                let logits = &decoder.session.activations.logits;
                let buffer = decoder.session.image_reads.take(device);
                encoder.copy_buffer_to_buffer(logits, 0, &buffer, 0, logits.size());
                buffer
            })
            .collect();
        queue.submit([encoder.finish()]);
        Ok(sets
            .iter()
            .zip(staging)
            .map(|((decoder, _), buffer)| {
                ImageRead(PendingRead::start(
                    &self.context,
                    buffer,
                    Some(&decoder.session.image_reads),
                ))
            })
            .collect())
    }

    fn check_lines(&self, decoder: &LineDecoder, lines: &LatentLines) -> Result<(), GpuError> {
        let latent = self.config.sizes.latent;
        if lines.latent != latent
            || lines.lines() != decoder.lines as usize
            || lines.points() != decoder.points as usize
            || lines.directions.len() != lines.origins.len()
        {
            return Err(GpuError::InvalidInput(format!(
                "{} lines of {} points in {} dimensions given to a session for {} of {} in {latent}",
                lines.lines(),
                lines.points(),
                lines.latent,
                decoder.lines,
                decoder.points
            )));
        }
        let values = lines
            .origins
            .iter()
            .chain(&lines.directions)
            .chain(&lines.t);
        if let Some(bad) = values.into_iter().find(|v| !v.is_finite()) {
            return Err(GpuError::InvalidInput(format!(
                "line value {bad} is not finite"
            )));
        }
        Ok(())
    }

    /// Encodes `x` (exactly `session.rows()` images) and decodes each at its posterior mean, in
    /// one submit: the posterior and the reconstruction of a drawing come back together.
    pub fn request_encode_and_reconstruct(
        &self,
        session: &Inference,
        x: &[f32],
    ) -> Result<(PosteriorRead, ImageRead), GpuError> {
        self.check_request(session, x, self.config.sizes.input, "pixel images")?;
        if let Some(bad) = x.iter().find(|v| !v.is_finite()) {
            return Err(GpuError::InvalidInput(format!(
                "pixel value {bad} is not finite"
            )));
        }
        let a = &session.activations;
        let device = &self.context.device;
        self.context
            .queue
            .write_buffer(&a.x, 0, bytemuck::cast_slice(x));
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("encode and reconstruct"),
        });
        self.record_reconstruction(session, &mut encoder);
        let heads = session.heads_reads.take(device);
        encoder.copy_buffer_to_buffer(&a.heads, 0, &heads, 0, a.heads.size());
        let images = session.image_reads.take(device);
        encoder.copy_buffer_to_buffer(&a.logits, 0, &images, 0, a.logits.size());
        self.context.queue.submit([encoder.finish()]);
        Ok((
            PosteriorRead {
                read: PendingRead::start(&self.context, heads, Some(&session.heads_reads)),
                latent: self.config.sizes.latent,
            },
            ImageRead(PendingRead::start(
                &self.context,
                images,
                Some(&session.image_reads),
            )),
        ))
    }
}
