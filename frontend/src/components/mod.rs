pub mod alert;
pub mod field;
pub mod shell;
