//! Camera ids for models with a camera input (TransReID's side information embedding): one fixed id for every
//! image (`--camera`), else each image's Market-1501 name (`0001_c3s1_...` is camera 2: TransReID's
//! `camid -= 1`), checked against the model's camera table with the image named.

use anyhow::{Result, bail};
use reid_runtime::dataset::parse_market_name;
use reid_runtime::engine::ModelInfo;
use std::path::PathBuf;

/// The camera id of every path for `info`'s model: `None` for a model without a camera input (a `fixed` id is
/// then unused, with a warning); `fixed` for every path when given; else each file name's Market-1501 camera
/// minus one. A name that is not a Market-1501 name (without `fixed`) or an id outside the table is an error
/// naming the file.
pub fn camera_ids(info: &ModelInfo, paths: &[PathBuf], fixed: Option<i64>) -> Result<Option<Vec<i64>>> {
    let Some(camera) = &info.camera else {
        if let Some(id) = fixed {
            tracing::warn!(
                "--camera {id} is not used: {} has no camera input (it was exported without an SIE camera table)",
                info.path.display()
            );
        }
        return Ok(None);
    };
    let count = camera.count as i64;
    if let Some(id) = fixed {
        if !(0..count).contains(&id) {
            bail!(
                "--camera {id} is outside the {count} cameras (ids 0..{count}) of {}'s side information table",
                info.path.display()
            );
        }
        return Ok(Some(vec![id; paths.len()]));
    }
    let mut ids = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let id = match parse_market_name(name) {
            Ok(m) => m.sie_camera(),
            Err(e) => bail!(
                "{}: no camera for this image: {} takes a camera id per image (SIE table of {count} cameras) and \
                 the name is not a Market-1501 name ({e}); give --camera N (0-based) for every image",
                path.display(),
                info.path.display()
            ),
        };
        if !(0..count).contains(&id) {
            bail!(
                "{}: its Market-1501 camera c{} is SIE camera {id}, outside the {count} cameras (c1..c{count}) of {}",
                path.display(),
                id + 1,
                info.path.display()
            );
        }
        ids.push(id);
    }
    Ok(Some(ids))
}
