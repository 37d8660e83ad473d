#![cfg_attr(test, allow(clippy::unwrap_used))]
//! Types shared by the Proofup server and the browser portal.
//!
//! Everything here is serde data and pure validation: it compiles for the
//! host and for `wasm32-unknown-unknown`, and pulls in no I/O.

pub mod agent;
pub mod api;
pub mod apps;
pub mod auth;
pub mod common;
pub mod directory;
pub mod error;
pub mod mail;
pub mod mfa;
pub mod overview;
pub mod policy;
pub mod portal;
pub mod reset;
pub mod risk;
pub mod validation;
pub mod webhook;

pub use error::{ApiError, ErrorCode, FieldError};
