//! The VAE lab in the browser. `index.html` at the workspace root is trunk's entry; `main.rs` is
//! the page's start. It holds no math: everything numeric happens in `vae-gpu` (and, for checks,
//! `vae-reference`).
//!
//! A library as well as the page so that what the page parses from outside (the link's fragment,
//! the settings form, a stored curve) can be fuzzed natively.

mod app;
mod components;
mod data;
mod draw;
mod fetch;
mod lab;
mod lab_types;
pub mod link;
mod persist;
mod scatter;
pub mod settings;
mod start;

pub use persist::unflatten_curve;

/// Mounts the lab into the page's body.
pub fn run() {
    // A Rust panic should say what happened in the console rather than "unreachable executed".
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
