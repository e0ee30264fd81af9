#![no_main]
//! See `vae_fuzz::saved_curve` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vae_fuzz::saved_curve(data));
