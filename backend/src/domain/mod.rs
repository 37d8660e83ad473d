//! Pure domain logic: no actix, no sled, no I/O. Time always comes from a [`clock::Clock`].
//!
//! Rules of this layer: it may import only `proofup_shared` and pure crates (time, serde, the
//! crypto primitives); never `store`, `service`, `http` or `cli`.

pub mod access;
pub mod clock;
pub mod login;
pub mod mail;
pub mod membership;
pub mod model;
pub mod names;
pub mod notify;
pub mod oidc;
pub mod password;
pub mod policy;
pub mod ratelimit;
pub mod records;
pub mod reset;
pub mod risk;
pub mod roles;
pub mod secretbox;
pub mod session;
pub mod setup;
pub mod signin;
pub mod tap;
pub mod throttle;
pub mod totp;
