//! Sampled matches: one row per query, the query thumbnail then its top-k gallery thumbnails in rank order,
//! true matches framed green and false matches red (as TAO's `evaluate.output_sampled_matches_plot`).

use super::{PlotError, check_output, register_font};
use crate::Matrix;
use crate::metrics::Label;
use image::imageops::FilterType;
use image::{Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Thumbnail width in pixels (images are scaled to fit `THUMB_WIDTH x THUMB_HEIGHT`, aspect ratio kept).
pub const THUMB_WIDTH: u32 = 64;
/// Thumbnail height in pixels.
pub const THUMB_HEIGHT: u32 = 128;

/// One ranked gallery image of a [`MatchRow`].
#[derive(Clone, Debug, PartialEq)]
pub struct MatchThumb {
    /// The gallery image.
    pub path: PathBuf,
    /// True when it shows the query's identity (framed green; red otherwise).
    pub is_match: bool,
    /// Its distance to the query (printed under the thumbnail).
    pub distance: f32,
}

/// One row of the sampled-matches grid.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchRow {
    /// The query image.
    pub query: PathBuf,
    /// A short text printed under the query thumbnail (e.g. `pid 12 c3`); may be empty.
    pub caption: String,
    /// The gallery images in rank order, best first.
    pub gallery: Vec<MatchThumb>,
}

/// Everything [`sampled_matches_png`] draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SampledMatches {
    /// The title line.
    pub title: String,
    /// One row per sampled query, top to bottom.
    pub rows: Vec<MatchRow>,
}

/// How [`sample_match_rows`] picks its queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryPick {
    /// Evenly spaced over the query list, starting with the first query.
    Evenly,
    /// Uniformly at random without repetition, reproducible from the seed (listed in query order).
    Random {
        /// The random seed.
        seed: u64,
    },
}

/// Parameters of [`sample_match_rows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchSampling {
    /// Gallery images per row (the top-k after exclusion; fewer when the gallery is smaller).
    pub k: usize,
    /// Rows to pick (all queries when there are fewer).
    pub num_queries: usize,
    /// How the queries are picked.
    pub pick: QueryPick,
}

/// Inputs of [`sample_match_rows`] that do not fit together.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SampleError {
    /// The label lists do not match the distance matrix.
    #[error("distance matrix is {rows}x{cols} but there are {queries} query and {gallery} gallery labels")]
    Labels {
        /// Matrix rows.
        rows: usize,
        /// Matrix columns.
        cols: usize,
        /// Query labels.
        queries: usize,
        /// Gallery labels.
        gallery: usize,
    },
    /// The image paths do not match the labels.
    #[error("there are {labels} {side} labels but {paths} {side} image paths")]
    Paths {
        /// `query` or `gallery`.
        side: &'static str,
        /// Labels on that side.
        labels: usize,
        /// Paths on that side.
        paths: usize,
    },
}

