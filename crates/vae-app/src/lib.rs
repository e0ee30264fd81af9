//! The VAE lab in the browser. `index.html` at the workspace root is trunk's entry; `main.rs` is
//! the page's start. It holds no math: everything numeric happens in `vae-gpu` (and, for checks,
//! `vae-reference`).
//!
//! A library as well as the page so that what the page parses from outside (the link's fragment,
//! the settings form, a stored curve) can be fuzzed natively.

mod app;
mod components;
mod data;
mod datasets;
mod draw;
mod fetch;
mod lab;
mod lab_types;
pub mod link;
mod persist;
mod scatter;
pub mod settings;
mod start;
mod tasks;

pub use persist::unflatten_curve;

/// Mounts the lab into the page's `#app` (after the shell of its first screen, which goes when
/// the lab opens), or into the body of a page without one.
pub fn run() {
    // A Rust panic should say what happened in the console rather than "unreachable executed".
    console_error_panic_hook::set_once();
    // The shell (title, digit, sliders, Train) is painted first: building the lab is the page's
    // longest task, and ahead of the first paint it would hold the largest paint back with it.
    wasm_bindgen_futures::spawn_local(async {
        tasks::after_next_paint().await;
        mount();
    });
}

fn mount() {
    use wasm_bindgen::JsCast;
    let app = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id("app"))
        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
    let Some(app) = app else {
        return leptos::mount::mount_to_body(app::App);
    };
    leptos::mount::mount_to(app.clone(), app::App).forget();
    // The shell moves to the top of the app's <main>, where the lab will be: where it already
    // is on the screen, so the main around it does not move in when the shell goes.
    let shell = app.query_selector("#lab-shell").ok().flatten();
    let main = app.query_selector("main").ok().flatten();
    if let (Some(shell), Some(main)) = (shell, main) {
        let _ = main.prepend_with_node_1(&shell);
    }
}
