//! Choosing two directions of the latent space: the principal ones, or two latents.

use leptos::prelude::*;

use crate::lab::Axes;

#[component]
pub fn AxesPicker(
    id: &'static str,
    axes: RwSignal<Axes>,
    #[prop(into)] latent: Signal<usize>,
    /// Called after a change.
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let dimension_options = move |selected: usize| {
        (0..latent.get())
            .map(|d| {
                view! { <option value=d.to_string() selected=d == selected>{format!("z{}", d + 1)}</option> }
            })
            .collect_view()
    };
    let dims = move || match axes.get() {
        Axes::Dimensions(x, y) => Some((x, y)),
        Axes::Principal => None,
    };
    let set_dim = move |which: usize, value: String| {
        let Ok(d) = value.parse::<usize>() else {
            return;
        };
        if let Axes::Dimensions(x, y) = axes.get_untracked() {
            axes.set(if which == 0 {
                Axes::Dimensions(d, y)
            } else {
                Axes::Dimensions(x, d)
            });
            on_change();
        }
    };
    view! {
        <div class="axes-picker">
            <label for=format!("{id}-kind")>"Axes"</label>
            <select
                id=format!("{id}-kind")
                on:change=move |event| {
                    let latent = latent.get_untracked();
                    axes.set(match event_target_value(&event).as_str() {
                        "principal" => Axes::Principal,
                        _ => Axes::Dimensions(0, 1.min(latent.saturating_sub(1))),
                    });
                    on_change();
                }
            >
                <option value="principal" selected=move || dims().is_none() disabled=move || latent.get() < 2>
                    "principal directions"
                </option>
                <option value="dimensions" selected=move || dims().is_some()>"two latents"</option>
            </select>
            {move || dims().map(|(x, y)| view! {
                <label for=format!("{id}-x")>"x"</label>
                <select id=format!("{id}-x") on:change=move |event| set_dim(0, event_target_value(&event))>
                    {dimension_options(x)}
                </select>
                <label for=format!("{id}-y")>"y"</label>
                <select id=format!("{id}-y") on:change=move |event| set_dim(1, event_target_value(&event))>
                    {dimension_options(y)}
                </select>
            })}
        </div>
    }
}
