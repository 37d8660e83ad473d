pub mod later;
pub mod logs;
pub mod not_found;
pub mod overview;
pub mod set_password;
pub mod setup;
pub mod sign_in;
pub mod users;
