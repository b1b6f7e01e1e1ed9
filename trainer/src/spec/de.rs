//! A serde deserializer over the [`Node`] tree: types are chosen by the target field (so `neck: no` reads as the
//! string `no` and `with_center_loss: no` as `false`), and every error carries the dotted key and the location of
//! the value at fault.

use super::error::{Location, SpecError};
use super::tree::{Node, Scalar, Value, parse_bool_lenient, parse_float, parse_int, resolve};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
use std::fmt;

/// An error while typing the tree.
#[derive(Debug)]
pub(crate) struct DeError {
    message: String,
    /// Path segments, outermost first (`train`, `optim`, `[1]`).
    path: Vec<String>,
    location: Option<Location>,
}

impl DeError {
    pub fn into_spec_error(self) -> SpecError {
        let mut key = String::new();
        for segment in &self.path {
            if !segment.starts_with('[') && !key.is_empty() {
                key.push('.');
            }
            key.push_str(segment);
        }
        if key.is_empty() {
            key.push_str("(top level)");
        }
        let mut message = self.message.replace("unit value", "null");
        if let Some(at) = message.find("expected struct ") {
            message.replace_range(at.., "expected a mapping of keys");
        }
        SpecError::Type { key, message, location: self.location }
    }

    fn at(mut self, location: &Location) -> Self {
        if self.location.is_none() {
            self.location = Some(location.clone());
        }
        self
    }

    fn under(mut self, segment: String) -> Self {
        self.path.insert(0, segment);
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { message: msg.to_string(), path: Vec::new(), location: None }
    }
}

/// Deserializes a typed value from a node.
pub(crate) fn from_node<'a, T: de::Deserialize<'a>>(node: &'a Node) -> Result<T, SpecError> {
    T::deserialize(NodeDe(node)).map_err(DeError::into_spec_error)
}

/// A deserializer over one node.
#[derive(Clone, Copy)]
pub(crate) struct NodeDe<'a>(pub &'a Node);

impl<'a> NodeDe<'a> {
    fn plain(&self) -> Option<&'a str> {
        match &self.0.value {
            Value::Scalar { text, quoted: false } => Some(text),
            _ => None,
        }
    }

    fn any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.0.value {
            Value::Scalar { text, quoted: true } => visitor.visit_str(text),
            Value::Scalar { text, quoted: false } => match resolve(text) {
                Scalar::Null => visitor.visit_unit(),
                Scalar::Bool(b) => visitor.visit_bool(b),
                Scalar::Int(i) => visitor.visit_i64(i),
                Scalar::UInt(u) => visitor.visit_u64(u),
                Scalar::Float(f) => visitor.visit_f64(f),
                Scalar::Str(s) => visitor.visit_str(s),
            },
            Value::Seq(items) => visitor.visit_seq(SeqDe { items: items.iter(), index: 0 }),
            Value::Map(entries) => visitor.visit_map(MapDe { entries: entries.iter(), value: None }),
        }
    }

    fn finish<T>(&self, result: Result<T, DeError>) -> Result<T, DeError> {
        result.map_err(|e| e.at(&self.0.loc))
    }
}

macro_rules! integer {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
            let result = match self.plain().and_then(parse_int) {
                Some(i) if i >= 0 => match u64::try_from(i) {
                    Ok(u) => visitor.visit_u64(u),
                    Err(_) => Err(de::Error::invalid_value(Unexpected::Other("a huge integer"), &visitor)),
                },
                Some(i) => match i64::try_from(i) {
                    Ok(i) => visitor.visit_i64(i),
                    Err(_) => Err(de::Error::invalid_value(Unexpected::Other("a huge integer"), &visitor)),
                },
                None => self.any(visitor),
            };
            self.finish(result)
        }
    )*};
}

impl<'a> de::Deserializer<'a> for NodeDe<'a> {
    type Error = DeError;

    integer!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
             deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = self.any(visitor);
        self.finish(result)
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.plain().and_then(parse_bool_lenient) {
            Some(b) => visitor.visit_bool(b),
            None => self.any(visitor),
        };
        self.finish(result)
    }

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.plain().and_then(parse_float) {
            Some(f) => visitor.visit_f64(f),
            None => self.any(visitor),
        };
        self.finish(result)
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Any scalar is a string where a string is expected (`encryption_key: 12345`, `neck: no`), except a null.
        let result = match &self.0.value {
            Value::Scalar { text, quoted } if *quoted || text.is_empty() || !self.0.is_null() => {
                visitor.visit_str(text)
            }
            _ => self.any(visitor),
        };
        self.finish(result)
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = if self.0.is_null() { visitor.visit_none() } else { visitor.visit_some(self) };
        self.finish(result)
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = if self.0.is_null() { visitor.visit_unit() } else { self.any(visitor) };
        self.finish(result)
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.0.value {
            Value::Seq(items) => visitor.visit_seq(SeqDe { items: items.iter(), index: 0 }),
            // A single value where a list is expected is a list of one (`train.gpu_ids=0`).
            Value::Scalar { .. } if !self.0.is_null() => {
                visitor.visit_seq(SeqDe { items: std::slice::from_ref(self.0).iter(), index: 0 })
            }
            _ => self.any(visitor),
        };
        self.finish(result)
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        // An empty section (`re_ranking:` with nothing under it) is an empty mapping.
        let result = if self.0.is_null() {
            visitor.visit_map(MapDe { entries: [].iter(), value: None })
        } else {
            self.any(visitor)
        };
        self.finish(result)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = match &self.0.value {
            Value::Scalar { text, .. } => visitor.visit_enum(text.as_str().into_deserializer()),
            _ => self.any(visitor),
        };
        self.finish(result)
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Node>,
    index: usize,
}

impl<'a> de::SeqAccess<'a> for SeqDe<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        let Some(item) = self.items.next() else { return Ok(None) };
        let index = self.index;
        self.index += 1;
        seed.deserialize(NodeDe(item)).map(Some).map_err(|e| e.at(&item.loc).under(format!("[{index}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, super::tree::Entry>,
    value: Option<&'a super::tree::Entry>,
}

impl<'a> de::MapAccess<'a> for MapDe<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else { return Ok(None) };
        self.value = Some(entry);
        let key: de::value::StrDeserializer<'_, DeError> = entry.key.as_str().into_deserializer();
        seed.deserialize(key).map(Some).map_err(|e| e.at(&entry.key_loc).under(entry.key.clone()))
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let entry = self.value.take().expect("next_value_seed after next_key_seed");
        seed.deserialize(NodeDe(&entry.value)).map_err(|e| e.at(&entry.value.loc).under(entry.key.clone()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
