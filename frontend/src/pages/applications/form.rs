//! The settings form shared by registering and editing an application.

use leptos::prelude::*;
use proofup_shared::apps::{ApplicationRequest, ApplicationView, ClientKind, SCOPES};
use proofup_shared::directory::{DirectoryRef, MemberKind};
use proofup_shared::ApiError;

use crate::components::field::field_error;
use crate::components::picker::DirectoryPicker;

/// Every setting of the form, as signals (Copy, so closures take it whole).
#[derive(Clone, Copy)]
pub struct AppForm {
    pub name: RwSignal<String>,
    pub kind: RwSignal<ClientKind>,
    pub redirect_uris: RwSignal<String>,
    pub logout_uris: RwSignal<String>,
    pub scopes: RwSignal<Vec<String>>,
    pub access_minutes: RwSignal<String>,
    pub refresh_tokens: RwSignal<bool>,
    pub refresh_days: RwSignal<String>,
    pub enabled: RwSignal<bool>,
    pub assignment_required: RwSignal<bool>,
    pub assigned: RwSignal<Vec<DirectoryRef>>,
    pub require_mfa: RwSignal<bool>,
    pub service_access: RwSignal<bool>,
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

impl AppForm {
    pub fn new() -> Self {
        Self {
            name: RwSignal::new(String::new()),
            kind: RwSignal::new(ClientKind::Confidential),
            redirect_uris: RwSignal::new(String::new()),
            logout_uris: RwSignal::new(String::new()),
            scopes: RwSignal::new(["openid", "profile", "email"].map(String::from).to_vec()),
            access_minutes: RwSignal::new("10".into()),
            refresh_tokens: RwSignal::new(false),
            refresh_days: RwSignal::new("30".into()),
            enabled: RwSignal::new(true),
            assignment_required: RwSignal::new(false),
            assigned: RwSignal::new(Vec::new()),
            require_mfa: RwSignal::new(false),
            service_access: RwSignal::new(false),
        }
    }

    pub fn fill(&self, a: &ApplicationView) {
        self.name.set(a.name.clone());
        self.kind.set(a.kind);
        self.redirect_uris.set(a.redirect_uris.join("\n"));
        self.logout_uris.set(a.post_logout_redirect_uris.join("\n"));
        self.scopes.set(a.scopes.clone());
        self.access_minutes.set(a.access_token_minutes.to_string());
        self.refresh_tokens.set(a.refresh_tokens);
        self.refresh_days.set(a.refresh_token_days.to_string());
        self.enabled.set(a.enabled);
        self.assignment_required.set(a.assignment_required);
        self.assigned.set(a.assigned.clone());
        self.require_mfa.set(a.require_mfa);
        self.service_access.set(a.service_access);
    }

