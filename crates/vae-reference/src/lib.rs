//! A plain CPU implementation of the VAE's math, written for clarity rather than speed.
//!
//! Every GPU kernel in `vae-gpu` is checked against the function here that computes the same
//! thing. Matrices are row-major `f32` slices; weights use PyTorch's `nn.Linear` layout
//! `[outputs, inputs]`, so a checkpoint maps onto them without transposes.

pub mod adam;
pub mod dense;
pub mod importance;
pub mod init;
pub mod latent;
pub mod layout;
pub mod model;
pub mod noise;
pub mod rng;

pub use adam::{adam_step, AdamConfig};
pub use dense::{dense_forward, Activation};
pub use init::init_params;
pub use layout::{Layer, Layout, Sizes, Tensor};
pub use model::{backward, backward_weighted, forward, Forward};
pub use rng::SplitMix64;
