//! The Proofup portal (Leptos, client-side rendered).
//!
//! - `api`: typed JSON client over gloo-net; every failure becomes a shared `ApiError`.
//! - `pages`: one module per route.
//! - `components`: layout and small reusable pieces.
//! - `session`: who is signed in (`SessionCtx`) and the role checks made with it.
//! - `logic`: pure helpers, unit-tested on the host.
//!
//! Built twice (see `proofup_shared::portal`): with the `admin` feature, every page
//! (`admin.html`); without it, the everyday bundle (`index.html`), where what only the
//! administrators' pages use is dead code.
#![cfg_attr(not(feature = "admin"), allow(dead_code, unused_imports))]

mod api;
mod app;
mod components;
mod logic;
mod pages;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    #[cfg(feature = "admin")]
    session::admin_bundle_started();
    leptos::mount::mount_to_body(app::App);
}
