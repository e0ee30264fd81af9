//! The data sets the lab can train on: the bundled MNIST and those the visitor brought (kept in
//! this browser), which one is in use, and bringing a new one (files staged, previewed with the
//! options, imported with progress). The page's data panel shows this; the lab only ever sees
//! the chosen data set's shard, through the page's [`ShardSlot`](crate::data::ShardSlot).

pub mod files;
pub mod import;
mod options;
pub mod store;

pub use options::OptionsForm;

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mnist_shard::import::DecodedImage;

use crate::data::{Preview, ShardBytes};
use files::PickedFile;

/// Which data set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataId {
    /// The bundled MNIST shard (downloaded when needed).
    Mnist,
    /// One of the visitor's, by its id in this browser.
    Stored(String),
}

/// A data set of the visitor's, ready to train on.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnSet {
    pub id: String,
    pub name: String,
    pub classes: Vec<String>,
    pub shard: ShardBytes,
    pub preview: Preview,
    /// Kept in this browser (false: the browser refused it, so it lasts this visit only).
    pub kept: bool,
}

impl OwnSet {
    pub fn from_stored(stored: store::StoredSet, kept: bool) -> Result<Self, String> {
        let shard = ShardBytes::new(stored.shard, &stored.name)?;
        let preview = shard.preview();
        Ok(Self {
            id: stored.id,
            name: stored.name,
            classes: stored.classes,
            shard,
            preview,
            kept,
        })
    }

    /// "1,234 training and 137 test images of 32×32, 3 classes (a, b, c)".
    pub fn summary(&self) -> String {
        use crate::data::grouped;
        let classes = match self.classes.len() {
            0 | 1 => String::new(),
            n => format!(", {n} classes ({})", self.classes.join(", ")),
        };
        let encoding = self.shard.encoding();
        let values = match (encoding.depth, encoding.drawn) {
            (1, _) => "binarised",
            (_, true) => "binarised afresh each epoch",
            _ => "grey levels",
        };
        format!(
            "{} training and {} test images of {}, {values}{classes}",
            grouped(self.shard.train_len() as u64),
            grouped(self.shard.test_len() as u64),
            self.shard.shape().describe(),
        )
    }
}

/// Where bringing a data set stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Importing {
    #[default]
    Nothing,
    /// Files chosen, waiting for the visitor's options and Import.
    Staged {
        files: usize,
        /// The first images, decoded as they are (the options apply when drawn).
        preview: Vec<std::sync::Arc<DecodedImage>>,
    },
    Running(import::Progress),
}

/// The page's data sets, as signals the panel and the app share (all `Copy`).
#[derive(Clone, Copy)]
pub struct DataSets {
    pub own: RwSignal<Vec<OwnSet>>,
    /// The one the lab trains on (or will, once it is in).
    pub current: RwSignal<DataId>,
    pub importing: RwSignal<Importing>,
    pub form: RwSignal<OptionsForm>,
    /// The last import's or removal's outcome: (is an error, text).
    pub said: RwSignal<Option<(bool, String)>>,
    staged: StoredValue<Vec<PickedFile>, LocalStorage>,
    cancel: StoredValue<Rc<Cell<bool>>, LocalStorage>,
}

impl DataSets {
    pub fn new() -> Self {
        Self {
            own: RwSignal::new(Vec::new()),
            current: RwSignal::new(DataId::Mnist),
            importing: RwSignal::new(Importing::Nothing),
            form: RwSignal::new(OptionsForm::new(String::new())),
            said: RwSignal::new(None),
            staged: StoredValue::new_local(Vec::new()),
            cancel: StoredValue::new_local(Rc::new(Cell::new(false))),
        }
    }

    /// The stored data sets and the selection, read at load; what could not be read is said.
    pub async fn load(self) {
        let mut problems = Vec::new();
        // No storage at all (a private window) is no error here: there is nothing to read, and
        // the model's autosave already says the page cannot keep anything.
        if let Ok((sets, unreadable)) = store::load_all().await {
            problems.extend(unreadable);
            let mut own = Vec::new();
            for stored in sets {
                let name = stored.name.clone();
                match OwnSet::from_stored(stored, true) {
                    Ok(set) => own.push(set),
                    Err(error) => problems.push(format!("{name}: {error}")),
                }
            }
            self.own.set(own);
        }
        if let Ok(Some(id)) = store::selected().await {
            if self
                .own
                .with_untracked(|own| own.iter().any(|s| s.id == id))
            {
                self.current.set(DataId::Stored(id));
            }
        }
        if !problems.is_empty() {
            self.said.set(Some((
                true,
                format!(
                    "Some data sets kept in this browser could not be read and are left out: {}.",
                    problems.join("; ")
                ),
            )));
        }
    }

    /// The chosen data set's shard, when it is one of the visitor's.
    pub fn own_shard(&self, id: &DataId) -> Option<ShardBytes> {
        match id {
            DataId::Mnist => None,
            DataId::Stored(id) => self
                .own
                .with_untracked(|own| own.iter().find(|s| &s.id == id).map(|s| s.shard.clone())),
        }
    }

    pub fn name_of(&self, id: &DataId) -> String {
        match id {
            DataId::Mnist => "MNIST".into(),
            DataId::Stored(id) => self.own.with_untracked(|own| {
                own.iter()
                    .find(|s| &s.id == id)
                    .map_or_else(|| "the data set".into(), |s| s.name.clone())
            }),
        }
    }

