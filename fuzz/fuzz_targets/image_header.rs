#![no_main]
//! See `vae_fuzz::image_header` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vae_fuzz::image_header(data));
