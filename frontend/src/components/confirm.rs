//! Asking before a destructive action: the browser's own dialog, modal and keyboard-accessible,
//! with the consequence spelled out by the caller.

/// True when the user accepted `message`.
pub fn confirm(message: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(message).ok()).unwrap_or(false)
}
