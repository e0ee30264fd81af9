// Where a training step's time goes, natively (VAE_CPU_PORTABLE=1: without AVX2 and FMA).
//   cargo run --release -p vae-cpu --example phases
use std::time::Instant;

fn main() {
    let start = Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    println!("{}", vae_cpu::simd_in_use());
    for phase in vae_cpu::profile::step_phases(&now, 20) {
        println!("{:<56} {:8.3} ms", phase.name, phase.ms);
    }
}
