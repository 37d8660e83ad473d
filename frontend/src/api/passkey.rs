//! The browser's side of a passkey ceremony: `navigator.credentials.create()/get()`
//! with the server's JSON options (`PublicKeyCredential.parse*OptionsFromJSON`),
//! answered with `credential.toJSON()`.

use js_sys::{Function, Object, Promise, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> Result<JsValue, String> {
    Reflect::get(target, &JsValue::from_str(key)).map_err(|_| format!("The browser has no {key}."))
}

fn unsupported() -> String {
    "This browser cannot use passkeys. Use an up-to-date browser, or another method.".into()
}

/// Whether the browser can do passkey ceremonies with JSON options.
pub fn supported() -> bool {
    let Some(w) = web_sys::window() else { return false };
    get(&w, "PublicKeyCredential")
        .and_then(|p| get(&p, "parseCreationOptionsFromJSON"))
        .map(|f| f.is_function())
        .unwrap_or(false)
}

fn explain(e: JsValue) -> String {
    let name = get(&e, "name").ok().and_then(|n| n.as_string()).unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" => "The passkey request was cancelled or timed out. Try again.".into(),
        "InvalidStateError" => "This device already holds a passkey for your account.".into(),
        "SecurityError" => "Passkeys need this portal at its configured address (public URL).".into(),
        _ => {
            let msg = get(&e, "message").ok().and_then(|m| m.as_string()).unwrap_or_default();
            format!("The passkey could not be used ({name} {msg}).")
        }
    }
}

async fn ceremony(verb: &str, parser: &str, options: &serde_json::Value) -> Result<serde_json::Value, String> {
    if !supported() {
        return Err(unsupported());
    }
    let w: JsValue = web_sys::window().ok_or_else(unsupported)?.into();
    let pkc = get(&w, "PublicKeyCredential")?;
    let parse: Function = get(&pkc, parser)?.dyn_into().map_err(|_| unsupported())?;
    let json =
        JSON::parse(&options.to_string()).map_err(|_| "The server's passkey options are not JSON.".to_owned())?;
    let public_key = parse.call1(&pkc, &json).map_err(explain)?;
    let arg = Object::new();
    Reflect::set(&arg, &JsValue::from_str("publicKey"), &public_key).map_err(explain)?;
    let credentials = get(&get(&w, "navigator")?, "credentials")?;
    let call: Function = get(&credentials, verb)?.dyn_into().map_err(|_| unsupported())?;
    let promise: Promise = call.call1(&credentials, &arg).map_err(explain)?.dyn_into().map_err(|_| unsupported())?;
    let credential = JsFuture::from(promise).await.map_err(explain)?;
    if credential.is_null() || credential.is_undefined() {
        return Err("No passkey was chosen.".into());
    }
    let to_json: Function = get(&credential, "toJSON")?.dyn_into().map_err(|_| unsupported())?;
    let out = to_json.call0(&credential).map_err(explain)?;
    let text = JSON::stringify(&out).map_err(explain)?.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("The browser's answer is not JSON: {e}"))
}

/// Creates a passkey with the registration options; returns `PublicKeyCredential.toJSON()`.
pub async fn create(options: &serde_json::Value) -> Result<serde_json::Value, String> {
    ceremony("create", "parseCreationOptionsFromJSON", options).await
}

/// Signs with a passkey for the sign-in options; returns `PublicKeyCredential.toJSON()`.
pub async fn get_assertion(options: &serde_json::Value) -> Result<serde_json::Value, String> {
    ceremony("get", "parseRequestOptionsFromJSON", options).await
}
