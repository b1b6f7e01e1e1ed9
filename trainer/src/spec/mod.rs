//! The TAO experiment spec: the YAML file of NVIDIA TAO ReIdentificationNet (and its Transformer variant), read into
//! typed sections with every key of the documents' parameter tables.
//!
//! ```yaml
//! results_dir: /results/market
//! model:
//!   backbone: resnet_50
//!   input_height: 256
//! dataset:
//!   train_dataset_dir: /data/market1501/bounding_box_train
//! train:
//!   results_dir: "${results_dir}/train"
//!   optim:
//!     base_lr: 0.00035
//! ```
//!
//! - Keys that are absent take the tables' defaults; `train.results_dir`, `evaluate.results_dir`,
//!   `inference.results_dir` and `export.results_dir` default to `${results_dir}/train` (`/evaluate`, ...).
//! - Overrides as on TAO's command line: `train.optim.base_lr=0.01`, `dataset.pixel_mean=[0.5,0.5,0.5]`,
//!   `model.with_center_loss=True`, `results_dir=/tmp/x`; `~key` puts a key back to its default.
//! - `${results_dir}`, `${section.key}`, `${.sibling}` and `${oc.env:NAME}` are interpolated after the overrides.
//! - An unknown key, a value of the wrong type or out of range is an error naming the full key, the value and the
//!   file and line (or the override) it came from; keys that are valid but have no effect with the rest of the spec
//!   are listed by [`Spec::notes`].
//! - Python-style `True`/`False` are booleans; `neck: no` is the string `no` (the type of the field decides).
//! - Enum-valued keys are typed with the enums of the code that uses them (`dataset.sampler` is a
//!   [`SamplerKind`](crate::data::sampler::SamplerKind), `model.neck` a [`reid_models::Neck`], ...), read through
//!   their spellings in [`crate::choice`] (case-insensitive; the error lists the accepted names).
//! - TAO's other names `train.grad_clip` and `train.optim.warmup_iters` are read as `train.clip_grad_norm` and
//!   `train.optim.warmup_epochs`.

mod de;
mod error;
mod interpolate;
mod model;
mod overrides;
mod sections;
mod suggest;
mod tree;
mod validate;

pub use error::{Location, SpecError};
pub use model::{JPM_KEYS, ModelSection, TINY_VIT, VIT_KEYS};
pub use sections::{
    DatasetSection, EvaluateSection, ExportSection, InferenceSection, OptimSection, PretrainChoice, ReRankingSection,
    TrainSection,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tree::{Node, Value};

/// TAO's other names for keys, read as the key they stand for.
const ALIASES: [(&str, &str); 2] =
    [("train.grad_clip", "train.clip_grad_norm"), ("train.optim.warmup_iters", "train.optim.warmup_epochs")];

/// A whole experiment spec.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Spec {
    /// The folder where the experiment outputs are written; `${results_dir}` in other values refers to it.
    pub results_dir: Option<PathBuf>,
    /// TAO's key for encrypting `.tlt` models; accepted for compatibility and unused (nothing is encrypted).
    pub encryption_key: Option<String>,
    /// The configuration for the model architecture.
    pub model: ModelSection,
    /// The configuration for the dataset.
    pub dataset: DatasetSection,
    /// The configuration for the re-ranking module.
    pub re_ranking: ReRankingSection,
    /// The configuration for the training process.
    pub train: TrainSection,
    /// The configuration for evaluation.
    pub evaluate: EvaluateSection,
    /// The configuration for inference.
    pub inference: InferenceSection,
    /// The configuration for export.
    pub export: ExportSection,
    /// Where each key that the spec or an override set was given (dotted key -> location).
    #[serde(skip)]
    provenance: BTreeMap<String, Location>,
    /// Notes about aliases read.
    #[serde(skip)]
    alias_notes: Vec<String>,
}

impl PartialEq for Spec {
    /// Compares the values; where they were given does not matter.
    fn eq(&self, other: &Self) -> bool {
        self.results_dir == other.results_dir
            && self.encryption_key == other.encryption_key
            && self.model == other.model
            && self.dataset == other.dataset
            && self.re_ranking == other.re_ranking
            && self.train == other.train
            && self.evaluate == other.evaluate
            && self.inference == other.inference
            && self.export == other.export
    }
}

