//! The importance-weighted estimate L_K of log p(x) on the CPU (`vae_model::likelihood`): the
//! images encoded a batch at a time, their K draws decoded a workspace of rows at a time.

use std::ops::Range;

use mnist_shard::draw::EVALUATION_EPOCH;
use mnist_shard::Split;
use vae_model::evaluation_batching;
use vae_model::likelihood::{check_request, check_samples, importance_key};
use vae_reference::importance::log_mean_exp;
use vae_reference::noise::standard_normal;

use crate::engine::CpuVae;
use crate::math::{bce_sum, reparameterize_row};
use crate::CpuError;

impl CpuVae {
    /// Each image of `split[images]`'s L_K with `samples` draws (nats; negative).
    pub fn log_likelihoods(
        &mut self,
        split: &Split<'_>,
        images: Range<usize>,
        samples: u32,
    ) -> Result<Vec<f32>, CpuError> {
        check_samples(samples)?;
        let s = self.config.sizes;
        self.config.check_shape(vae_model::ImageShape::of(split))?;
        check_request(&images, split.len())?;
        let seed = self.config.seed;
        let batch = evaluation_batching(split.len(), self.config.batch).0 as u32;
        let (latent, input, k) = (s.latent, s.input, samples as usize);
        let (layout, params, work, gathered) = self.parts();
        let capacity = work.capacity().max(1);
        let mut out = Vec::with_capacity(images.len());
        let indices: Vec<u32> = images.map(|i| i as u32).collect();
        let mut heads = Vec::new();
        let mut x = Vec::new();
        // Per draw: log p(z) − log q(z|x) (or −KL at K = 1), then log w once decoded.
        let mut prior = vec![0.0f64; capacity];
        let mut log_w = Vec::with_capacity(k);
        let mut eps = vec![0.0f32; latent];
        for group in indices.chunks(capacity) {
            gathered.gather(split, group, EVALUATION_EPOCH);
            work.encode_hidden(layout, params, gathered);
            work.encode_heads(layout, params, group.len());
            heads.clear();
            heads.extend_from_slice(&work.heads[..group.len() * 2 * latent]);
            x.clear();
            x.extend_from_slice(&gathered.x[..group.len() * input]);
            let rows = group.len() * k;
            for block in (0..rows).step_by(capacity) {
                let block_rows = capacity.min(rows - block);
                for (r, prior) in prior[..block_rows].iter_mut().enumerate() {
                    let (i, draw) = ((block + r) / k, ((block + r) % k) as u32);
                    let (step, first) = importance_key(group[i], draw, batch, latent as u32);
                    for (j, e) in eps.iter_mut().enumerate() {
                        *e = standard_normal(seed, step, first + j as u32) as f32;
                    }
                    let head = &heads[i * 2 * latent..(i + 1) * 2 * latent];
                    let z = &mut work.z[r * latent..(r + 1) * latent];
                    let kl = reparameterize_row(head, &eps, z);
                    *prior = if k == 1 {
                        -kl
                    } else {
                        let logvar = &head[latent..];
                        -0.5 * (0..latent)
                            .map(|j| f64::from(z[j] * z[j] - eps[j] * eps[j] - logvar[j]))
                            .sum::<f64>()
                    };
                }
                work.decode(layout, params, block_rows);
                for (r, prior) in prior[..block_rows].iter().enumerate() {
                    let i = (block + r) / k;
                    let logits = &work.logits[r * input..(r + 1) * input];
                    log_w.push(prior - bce_sum(logits, &x[i * input..(i + 1) * input]));
                    if log_w.len() == k {
                        out.push(log_mean_exp(&log_w) as f32);
                        log_w.clear();
                    }
                }
            }
        }
        Ok(out)
    }
}
