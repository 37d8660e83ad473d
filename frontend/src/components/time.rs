//! A time on a page: in the browser's time zone to the minute, the exact UTC time in a tooltip
//! and in the element's `datetime`.

use leptos::prelude::*;
use time::OffsetDateTime;

use crate::logic::{format_time, utc_time};

#[component]
pub fn Time(at: OffsetDateTime) -> impl IntoView {
    let iso = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    view! { <time datetime=iso title=utc_time(at)>{format_time(at)}</time> }
}

/// [`Time`], or `none` when there is no time ("Never", "—").
#[component]
pub fn MaybeTime(at: Option<OffsetDateTime>, none: &'static str) -> impl IntoView {
    match at {
        Some(at) => view! { <Time at=at/> }.into_any(),
        None => none.into_any(),
    }
}
