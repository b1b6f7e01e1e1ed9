//! Closed sets of named values: the spellings a spec key accepts for an enum (`dataset.sampler: softmax_triplet`,
//! `train.optim.name: AdamW`), read case-insensitively, written with the canonical spelling.
//!
//! The domain enums ([`SamplerKind`](crate::data::sampler::SamplerKind),
//! [`MetricLossType`](crate::loss::MetricLossType), [`OptimizerKind`](crate::optim::OptimizerKind),
//! [`WarmupMethod`](crate::optim::schedule::WarmupMethod)) implement [`Choice`] and are the spec's field types
//! themselves; [`named_choice!`] gives them `Display` and serde. The network's `reid_models::Neck` and
//! `reid_models::NeckFeat` are another crate's types: their spec fields read through [`serde_names`].

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// An enum whose values a spec names by text.
pub trait Choice: Copy + PartialEq + Sized + 'static {
    /// Every accepted spelling and the value it names; the first spelling of a value is its canonical one.
    const SPELLINGS: &'static [(&'static str, Self)];

    /// The canonical spelling.
    fn name(self) -> &'static str {
        Self::SPELLINGS.iter().find(|(_, v)| *v == self).map_or("", |(n, _)| n)
    }

    /// The value a spelling names (case-insensitive, surrounding blanks ignored).
    fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::SPELLINGS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }

    /// The canonical spellings as `a, b, c` (an empty one as `""`), for messages.
    fn expected() -> String {
        let mut names: Vec<&str> = Vec::new();
        for (i, (name, value)) in Self::SPELLINGS.iter().enumerate() {
            if !Self::SPELLINGS[..i].iter().any(|(_, v)| v == value) {
                names.push(if name.is_empty() { "\"\"" } else { name });
            }
        }
        names.join(", ")
    }

    /// `` `text` is not one of a, b, c ``.
    fn not_one_of(text: &str) -> String {
        format!("`{text}` is not one of {}", Self::expected())
    }
}

/// Serde through the spellings of a [`Choice`], for `#[serde(with = "crate::choice::serde_names")]` on fields of
/// another crate's enums (and behind the serde impls of [`named_choice!`]).
pub mod serde_names {
    use super::*;

    /// Writes the canonical spelling.
    pub fn serialize<T: Choice, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.name())
    }

    /// Reads any accepted spelling; the error lists the canonical ones.
    pub fn deserialize<'de, T: Choice, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_str(NameVisitor(PhantomData))
    }

    struct NameVisitor<T>(PhantomData<T>);

    impl<T: Choice> Visitor<'_> for NameVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "one of {}", T::expected())
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            T::from_name(v).ok_or_else(|| E::custom(T::not_one_of(v)))
        }
    }
}

/// `Display` (the canonical spelling) and serde (through [`serde_names`]) for a [`Choice`] of this crate.
macro_rules! named_choice {
    ($name:ty) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $crate::choice::serde_names::serialize(self, serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::choice::serde_names::deserialize(deserializer)
            }
        }
    };
}

pub(crate) use named_choice;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Neck {
        Bnneck,
        No,
    }

    impl Choice for Neck {
        const SPELLINGS: &'static [(&'static str, Self)] =
            &[("bnneck", Neck::Bnneck), ("no", Neck::No), ("", Neck::No), ("none", Neck::No)];
    }

    #[test]
    fn spellings_read_case_insensitively_and_write_canonically() {
        assert_eq!(Neck::from_name(" BNNeck "), Some(Neck::Bnneck));
        assert_eq!(Neck::from_name("None"), Some(Neck::No));
        assert_eq!(Neck::from_name(""), Some(Neck::No));
        assert_eq!(Neck::from_name("yes"), None);
        assert_eq!(Neck::No.name(), "no");
        assert_eq!(Neck::expected(), "bnneck, no");
        assert_eq!(Neck::not_one_of("yes"), "`yes` is not one of bnneck, no");
    }
}