    /// Trains on `id` from now on (remembered in this browser).
    pub fn choose(self, id: DataId) {
        if self.current.get_untracked() == id {
            return;
        }
        self.current.set(id.clone());
        spawn_local(async move {
            let stored = match &id {
                DataId::Mnist => None,
                DataId::Stored(id) => Some(id.as_str()),
            };
            // Not remembered (a private window): the choice still holds for this visit.
            let _ = store::select(stored).await;
        });
    }

    /// Forgets one of the visitor's data sets (not the one in use).
    pub fn remove(self, id: String) {
        if self.current.get_untracked() == DataId::Stored(id.clone()) {
            return;
        }
        let name = self.name_of(&DataId::Stored(id.clone()));
        self.own.update(|own| own.retain(|s| s.id != id));
        spawn_local(async move {
            self.said.set(Some(match store::remove(&id).await {
                Ok(()) => (false, format!("Removed {name} from this browser.")),
                Err(error) => (true, format!("{name} could not be removed: {error}")),
            }));
        });
    }

    /// Files dropped or picked: staged, their first images decoded for the preview.
    pub fn stage(self, files: Vec<PickedFile>) {
        if matches!(self.importing.get_untracked(), Importing::Running(_)) {
            return self.said.set(Some((
                true,
                "An import is running: wait for it or cancel it first.".into(),
            )));
        }
        if files.is_empty() {
            return self
                .said
                .set(Some((true, "No files were dropped or chosen.".into())));
        }
        self.said.set(None);
        let name = suggested_name(&files);
        self.form.update(|form| form.name = name);
        let count = files.len();
        self.staged.set_value(files.clone());
        self.importing.set(Importing::Staged {
            files: count,
            preview: Vec::new(),
        });
        spawn_local(async move {
            let images = import::preview_images(&files, &worker_url()).await;
            if let Importing::Staged { files: staged, .. } = self.importing.get_untracked() {
                if staged == count {
                    self.importing.set(Importing::Staged {
                        files: count,
                        preview: images.into_iter().map(std::sync::Arc::new).collect(),
                    });
                    crate::draw::mark("import-preview");
                }
            }
        });
    }

    pub fn cancel(self) {
        self.cancel.with_value(|c| c.set(true));
        if matches!(self.importing.get_untracked(), Importing::Staged { .. }) {
            self.staged.set_value(Vec::new());
            self.importing.set(Importing::Nothing);
        }
    }

    /// Imports the staged files with the form's options; the new data set is kept in this
    /// browser and chosen. Whatever fails, the data sets and the model stay as they were.
    pub fn run(self) {
        let options = match self.form.with_untracked(OptionsForm::parse) {
            Ok(options) => options,
            Err(error) => {
                return self
                    .said
                    .set(Some((true, format!("Not imported: {error}."))))
            }
        };
        let name = self.form.with_untracked(|f| f.name.trim().to_string());
        let files = self.staged.get_value();
        let cancelled = Rc::new(Cell::new(false));
        self.cancel.set_value(Rc::clone(&cancelled));
        self.said.set(None);
        self.importing
            .set(Importing::Running(import::Progress::default()));
        spawn_local(async move {
            let started = crate::draw::now_ms();
            let progress = move |p| self.importing.set(Importing::Running(p));
            let result =
                import::import(&files, &options, &worker_url(), &progress, cancelled).await;
            let seconds = (crate::draw::now_ms() - started) / 1e3;
            self.importing.set(Importing::Nothing);
            self.staged.set_value(Vec::new());
            let collected = match result {
                Ok(collected) => collected,
                Err(error) => {
                    return self.said.set(Some((
                        true,
                        format!(
                            "Not imported: {error}. Your data sets and the model are unchanged."
                        ),
                    )))
                }
            };
            let id = format!("{}", js_sys::Date::now() as u64);
            let stored = store::StoredSet {
                id: id.clone(),
                name: name.clone(),
                classes: collected.classes.clone(),
                shard: collected.shard,
            };
            let kept = store::save(&stored).await;
            let set = match OwnSet::from_stored(stored, kept.is_ok()) {
                Ok(set) => set,
                Err(error) => {
                    return self
                        .said
                        .set(Some((true, format!("Not imported: {error}."))))
                }
            };
            let mut text = format!("Imported {name} in {seconds:.1} s: {}.", set.summary());
            if let Some((low, high)) = collected.mixed_sizes {
                text.push_str(&format!(
                    " The images were of mixed sizes, from {}×{} to {}×{}: all resized to {}×{}.",
                    low.0, low.1, high.0, high.1, options.width, options.height
                ));
            }
            if !collected.skipped.is_empty() {
                let count = collected.skipped.len();
                text.push_str(&format!(
                    " Skipped {count} file{}: {}{}.",
                    if count == 1 { "" } else { "s" },
                    collected
                        .skipped
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; "),
                    if collected.skipped.len() > 5 {
                        "; …"
                    } else {
                        ""
                    }
                ));
            }
            if let Err(error) = kept {
                text.push_str(&format!(
                    " It could not be kept in this browser ({error}): it lasts this visit only."
                ));
            }
            self.own.update(|own| own.push(set));
            self.said.set(Some((false, text)));
            crate::draw::mark("import-done");
            self.choose(DataId::Stored(id));
        });
    }
}

/// A name from what was brought: the folder or archive, else the first file and a count.
fn suggested_name(files: &[PickedFile]) -> String {
    let first = &files[0].path;
    let top = first.split('/').next().unwrap_or(first);
    let stem = top.rsplit_once('.').map_or(top, |(stem, _)| stem);
    if files.len() == 1 || first.contains('/') {
        stem.to_string()
    } else {
        format!("{stem} and {} more", files.len() - 1)
    }
}

/// The decoder's script, beside the page.
fn worker_url() -> String {
    format!("{}decode-worker.js", crate::lab::page_base())
}
