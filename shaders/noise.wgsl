// noise.wgsl: shared by kernels that draw Gaussian noise (prepended to them at pipeline creation).
//
// A counter-based generator: every value is a pure function of (seed, step, counter), so nothing is
// uploaded per step, any draw can be recomputed (the backward pass and the CPU reference do), and
// a run is reproducible on every device. Hash: PCG-RXS-M-XS 32 (Jarzynski & Olano, "Hash Functions
// for GPU Rendering", JCGT 2020), chained over the key's words. Normal: Box–Muller (cosine branch)
// from two 24-bit uniforms, u1 ∈ (0, 1] (so the log is finite) and u2 ∈ [0, 1).
// Mirrored bit for bit in crates/vae-reference/src/noise.rs.
// Tested by: crates/vae-gpu/tests/step_kernels.rs,
//   reparameterize_draws_the_reference_noise_and_matches_z_and_kl (against vae-reference's noise,
//   bit for bit).

fn pcg_hash(input: u32) -> u32 {
    let state = input * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn noise_hash(seed: vec2<u32>, step: u32, counter: u32) -> u32 {
    return pcg_hash(seed.x ^ pcg_hash(seed.y ^ pcg_hash(step ^ pcg_hash(counter))));
}

// Standard normal number `element` of step `step` for `seed` (low, high words).
fn standard_normal(seed: vec2<u32>, step: u32, element: u32) -> f32 {
    let u1 = (f32(noise_hash(seed, step, 2u * element) >> 8u) + 1.0) / 16777216.0;
    let u2 = f32(noise_hash(seed, step, 2u * element + 1u) >> 8u) / 16777216.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