    /// The request the form describes. A number that does not parse is sent as 0, which the
    /// server refuses at its field.
    pub fn request(&self) -> ApplicationRequest {
        let assigned = self.assigned.get_untracked();
        let ids = |k: MemberKind| assigned.iter().filter(|r| r.kind == k).map(|r| r.id.clone()).collect();
        ApplicationRequest {
            name: self.name.get_untracked(),
            kind: self.kind.get_untracked(),
            redirect_uris: lines(&self.redirect_uris.get_untracked()),
            post_logout_redirect_uris: lines(&self.logout_uris.get_untracked()),
            scopes: self.scopes.get_untracked(),
            access_token_minutes: self.access_minutes.get_untracked().trim().parse().unwrap_or(0),
            refresh_tokens: self.refresh_tokens.get_untracked(),
            refresh_token_days: self.refresh_days.get_untracked().trim().parse().unwrap_or(0),
            enabled: self.enabled.get_untracked(),
            assignment_required: self.assignment_required.get_untracked(),
            assigned_users: ids(MemberKind::User),
            assigned_groups: ids(MemberKind::Group),
            require_mfa: self.require_mfa.get_untracked(),
            service_access: self.service_access.get_untracked()
                && self.kind.get_untracked() == ClientKind::Confidential,
        }
    }
}

/// A message under a control, from the server's field errors.
fn under(error: RwSignal<Option<ApiError>>, field: &'static str, id: &'static str) -> impl IntoView {
    let msg = field_error(error, field);
    move || msg.get().map(|m| view! { <p class="field-error" id=id>{m}</p> })
}

/// The settings. `creating` offers the kind (fixed once registered) and hides Enabled.
#[component]
pub fn AppFields(form: AppForm, error: RwSignal<Option<ApiError>>, creating: bool, editable: bool) -> impl IntoView {
    let f = form;
    let scope_help = |s: &str| match s {
        "openid" => "sign-in (required)",
        "profile" => "name and username",
        "email" => "email address",
        "groups" => "group names, nested groups included",
        _ => "refresh tokens that outlive the sign-in",
    };
    view! {
        <fieldset class="app-fields" disabled=!editable>
            <div class="field" class:field-invalid=move || field_error(error, "name").get().is_some()>
                <label for="app-name">"Name"</label>
                <input id="app-name" prop:value=move || f.name.get() on:input=move |ev| f.name.set(event_target_value(&ev))
                    aria-describedby="app-name-error"/>
                {under(error, "name", "app-name-error")}
            </div>
            {creating.then(|| view! {
                <fieldset class="field">
                    <legend>"Kind"</legend>
                    <label class="check">
                        <input type="radio" name="app-kind" prop:checked=move || f.kind.get() == ClientKind::Confidential
                            on:change=move |_| f.kind.set(ClientKind::Confidential)/>
                        " Web application with a server (confidential: gets a client secret)"
                    </label>
                    <label class="check">
                        <input type="radio" name="app-kind" prop:checked=move || f.kind.get() == ClientKind::Public
                            on:change=move |_| f.kind.set(ClientKind::Public)/>
                        " Single-page or native app (public: no secret, PKCE required)"
                    </label>
                </fieldset>
            })}
            <div class="field" class:field-invalid=move || field_error(error, "redirect_uris").get().is_some()>
                <label for="app-redirects">"Redirect URIs"</label>
                <textarea id="app-redirects" rows="3" aria-describedby="app-redirects-hint app-redirects-error"
                    prop:value=move || f.redirect_uris.get() on:input=move |ev| f.redirect_uris.set(event_target_value(&ev))></textarea>
                <p class="hint" id="app-redirects-hint">"One per line, matched exactly. https, or http only for localhost."</p>
                {under(error, "redirect_uris", "app-redirects-error")}
            </div>
            <div class="field" class:field-invalid=move || field_error(error, "post_logout_redirect_uris").get().is_some()>
                <label for="app-logout">"Sign-out redirect URIs (optional)"</label>
                <textarea id="app-logout" rows="2" aria-describedby="app-logout-error"
                    prop:value=move || f.logout_uris.get() on:input=move |ev| f.logout_uris.set(event_target_value(&ev))></textarea>
                {under(error, "post_logout_redirect_uris", "app-logout-error")}
            </div>
            <fieldset class="field">
                <legend>"Scopes it may ask for"</legend>
                {SCOPES.iter().map(|s| {
                    let s = *s;
                    view! {
                        <label class="check">
                            <input type="checkbox" disabled=s == "openid"
                                prop:checked=move || f.scopes.with(|v| v.iter().any(|x| x == s))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    f.scopes.update(|v| {
                                        v.retain(|x| x != s);
                                        if on { v.push(s.to_owned()) }
                                    });
                                }/>
                            " " <code>{s}</code> <span class="muted">" — " {scope_help(s)}</span>
                        </label>
                    }
                }).collect_view()}
                {under(error, "scopes", "app-scopes-error")}
            </fieldset>
            <div class="field-row">
                <div class="field" class:field-invalid=move || field_error(error, "access_token_minutes").get().is_some()>
                    <label for="app-access">"Access tokens live (minutes)"</label>
                    <input id="app-access" type="number" min="1" max="60" prop:value=move || f.access_minutes.get()
                        on:input=move |ev| f.access_minutes.set(event_target_value(&ev))/>
                    {under(error, "access_token_minutes", "app-access-error")}
                </div>
                <div class="field" class:field-invalid=move || field_error(error, "refresh_token_days").get().is_some()>
                    <label for="app-refresh-days">"Refresh tokens live (days)"</label>
                    <input id="app-refresh-days" type="number" min="1" max="90" disabled=move || !f.refresh_tokens.get()
                        prop:value=move || f.refresh_days.get() on:input=move |ev| f.refresh_days.set(event_target_value(&ev))/>
                    {under(error, "refresh_token_days", "app-refresh-days-error")}
                </div>
            </div>
            <label class="check">
                <input type="checkbox" id="app-refresh" prop:checked=move || f.refresh_tokens.get()
                    on:change=move |ev| f.refresh_tokens.set(event_target_checked(&ev))/>
                " Issue refresh tokens (the app stays signed in without asking the user again)"
            </label>
            <label class="check">
                <input type="checkbox" id="app-require-mfa" prop:checked=move || f.require_mfa.get()
                    on:change=move |ev| f.require_mfa.set(event_target_checked(&ev))/>
                " Require MFA: users must use a second factor, and register one at once if they have none (no skip)"
            </label>
            <Show when=move || f.kind.get() == ClientKind::Confidential>
                <label class="check">
                    <input type="checkbox" id="app-service-access" prop:checked=move || f.service_access.get()
                        on:change=move |ev| f.service_access.set(event_target_checked(&ev))/>
                    " Service access: the app may get tokens for itself with its secret (client credentials; no user, never interrupted)"
                </label>
            </Show>
            <label class="check">
                <input type="checkbox" id="app-assignment" prop:checked=move || f.assignment_required.get()
                    on:change=move |ev| f.assignment_required.set(event_target_checked(&ev))/>
                " Only assigned users and groups may sign in"
            </label>
            <Show when=move || f.assignment_required.get()>
                <ul class="chips" aria-label="Assigned">
                    {move || f.assigned.get().into_iter().map(|r| {
                        let id = r.id.clone();
                        let what = if r.kind == MemberKind::Group { "Group" } else { "User" };
                        let label = r.name.clone();
                        view! {
                            <li class="chip">
                                <span class="badge">{what}</span> " " {label.clone()}
                                {editable.then(|| view! {
                                    <button type="button" class="chip-remove" aria-label=format!("Remove {label}")
                                        on:click=move |_| f.assigned.update(|v| v.retain(|x| x.id != id))>"×"</button>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {editable.then(|| view! {
                    <DirectoryPicker id="app-assign-picker" label="Assign users or groups"
                        on_pick=Callback::new(move |r: DirectoryRef| f.assigned.update(|v| if !v.iter().any(|x| x.id == r.id) { v.push(r) }))/>
                })}
                {under(error, "assigned_groups", "app-assigned-error")}
            </Show>
            {(!creating).then(|| view! {
                <label class="check">
                    <input type="checkbox" id="app-enabled" prop:checked=move || f.enabled.get()
                        on:change=move |ev| f.enabled.set(event_target_checked(&ev))/>
                    " Enabled (when off, nobody can sign in to it)"
                </label>
            })}
        </fieldset>
    }
}