impl Spec {
    /// Reads a spec file and applies command-line overrides (`key=value`).
    pub fn load(path: &Path, overrides: &[String]) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io { path: path.to_owned(), source })?;
        Spec::parse(&text, &path.display().to_string(), overrides)
    }

    /// Reads a spec from YAML text; `origin` names it in messages (a file name). Then applies the overrides,
    /// interpolates `${...}`, fills defaults and validates.
    pub fn parse(text: &str, origin: &str, overrides: &[String]) -> Result<Spec, SpecError> {
        let origin: Arc<str> = Arc::from(origin);
        let start = Location::File { origin: origin.clone(), line: 1, column: 1 };
        let mut root = tree::parse(text, &origin)?.unwrap_or_else(|| Node::empty_map(start.clone()));
        if root.is_null() {
            root = Node::empty_map(start);
        }
        if !root.is_map() {
            let (line, column) = match &root.loc {
                Location::File { line, column, .. } => (*line, *column),
                Location::Override { .. } => (1, 1),
            };
            return Err(SpecError::Syntax {
                origin: origin.to_string(),
                line,
                column,
                message: format!(
                    "a spec is a mapping of sections (results_dir, model, dataset, ...), not {}",
                    root.describe()
                ),
            });
        }
        let schema = schema();
        let mut alias_notes = Vec::new();
        rename_aliases(&mut root, &mut alias_notes)?;
        check_keys(&root, &schema, "")?;
        for argument in overrides {
            let mut o = overrides::parse(argument)?;
            let dotted = o.path.join(".");
            if let Some((alias, canonical)) = ALIASES.iter().find(|(alias, _)| *alias == dotted) {
                o.path = canonical.split('.').map(str::to_owned).collect();
                alias_notes.push(format!("{alias} (in override `{argument}`) is read as {canonical}"));
            }
            check_override(&o.path, &schema, &o.loc)?;
            overrides::apply(&mut root, o);
        }
        interpolate::interpolate(&mut root, &schema)?;
        let mut spec: Spec = de::from_node(&root)?;
        let mut provenance = BTreeMap::new();
        root.walk(&mut String::new(), &mut |path, node| {
            if !path.is_empty() {
                provenance.insert(path.to_owned(), node.loc.clone());
            }
        });
        spec.provenance = provenance;
        spec.alias_notes = alias_notes;
        spec.fill_derived_defaults();
        if spec.encryption_key.is_some() {
            tracing::warn!("encryption_key is accepted for TAO compatibility but unused: nothing is encrypted");
        }
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every range and cross-key rule; the error names the key, its value and where it was given.
    pub fn validate(&self) -> Result<(), SpecError> {
        validate::validate(self)
    }

    /// Keys that are accepted but have no effect with the rest of the spec (e.g. "model.stride_size applies to ViT
    /// backbones only; ignored for resnet_50"), aliases read, and similar remarks, for the log.
    pub fn notes(&self) -> Vec<String> {
        validate::notes(self)
    }

    /// The network configuration of the `model` section with `num_classes` identities (the training split's, which
    /// should equal `dataset.num_classes`) and `cameras` SIE cameras (the training split's; used with
    /// `model.sie_camera`, see [`ModelSection::reid_config`]); errors carry the key's location in the spec.
    pub fn reid_config(&self, num_classes: usize, cameras: usize) -> Result<reid_models::ReidConfig, SpecError> {
        self.model.reid_config(num_classes, cameras).map_err(|e| {
            let found = e.key().and_then(|k| self.location(k));
            e.or_location(found)
        })
    }

    /// Where a key (dotted, e.g. `train.optim.base_lr`) was given, if the spec or an override set it.
    pub fn location(&self, key: &str) -> Option<&Location> {
        self.provenance.get(key)
    }

    /// Whether the spec file or an override set a key (rather than it taking its default).
    pub fn is_set(&self, key: &str) -> bool {
        self.provenance.contains_key(key)
    }

    /// Every key the spec accepts, dotted (`model.backbone`, `train.optim.base_lr`, ...).
    pub fn known_keys() -> Vec<String> {
        let mut keys = Vec::new();
        schema().walk(&mut String::new(), &mut |path, node| {
            if !path.is_empty() && !node.is_map() {
                keys.push(path.to_owned());
            }
        });
        keys
    }

    /// The resolved spec as YAML (interpolations done, defaults filled), to keep next to the results; parsing it
    /// gives this spec back.
    pub fn to_yaml(&self) -> Result<String, SpecError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| SpecError::Serialize(e.to_string()))?;
        let node = tree::parse(&json, &Arc::from("<resolved spec>"))?
            .ok_or_else(|| SpecError::Serialize("nothing to write".to_owned()))?;
        Ok(tree::emit(&node))
    }

    /// Writes [`to_yaml`](Spec::to_yaml) to a file.
    pub fn save(&self, path: &Path) -> Result<(), SpecError> {
        let yaml = self.to_yaml()?;
        std::fs::write(path, yaml).map_err(|source| SpecError::Io { path: path.to_owned(), source })
    }

    /// `train/evaluate/inference/export.results_dir` default to `${results_dir}/<section>`.
    fn fill_derived_defaults(&mut self) {
        let Some(root) = self.results_dir.clone() else { return };
        for (dir, name) in [
            (&mut self.train.results_dir, "train"),
            (&mut self.evaluate.results_dir, "evaluate"),
            (&mut self.inference.results_dir, "inference"),
            (&mut self.export.results_dir, "export"),
        ] {
            if dir.is_none() {
                *dir = Some(root.join(name));
            }
        }
    }
}

