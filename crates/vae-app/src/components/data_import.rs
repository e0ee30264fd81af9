//! Bringing one's own images: a drop zone and file and folder pickers, then the options with a
//! live preview of exactly what the model will see (the first images turned to ink, resized and
//! binarized as the import will), then the import's progress, and what came of it.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use mnist_shard::import::{Binarize, DecodedImage, ImportOptions};

use crate::datasets::files::from_input;
use crate::datasets::{DataSets, Importing, OptionsForm};
use crate::draw::{draw_images, DigitGrid};

/// The preview's values: each image as the model will see it (binarized, one epoch's draw, or
/// grey levels), in [0, 1].
fn as_the_model_sees(images: &[Arc<DecodedImage>], options: &ImportOptions) -> Vec<f32> {
    images
        .iter()
        .enumerate()
        .flat_map(|(index, image)| {
            options
                .shrink(image)
                .into_iter()
                .enumerate()
                .map(move |(value, ink)| {
                    let on = match options.binarize {
                        Binarize::Threshold(level) => ink >= level,
                        Binarize::Sample => mnist_shard::build::binarize(
                            ink,
                            options.seed,
                            0,
                            index as u64,
                            value as u64,
                        ),
                        Binarize::EachEpoch => mnist_shard::draw::draw_bit(
                            ink,
                            options.seed,
                            1,
                            index as u32,
                            value as u32,
                        ),
                        Binarize::Keep => return f32::from(ink) / 255.0,
                    };
                    f32::from(u8::from(on))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[component]
pub fn ImportPanel(sets: DataSets) -> impl IntoView {
    let pick = move |event: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&event);
        if let Some(list) = input.files() {
            sets.stage(from_input(&list));
        }
        // The same files may be chosen again after a cancel.
        input.set_value("");
    };
    let running = move || matches!(sets.importing.get(), Importing::Running(_));
    view! {
        <div id="data-import">
            <h3>"Bring your own images"</h3>
            <div id="data-drop" class="drop-zone">
                <p>
                    "Drop images (PNG, JPEG, WebP, GIF, BMP), a folder, a .zip, MNIST's IDX files or NumPy \
                     .npy/.npz arrays anywhere on the page, or "
                    <label class="file-button">
                        "choose files"
                        <input type="file" id="data-files" multiple on:change=pick disabled=running />
                    </label>
                    " or "
                    <label class="file-button">
                        "a folder"
                        <input type="file" id="data-folder" prop:webkitdirectory=true on:change=pick disabled=running />
                    </label>
                    ". Sub-folders become classes, which colour the latent map."
                </p>
            </div>
            {move || match sets.importing.get() {
                Importing::Nothing => None,
                Importing::Staged { files, preview } => Some(view! { <StagedImport sets files preview /> }.into_any()),
                Importing::Running(progress) => {
                    let status = format!(
                        "{} of {} files read: {} images, {} skipped",
                        progress.files_done, progress.files, progress.images, progress.skipped
                    );
                    Some(
                        view! {
                            <div class="import-running">
                                <progress
                                    id="import-progress"
                                    aria-label="importing"
                                    max=progress.files.max(1).to_string()
                                    value=progress.files_done.to_string()
                                ></progress>
                                <p id="import-status">{status}</p>
                                <button id="import-cancel" on:click=move |_| sets.cancel()>"Cancel"</button>
                            </div>
                        }
                            .into_any(),
                    )
                }
            }}
            {move || {
                sets.said.get().map(|(error, text)| {
                    if error {
                        view! { <p id="import-said" class="error-text" role="alert">{text}</p> }.into_any()
                    } else {
                        view! { <p id="import-said" role="status">{text}</p> }.into_any()
                    }
                })
            }}
        </div>
    }
}

/// Files chosen: the options, the preview drawn with them, Import and Cancel.
#[component]
fn StagedImport(sets: DataSets, files: usize, preview: Vec<Arc<DecodedImage>>) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let form = sets.form;
    let shown = preview.len();
    let preview = StoredValue::new_local(preview);
    let problem = move || form.with(OptionsForm::parse).err();
    Effect::new(move |_| {
        let parsed = form.with(OptionsForm::parse);
        let (Some(canvas), Ok(options)) = (canvas.get(), parsed) else {
            return;
        };
        preview.with_value(|images| {
            if images.is_empty() {
                return;
            }
            let values = as_the_model_sees(images, &options);
            let shape = crate::draw::ImageShape {
                width: options.width,
                height: options.height,
                channels: options.encoding().channels.into(),
            };
            draw_images(&canvas, &values, DigitGrid::new(1, images.len()), shape);
        });
    });
    let text = move |get: fn(&OptionsForm) -> String, set: fn(&mut OptionsForm, String)| {
        (
            move || form.with(get),
            move |event: leptos::ev::Event| {
                let value = event_target_value(&event);
                form.update(|f| set(f, value));
            },
        )
    };
    let (width, on_width) = text(|f| f.width.clone(), |f, v| f.width = v);
    let (height, on_height) = text(|f| f.height.clone(), |f, v| f.height = v);
    let (threshold, on_threshold) = text(|f| f.threshold.clone(), |f, v| f.threshold = v);
    let (test, on_test) = text(|f| f.test_percent.clone(), |f, v| f.test_percent = v);
    let (seed, on_seed) = text(|f| f.seed.clone(), |f, v| f.seed = v);
    let (name, on_name) = text(|f| f.name.clone(), |f, v| f.name = v);
    let chosen = if files == 1 {
        "1 file chosen".to_string()
    } else {
        format!("{files} files chosen")
    };
    let caption = if shown == 0 {
        format!("{chosen}; no image among the first to preview (arrays show once imported).")
    } else {
        format!("{chosen}. The first {shown} images, exactly as the model will see them:")
    };
    view! {
        <form id="import-form" class="import-form" on:submit=move |e: leptos::ev::SubmitEvent| { e.prevent_default(); sets.run(); }>
            <p class="caption" id="import-caption">{caption}</p>
            <canvas node_ref=canvas id="import-preview" class="digits import-preview" width="28" height="28" role="img" aria-label="the first images as the model will see them"></canvas>
            <div class="import-options">
                <label>"Width " <input id="import-width" type="number" min="1" max="64" prop:value=width on:input=on_width /></label>
                <label>"Height " <input id="import-height" type="number" min="1" max="64" prop:value=height on:input=on_height /></label>
                <label>
                    "Shape "
                    <select id="import-fit" on:change=move |e| { let crop = event_target_value(&e) == "crop"; form.update(|f| f.crop = crop); }>
                        <option value="fit" selected=move || !form.with(|f| f.crop)>"fit inside"</option>
                        <option value="crop" selected=move || form.with(|f| f.crop)>"centre-crop"</option>
                    </select>
                </label>
                <label>
                    <input id="import-invert" type="checkbox" prop:checked=move || form.with(|f| f.invert)
                        on:change=move |e| { let on = event_target_checked(&e); form.update(|f| f.invert = on); } />
                    " dark strokes on light paper (invert)"
                </label>
                <label>
                    <input id="import-colour" type="checkbox" prop:checked=move || form.with(|f| f.colour)
                        on:change=move |e| { let on = event_target_checked(&e); form.update(|f| f.colour = on); } />
                    " colour (red, green and blue, not grey)"
                </label>
                <label>
                    "Pixels "
                    <select id="import-binarize" on:change=move |e| { let how = event_target_value(&e); form.update(|f| f.binarize = how); }>
                        {[
                            ("threshold", "binarised at a threshold"),
                            ("sample", "binarised once, ink as probability"),
                            ("epoch", "binarised afresh each epoch"),
                            ("keep", "grey levels kept"),
                        ]
                            .map(|(value, text)| view! {
                                <option value=value selected=move || form.with(|f| f.binarize == value)>{text}</option>
                            })}
                    </select>
                </label>
                <label>"Threshold (0-255) " <input id="import-threshold" type="number" min="0" max="255" prop:value=threshold on:input=on_threshold disabled=move || form.with(|f| f.binarize != "threshold") /></label>
                <label>"Test share % " <input id="import-test" type="number" min="0" max="99" step="any" prop:value=test on:input=on_test /></label>
                <label>"Seed " <input id="import-seed" type="number" min="0" prop:value=seed on:input=on_seed /></label>
                <label>"Name " <input id="import-name" type="text" prop:value=name on:input=on_name /></label>
            </div>
            {move || problem().map(|p| view! { <p class="error-text" id="import-problem">{p}</p> })}
            <div class="import-actions">
                <button id="import-run" type="submit" disabled=move || problem().is_some()>
                    {if files == 1 { "Import it".to_string() } else { format!("Import {files} files") }}
                </button>
                <button id="import-cancel" type="button" on:click=move |_| sets.cancel()>"Cancel"</button>
            </div>
        </form>
    }
}
