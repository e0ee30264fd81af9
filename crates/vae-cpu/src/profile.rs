//! Where a training step's time goes: each part of the step timed alone on the default model's
//! shapes, with a clock the caller gives (`Instant` natively, `performance.now()` in a page).
//! `cargo run --release -p vae-cpu --example phases` prints it natively; the page's
//! `?bench=cpu` in the browser.

use vae_model::VaeConfig;
use vae_reference::{Layout, SplitMix64};

use crate::gemm::{transpose, Epilogue, Gemm, Lhs};
use crate::math::{adam, bce_row};
use crate::params::CpuLayout;
use crate::step::{Batch, Workspace};

/// One part of the step and its time.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: &'static str,
    pub ms: f64,
}

/// Each part of a step of the default model (784-500-20, batch 128), `repeats` times each.
pub fn step_phases(now: &dyn Fn() -> f64, repeats: u32) -> Vec<Phase> {
    let config = VaeConfig::default();
    let s = config.sizes;
    let (b, i, h, l) = (config.batch as usize, s.input, s.hidden, s.latent);
    let layout = CpuLayout::new(s);
    let packed = Layout::new(s);
    let mut params = layout.from_reference(&packed, &vae_reference::init_params(&packed, 1));
    let mut rng = SplitMix64::new(2);
    let mut values = |n: usize| rng.uniform_vec(n, -1.0, 1.0);
    let (h2, d_logits, z, out_t) = (values(b * h), values(b * i), values(b * l), values(i * h));
    let x: Vec<f32> = values(b * i)
        .iter()
        .map(|&v| f32::from(u8::from(v > 0.73)))
        .collect();
    let mut batch = Batch::default();
    batch.from_values(&x, i);
    let mut work = Workspace::new(&layout, b);
    let mut gemm = Gemm::default();
    let mut c = vec![0.0f32; b * i.max(h) * 4];
    let (mut grads, mut m, mut v) = (
        values(layout.len()),
        vec![0.0; layout.len()],
        vec![0.0; layout.len()],
    );
    let mut phases = Vec::new();
    let mut time = |name: &'static str, f: &mut dyn FnMut()| {
        f();
        let started = now();
        for _ in 0..repeats {
            f();
        }
        phases.push(Phase {
            name,
            ms: (now() - started) / f64::from(repeats.max(1)),
        });
    };
    let w_out = params[layout.out.clone()].to_vec();
    time("logits = h₂·W (128×784×500)", &mut || {
        gemm.run(
            (b, i, h),
            Lhs::rows(&h2, h),
            &w_out,
            &mut c,
            Epilogue::Store,
        )
    });
    time("dW = h₂ᵀ·dl (500×784×128)", &mut || {
        gemm.run(
            (h, i, b),
            Lhs::transposed(&h2, h),
            &d_logits,
            &mut c,
            Epilogue::Store,
        )
    });
    time("dh₂ = dl·Wᵀ (128×500×784)", &mut || {
        gemm.run(
            (b, h, i),
            Lhs::rows(&d_logits, i),
            &out_t,
            &mut c,
            Epilogue::Store,
        )
    });
    let dec1 = params[layout.dec1.clone()].to_vec();
    time(
        "the small products (heads, decoder's first layer; ×6)",
        &mut || {
            let heads = &w_out[..h * 2 * l];
            gemm.run(
                (b, 2 * l, h),
                Lhs::rows(&h2, h),
                heads,
                &mut c,
                Epilogue::Store,
            );
            gemm.run(
                (h, 2 * l, b),
                Lhs::transposed(&h2, h),
                &d_logits[..b * 2 * l],
                &mut c,
                Epilogue::Store,
            );
            gemm.run(
                (b, h, 2 * l),
                Lhs::rows(&d_logits[..b * 2 * l], 2 * l),
                &out_t[..2 * l * h],
                &mut c,
                Epilogue::Store,
            );
            gemm.run((b, h, l), Lhs::rows(&z, l), &dec1, &mut c, Epilogue::Store);
            gemm.run(
                (l, h, b),
                Lhs::transposed(&z, l),
                &h2,
                &mut c,
                Epilogue::Store,
            );
            gemm.run(
                (b, l, h),
                Lhs::rows(&h2, h),
                &out_t[..h * l],
                &mut c,
                Epilogue::Store,
            );
        },
    );
    let enc1_params = params.clone();
    time("first layer, sparse forward", &mut || {
        work.encode_hidden(&layout, &enc1_params, &batch)
    });
    time("loss and its gradient (100,352 pixels)", &mut || {
        let mut logits = d_logits.clone();
        for r in 0..b {
            bce_row(
                &mut logits[r * i..(r + 1) * i],
                &x[r * i..(r + 1) * i],
                1.0 / b as f32,
            );
        }
    });
    time("transpose W_out (392,000)", &mut || {
        transpose(&w_out, h, i, &mut c)
    });
    let grads_copy = grads.clone();
    time("Adam (816,000 parameters)", &mut || {
        adam(&config.adam, 1, &mut params, &grads_copy, &mut m, &mut v)
    });
    time("forward and backward, whole (Adam apart)", &mut || {
        work.eps[..b * l].copy_from_slice(&z[..b * l]);
        work.train(&layout, &enc1_params, &batch, (1.0, batch.rows), &mut grads);
    });
    phases
}
