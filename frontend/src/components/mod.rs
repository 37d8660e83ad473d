pub mod alert;
pub mod field;
pub mod pass;
pub mod shell;
