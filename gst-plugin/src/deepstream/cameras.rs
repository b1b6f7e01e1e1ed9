//! The `cameras` property of `reidembed` and `reidpublish`: DeepStream source ids to camera names,
//! `"0=gate,1=lobby"`; a source without a name is `cam<source_id>`.

use std::collections::BTreeMap;

/// Source ids to camera names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cameras(BTreeMap<u32, String>);

impl Cameras {
    /// Parses `"0=gate,1=lobby"` (empty: no names); `Err` names the bad entry.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, name) =
                entry.split_once('=').ok_or_else(|| format!("cameras entry `{entry}`: expected <source id>=<name>"))?;
            let id: u32 = id.trim().parse().map_err(|e| format!("cameras entry `{entry}`: source id: {e}"))?;
            let name = name.trim();
            if name.is_empty() || name.len() > 128 || name.contains(['/', '*', '$', '?', '#', ' ']) {
                return Err(format!(
                    "cameras entry `{entry}`: the name must be 1-128 characters without `/`, `*`, `$`, `?`, `#`, spaces"
                ));
            }
            if map.insert(id, name.to_owned()).is_some() {
                return Err(format!("cameras: source id {id} named twice"));
            }
        }
        Ok(Cameras(map))
    }

    /// The camera name of `source_id`.
    pub fn name(&self, source_id: u32) -> String {
        self.0.get(&source_id).cloned().unwrap_or_else(|| format!("cam{source_id}"))
    }

    /// The property text (`"0=gate,1=lobby"`).
    pub fn to_text(&self) -> String {
        self.0.iter().map(|(id, name)| format!("{id}={name}")).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_defaults() {
        let c = Cameras::parse(" 0=gate, 3=lobby ").unwrap();
        assert_eq!(c.name(0), "gate");
        assert_eq!(c.name(3), "lobby");
        assert_eq!(c.name(1), "cam1");
        assert_eq!(c.to_text(), "0=gate,3=lobby");
        assert_eq!(Cameras::parse("").unwrap().name(7), "cam7");
        for bad in ["0", "x=gate", "0=", "0=a/b", "0=a,0=b", "-1=a"] {
            assert!(Cameras::parse(bad).is_err(), "{bad}");
        }
    }
}
