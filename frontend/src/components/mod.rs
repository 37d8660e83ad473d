pub mod alert;
pub mod field;
pub mod pass;
pub mod picker;
pub mod shell;
pub mod totp_setup;
