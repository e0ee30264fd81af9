//! The VAE lab in the browser. `index.html` at the workspace root is trunk's entry; this crate is
//! the page. It holds no math: everything numeric happens in `vae-gpu` (and, for checks,
//! `vae-reference`).

mod app;
mod components;
mod data;
mod draw;
mod fetch;
mod lab;
mod link;
mod persist;
mod scatter;
mod settings;
mod start;

fn main() {
    // A Rust panic should say what happened in the console rather than "unreachable executed".
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
