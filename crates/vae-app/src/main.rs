//! The page's entry point (trunk builds this binary); the lab itself is the library.

fn main() {
    vae_app::run();
}