/// Picks `sampling.num_queries` queries and ranks the gallery for each under the evaluation protocol.
///
/// `dist` is the query x gallery distance matrix (smaller is closer). Gallery items with the query's identity
/// and camera are removed (see [`Label::same_view`]), the rest are ordered by `(distance, gallery index)` with
/// NaN distances last, and the first `sampling.k` are returned with `is_match` = same identity. Rows come in
/// query order; each row's caption is `pid P cC` (`pid P` without a camera).
pub fn sample_match_rows<Q: AsRef<Path>, G: AsRef<Path>>(
    dist: &Matrix,
    query: &[Label],
    gallery: &[Label],
    query_paths: &[Q],
    gallery_paths: &[G],
    sampling: &MatchSampling,
) -> Result<Vec<MatchRow>, SampleError> {
    if dist.rows() != query.len() || dist.cols() != gallery.len() {
        return Err(SampleError::Labels {
            rows: dist.rows(),
            cols: dist.cols(),
            queries: query.len(),
            gallery: gallery.len(),
        });
    }
    if query_paths.len() != query.len() {
        return Err(SampleError::Paths { side: "query", labels: query.len(), paths: query_paths.len() });
    }
    if gallery_paths.len() != gallery.len() {
        return Err(SampleError::Paths { side: "gallery", labels: gallery.len(), paths: gallery_paths.len() });
    }
    let picked = pick_queries(query.len(), sampling.num_queries, sampling.pick);
    let rows = picked
        .into_iter()
        .map(|i| {
            let q = &query[i];
            let row = dist.row(i);
            let mut kept: Vec<usize> = (0..gallery.len()).filter(|&j| !q.same_view(&gallery[j])).collect();
            let order = |&a: &usize, &b: &usize| rank_order(row[a], a, row[b], b);
            let k = sampling.k.min(kept.len());
            if k > 0 && k < kept.len() {
                kept.select_nth_unstable_by(k - 1, order);
            }
            kept.truncate(k);
            kept.sort_unstable_by(order);
            let caption = match q.camera {
                Some(c) => format!("pid {} c{c}", q.pid),
                None => format!("pid {}", q.pid),
            };
            MatchRow {
                query: query_paths[i].as_ref().to_owned(),
                caption,
                gallery: kept
                    .into_iter()
                    .map(|j| MatchThumb {
                        path: gallery_paths[j].as_ref().to_owned(),
                        is_match: gallery[j].pid == q.pid,
                        distance: row[j],
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(rows)
}

/// `(distance, index)` order with NaN after every number.
fn rank_order(da: f32, a: usize, db: f32, b: usize) -> Ordering {
    da.is_nan().cmp(&db.is_nan()).then(da.partial_cmp(&db).unwrap_or(Ordering::Equal)).then(a.cmp(&b))
}

/// The picked query indices, ascending.
fn pick_queries(n: usize, want: usize, pick: QueryPick) -> Vec<usize> {
    let want = want.min(n);
    match pick {
        QueryPick::Evenly => (0..want).map(|t| t * n / want).collect(),
        QueryPick::Random { seed } => {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut idx = rand::seq::index::sample(&mut rng, n, want).into_vec();
            idx.sort_unstable();
            idx
        }
    }
}

/// Frame thickness around each thumbnail.
const FRAME: u32 = 4;
/// Horizontal space between cells.
const GAP: u32 = 14;
/// Extra space (with a rule) between the query column and the gallery columns.
const SEPARATOR: u32 = 18;
/// Outer margin.
const MARGIN: u32 = 16;
/// Height of the title and legend block.
const HEADER: u32 = 62;
/// Height of one text line under a thumbnail.
const LINE: u32 = 16;
/// Vertical space between rows.
const ROW_GAP: u32 = 12;

const MATCH: RGBColor = RGBColor(30, 170, 60);
const NON_MATCH: RGBColor = RGBColor(220, 30, 30);
const QUERY: RGBColor = RGBColor(60, 60, 60);
const BACKDROP: [u8; 3] = [235, 235, 235];
const PLACEHOLDER: [u8; 3] = [150, 150, 150];

/// Draws the sampled-matches grid into a PNG at `path`.
///
/// Layout: a 62 px header (title and colour legend), then one 184 px row per query; cells are 86 px wide
/// (a 72x136 frame around the 64x128 thumbnail, then a gap) after a 16 px margin, and the gallery cells start
/// 18 px further right (a grey rule separates them from the query column). The image is
/// `max(480, 2*16 + 18 + (1 + k) * 86)` pixels wide for the longest row's `k`, and `62 + 16 + rows * 184` high
/// (one row with a note when there are none). Each thumbnail is framed (query dark grey, true match
/// green, false match red); under it are two lines: `query` and the row caption, or `#rank` and the distance.
/// An image that cannot be read becomes a grey placeholder with a warning; failing to write the PNG is the
/// error, which names `path`.
pub fn sampled_matches_png(path: &Path, plot: &SampledMatches) -> Result<(), PlotError> {
    check_output(path)?;
    register_font();
    let err = |e: &dyn std::fmt::Display| PlotError::new(path, e);
    let cell_w = THUMB_WIDTH + 2 * FRAME + GAP;
    let cell_h = THUMB_HEIGHT + 2 * FRAME + 2 * LINE + 4;
    let row_h = cell_h + ROW_GAP;
    let k = plot.rows.iter().map(|r| r.gallery.len()).max().unwrap_or(0);
    let width = (2 * MARGIN + SEPARATOR + (1 + k as u32) * cell_w).max(480);
    let height = HEADER + MARGIN + plot.rows.len().max(1) as u32 * row_h;

    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let text = |size: f64, h: HPos| {
        TextStyle::from(("sans-serif", size).into_font()).color(&BLACK).pos(Pos::new(h, VPos::Top))
    };

    // Title and legend.
    root.draw(&Text::new(plot.title.clone(), (MARGIN as i32, 10), text(22.0, HPos::Left))).map_err(|e| err(&e))?;
    let mut x = MARGIN as i32;
    let legend_y = 40;
    for (color, label) in [(QUERY, "query"), (MATCH, "true match"), (NON_MATCH, "false match")] {
        root.draw(&Rectangle::new([(x, legend_y + 1), (x + 14, legend_y + 15)], color.filled()))
            .map_err(|e| err(&e))?;
        let style = text(15.0, HPos::Left);
        let (w, _) = root.estimate_text_size(label, &style).map_err(|e| err(&e))?;
        root.draw(&Text::new(label, (x + 20, legend_y), style)).map_err(|e| err(&e))?;
        x += 20 + w as i32 + 24;
    }
    if plot.rows.is_empty() {
        root.draw(&Text::new("no queries sampled", (MARGIN as i32, HEADER as i32 + 20), text(16.0, HPos::Left)))
            .map_err(|e| err(&e))?;
    }
    if k > 0 && !plot.rows.is_empty() {
        let rule_x = (MARGIN + cell_w + SEPARATOR / 2) as i32 - GAP as i32 / 2;
        let y1 = (HEADER + plot.rows.len() as u32 * row_h) as i32;
        root.draw(&PathElement::new(
            vec![(rule_x, HEADER as i32), (rule_x, y1)],
            RGBColor(170, 170, 170).stroke_width(2),
        ))
        .map_err(|e| err(&e))?;
    }

    for (r, row) in plot.rows.iter().enumerate() {
        let y = (HEADER + r as u32 * row_h) as i32;
        let cells = std::iter::once((&row.query, QUERY, "query".to_owned(), row.caption.clone())).chain(
            row.gallery.iter().enumerate().map(|(rank, g)| {
                let color = if g.is_match { MATCH } else { NON_MATCH };
                (&g.path, color, format!("#{}", rank + 1), format!("{:.4}", g.distance))
            }),
        );
        for (c, (image_path, color, line1, line2)) in cells.enumerate() {
            let x = (MARGIN + c as u32 * cell_w + if c > 0 { SEPARATOR } else { 0 }) as i32;
            let (fw, fh) = ((THUMB_WIDTH + 2 * FRAME) as i32, (THUMB_HEIGHT + 2 * FRAME) as i32);
            root.draw(&Rectangle::new([(x, y), (x + fw, y + fh)], color.filled())).map_err(|e| err(&e))?;
            let thumb = thumbnail(image_path);
            let element = BitMapElement::with_owned_buffer(
                (x + FRAME as i32, y + FRAME as i32),
                (THUMB_WIDTH, THUMB_HEIGHT),
                thumb.into_raw(),
            )
            .ok_or_else(|| err(&"thumbnail buffer of the wrong size"))?;
            root.draw(&element).map_err(|e| err(&e))?;
            let cx = x + fw / 2;
            root.draw(&Text::new(line1, (cx, y + fh + 3), text(14.0, HPos::Center))).map_err(|e| err(&e))?;
            root.draw(&Text::new(line2, (cx, y + fh + 3 + LINE as i32), text(13.0, HPos::Center)))
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// The image at `path` scaled to fit the thumbnail (aspect ratio kept, centred on a light backdrop), or a grey
/// placeholder with a cross when it cannot be read.
fn thumbnail(path: &Path) -> RgbImage {
    match image::open(path) {
        Ok(img) => {
            let fitted = img.resize(THUMB_WIDTH, THUMB_HEIGHT, FilterType::Triangle).to_rgb8();
            let mut canvas = RgbImage::from_pixel(THUMB_WIDTH, THUMB_HEIGHT, Rgb(BACKDROP));
            let dx = i64::from((THUMB_WIDTH - fitted.width().min(THUMB_WIDTH)) / 2);
            let dy = i64::from((THUMB_HEIGHT - fitted.height().min(THUMB_HEIGHT)) / 2);
            image::imageops::replace(&mut canvas, &fitted, dx, dy);
            canvas
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read image, drawing a placeholder");
            let mut canvas = RgbImage::from_pixel(THUMB_WIDTH, THUMB_HEIGHT, Rgb(PLACEHOLDER));
            // A dark cross marks the missing image.
            for t in 0..THUMB_HEIGHT {
                let u = t * THUMB_WIDTH / THUMB_HEIGHT;
                for dx in 0..2 {
                    for x in [u + dx, THUMB_WIDTH - 1 - u.saturating_sub(dx)] {
                        if x < THUMB_WIDTH {
                            canvas.put_pixel(x, t, Rgb([90, 90, 90]));
                        }
                    }
                }
            }
            canvas
        }
    }
}
