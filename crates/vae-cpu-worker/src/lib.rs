//! The CPU engine's Web Worker: the binaries trunk builds with `data-type="worker"`
//! (`src/bin/`), its entry point ([`entry`]: messages from the page and from the other worker),
//! the order it answers in and the two-worker shared step ([`queue`]), and the [`host`] that
//! answers each request with a `vae_cpu::CpuEngine`. It speaks `vae-worker`'s protocol and links
//! the CPU engine, not the page's client and no wgpu. Everything but the entry point is plain
//! Rust, tested natively.

pub mod entry;
pub mod host;
pub mod queue;
