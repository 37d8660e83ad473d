#![cfg_attr(test, allow(clippy::unwrap_used))]
//! Proofup server library: the binary in `main.rs` is a thin wrapper, and tests
//! build the same [`http::app`] against a real store in a temporary directory.

pub mod adapters;
pub mod cli;
pub mod config;
pub mod domain;
pub mod hashing;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod service;
pub mod store;
