//! The gallery's key expressions: `<prefix>/gallery/<name>/{query,enroll,forget,stats}`,
//! `<prefix>/embeddings/<camera>` and `<prefix>/gallery/<name>/identified/<camera>`.

use crate::error::ConfigError;

/// A gallery's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpace {
    /// Prefix (default `reid`), may contain `/`.
    pub prefix: String,
    /// Gallery name (default `main`).
    pub name: String,
}

impl Default for KeySpace {
    fn default() -> Self {
        KeySpace { prefix: "reid".to_owned(), name: "main".to_owned() }
    }
}

/// A key chunk (or prefix of chunks) that is a plain name: no wildcards, `$`, `?`, `#`, empty chunks or spaces.
pub fn check_chunks(what: &str, value: &str) -> Result<(), ConfigError> {
    let bad = |message: &str| ConfigError { key: what.to_owned(), message: format!("`{value}` {message}") };
    if value.is_empty() {
        return Err(bad("is empty"));
    }
    if value.split('/').any(str::is_empty) {
        return Err(bad("has an empty chunk (leading, trailing or double `/`)"));
    }
    if value.chars().any(|c| matches!(c, '*' | '$' | '?' | '#') || c.is_whitespace()) {
        return Err(bad("may not contain `*`, `$`, `?`, `#` or spaces"));
    }
    Ok(())
}

impl KeySpace {
    /// Checked key space.
    pub fn new(prefix: &str, name: &str) -> Result<Self, ConfigError> {
        check_chunks("prefix", prefix)?;
        check_chunks("gallery name", name)?;
        if name.contains('/') {
            return Err(ConfigError { key: "gallery name".to_owned(), message: format!("`{name}` contains `/`") });
        }
        Ok(KeySpace { prefix: prefix.to_owned(), name: name.to_owned() })
    }

    fn gallery(&self, leaf: &str) -> String {
        format!("{}/gallery/{}/{leaf}", self.prefix, self.name)
    }

    /// Look-ups.
    pub fn query(&self) -> String {
        self.gallery("query")
    }

    /// Enrolments.
    pub fn enroll(&self) -> String {
        self.gallery("enroll")
    }

    /// Forgetting.
    pub fn forget(&self) -> String {
        self.gallery("forget")
    }

    /// Statistics.
    pub fn stats(&self) -> String {
        self.gallery("stats")
    }

    /// Every camera's streamed embeddings (subscription).
    pub fn embeddings_all(&self) -> String {
        format!("{}/embeddings/**", self.prefix)
    }

    /// One camera's streamed embeddings.
    pub fn embeddings(&self, camera: &str) -> String {
        format!("{}/embeddings/{camera}", self.prefix)
    }

    /// The answers for one camera's streamed embeddings.
    pub fn identified(&self, camera: &str) -> String {
        self.gallery(&format!("identified/{camera}"))
    }

    /// The answers for every camera.
    pub fn identified_all(&self) -> String {
        self.gallery("identified/**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_design() {
        let k = KeySpace::new("site/a", "lobby").unwrap();
        assert_eq!(k.query(), "site/a/gallery/lobby/query");
        assert_eq!(k.enroll(), "site/a/gallery/lobby/enroll");
        assert_eq!(k.forget(), "site/a/gallery/lobby/forget");
        assert_eq!(k.embeddings_all(), "site/a/embeddings/**");
        assert_eq!(k.embeddings("cam-1"), "site/a/embeddings/cam-1");
        assert_eq!(k.identified("cam-1"), "site/a/gallery/lobby/identified/cam-1");
        for (p, n) in [("", "x"), ("a//b", "x"), ("a/*", "x"), ("reid", "a/b"), ("reid", "a b"), ("reid/", "x")] {
            assert!(KeySpace::new(p, n).is_err(), "{p} {n}");
        }
    }
}