/// The tree of the defaults: every key the spec accepts.
fn schema() -> Node {
    let json = serde_json::to_string_pretty(&Spec::default()).expect("the default spec serializes");
    tree::parse(&json, &Arc::from("<defaults>")).expect("JSON is YAML").expect("a document")
}

/// Unknown keys of the user's tree, with a suggestion.
fn check_keys(user: &Node, schema: &Node, path: &str) -> Result<(), SpecError> {
    let Value::Map(entries) = &user.value else { return Ok(()) };
    for entry in entries {
        let key = tree::join(path, &entry.key);
        match schema.get(&entry.key) {
            None => {
                return Err(SpecError::UnknownKey {
                    suggestion: suggest(&entry.key, schema, path),
                    key,
                    location: Some(entry.key_loc.clone()),
                });
            }
            Some(sub) if sub.is_map() => check_keys(&entry.value, sub, &key)?,
            Some(_) => {}
        }
    }
    Ok(())
}

/// An override's key must exist.
fn check_override(path: &[String], schema: &Node, loc: &Location) -> Result<(), SpecError> {
    let mut node = schema;
    for (i, key) in path.iter().enumerate() {
        let parent = path[..i].join(".");
        match node.get(key) {
            Some(next) if i + 1 == path.len() || next.is_map() => node = next,
            _ => {
                return Err(SpecError::UnknownKey {
                    key: path.join("."),
                    location: Some(loc.clone()),
                    suggestion: suggest(key, node, &parent),
                });
            }
        }
    }
    Ok(())
}

/// A sibling key close to `key`, or the full path of a key of that name elsewhere.
fn suggest(key: &str, siblings: &Node, parent: &str) -> Option<String> {
    if let Some(s) = suggest::nearest(key, siblings.keys()) {
        return Some(s.to_owned());
    }
    let mut elsewhere = Vec::new();
    schema().walk(&mut String::new(), &mut |path, _| {
        let leaf = path.rsplit('.').next().unwrap_or(path);
        let parent_of = path.rsplit_once('.').map_or("", |(p, _)| p);
        if parent_of != parent && (leaf == key || suggest::edit_distance(leaf, key) <= 1) {
            elsewhere.push(path.to_owned());
        }
    });
    elsewhere.into_iter().next()
}

/// Renames TAO's other names of keys in the user's tree.
fn rename_aliases(root: &mut Node, notes: &mut Vec<String>) -> Result<(), SpecError> {
    for (alias, canonical) in ALIASES {
        let (parent, leaf) = alias.rsplit_once('.').expect("aliases are dotted");
        let canonical_leaf = canonical.rsplit_once('.').map_or(canonical, |(_, l)| l);
        let parent_path: Vec<&str> = parent.split('.').collect();
        let Some(Node { value: Value::Map(entries), .. }) = node_mut(root, &parent_path) else { continue };
        let Some(i) = entries.iter().position(|e| e.key == leaf) else { continue };
        if entries.iter().any(|e| e.key == canonical_leaf) {
            return Err(SpecError::Type {
                key: alias.to_owned(),
                message: format!("is TAO's other name for {canonical}, which is also given; keep one"),
                location: Some(entries[i].key_loc.clone()),
            });
        }
        entries[i].key = canonical_leaf.to_owned();
        notes.push(format!("{alias} is read as {canonical}"));
    }
    Ok(())
}

fn node_mut<'a>(node: &'a mut Node, path: &[&str]) -> Option<&'a mut Node> {
    path.iter().try_fold(node, |n, key| match &mut n.value {
        Value::Map(entries) => entries.iter_mut().find(|e| e.key == *key).map(|e| &mut e.value),
        _ => None,
    })
}
