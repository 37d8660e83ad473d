//! Proofup as an OpenID Connect provider: the applications that sign in through it
//! ([`applications`]) and the keys that sign their ID tokens ([`keys`]). The protocol's pure
//! rules live in `domain::oidc`; the HTTP endpoints in `http::oidc`.

pub mod applications;
pub mod keys;
pub mod logout;
pub mod signin;
pub mod token;
