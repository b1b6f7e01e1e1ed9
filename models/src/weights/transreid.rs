//! TransReID's checkpoint names for the jigsaw patch module (`build_transformer_local` in model/make_model.py of
//! github.com/damo-cv/TransReID): the branches `b1` / `b2` are `nn.Sequential(block, norm)`, so `b1.0.*` is the
//! block and `b1.1.*` the norm; the local BNNecks and ID classifiers are numbered from 1 (`bottleneck_1..4`,
//! `classifier_1..4`). This crate names them `jpm.b1.block.*`, `jpm.b1.norm.*`, `jpm.bottlenecks.{i}.*` and
//! `jpm.classifiers.{i}.*`, numbered from 0. The backbone (`base.*`), the global `bottleneck.*` and `classifier.*`
//! have the same names on both sides.

/// This crate's name for a TransReID JPM key (`b2.0.attn.qkv.weight` -> `jpm.b2.block.attn.qkv.weight`,
/// `classifier_4.weight` -> `jpm.classifiers.3.weight`); `None` for any other key.
pub fn to_canonical(key: &str) -> Option<String> {
    for b in ["b1", "b2"] {
        if let Some(rest) = key.strip_prefix(b).and_then(|r| r.strip_prefix('.')) {
            return match rest.split_once('.') {
                Some(("0", r)) => Some(format!("jpm.{b}.block.{r}")),
                Some(("1", r)) => Some(format!("jpm.{b}.norm.{r}")),
                _ => None,
            };
        }
    }
    for (theirs, ours) in [("bottleneck_", "bottlenecks"), ("classifier_", "classifiers")] {
        if let Some(rest) = key.strip_prefix(theirs) {
            let (num, r) = rest.split_once('.')?;
            let i: usize = num.parse().ok().filter(|&i| i > 0)?;
            return Some(format!("jpm.{ours}.{}.{r}", i - 1));
        }
    }
    None
}

/// TransReID's name for one of this crate's JPM parameters (the inverse of [`to_canonical`]).
pub fn to_transreid(name: &str) -> Option<String> {
    let rest = name.strip_prefix("jpm.")?;
    for b in ["b1", "b2"] {
        if let Some(r) = rest.strip_prefix(b).and_then(|r| r.strip_prefix('.')) {
            return match r.split_once('.') {
                Some(("block", r)) => Some(format!("{b}.0.{r}")),
                Some(("norm", r)) => Some(format!("{b}.1.{r}")),
                _ => None,
            };
        }
    }
    for (ours, theirs) in [("bottlenecks.", "bottleneck_"), ("classifiers.", "classifier_")] {
        if let Some(r) = rest.strip_prefix(ours) {
            let (num, r) = r.split_once('.')?;
            let i: usize = num.parse().ok()?;
            return Some(format!("{theirs}{}.{r}", i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_both_ways() {
        for (theirs, ours) in [
            ("b1.0.attn.qkv.weight", "jpm.b1.block.attn.qkv.weight"),
            ("b2.1.bias", "jpm.b2.norm.bias"),
            ("bottleneck_1.running_var", "jpm.bottlenecks.0.running_var"),
            ("classifier_4.weight", "jpm.classifiers.3.weight"),
        ] {
            assert_eq!(to_canonical(theirs).as_deref(), Some(ours));
            assert_eq!(to_transreid(ours).as_deref(), Some(theirs));
        }
        for other in
            ["bottleneck.weight", "classifier.weight", "base.blocks.0.norm1.weight", "b1.2.x", "classifier_0.w"]
        {
            assert_eq!(to_canonical(other), None, "{other}");
        }
        assert_eq!(to_transreid("base.norm.weight"), None);
    }
}
