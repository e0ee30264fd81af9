#![no_main]
//! See `vae_fuzz::archive` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| vae_fuzz::archive(data));
