//! Turning an uploaded image into an embedding for "search by image". The gallery depends on no inference
//! engine: the program serving the console (the `reid` command, with `reid-runtime`) supplies an [`Embedder`].

/// Embeds one person crop given as the bytes of an image file (JPEG, PNG, ...).
pub trait Embedder: Send + Sync {
    /// What embeds (model file and engine), shown on the Search page.
    fn describe(&self) -> String;
    /// The crop's embedding, or a message saying what is wrong with the image (not a panic: uploads are
    /// untrusted).
    fn embed(&self, image: &[u8]) -> Result<Vec<f32>, String>;
}
