//! Field deserializers of the request types. Each refuses a wrong JSON type with the message a person needs
//! ("expected a whole number of milliseconds, got 1.5") instead of serde's type names, and treats `null` as an
//! absent field. Sequence elements are deserialized one by one so that an error names the element
//! (`embedding[3]`, `cameras[0]`, `items[2]`).

use super::request::EnrollItem;
use crate::error::quote;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;

/// How a JSON value is named in messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn fail<E: de::Error, T>(message: String) -> Result<T, E> {
    Err(E::custom(message))
}

/// An optional scalar: `null` is absent, anything else goes through `check`.
fn scalar<'de, D, T>(d: D, check: impl FnOnce(&Value) -> Result<T, String>) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => check(&v).map(Some).map_err(de::Error::custom),
    }
}

/// A string (identity, camera, source); its content is checked by `validate`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    scalar(d, |v| match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("expected a string, got {}", kind(v))),
    })
}

/// Base64 text of little-endian f32 values; decoded by `validate`.
pub(crate) fn opt_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    scalar(d, |v| match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("expected a base64 string, got {}", kind(v))),
    })
}

/// Milliseconds since the epoch (a whole number, may be negative).
pub(crate) fn opt_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    scalar(d, |v| v.as_i64().ok_or_else(|| format!("expected a whole number of milliseconds, got {}", quote(v))))
}

/// A tracker id.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    scalar(d, |v| v.as_u64().ok_or_else(|| format!("expected a non-negative whole number, got {}", quote(v))))
}

/// A flag.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    scalar(d, |v| v.as_bool().ok_or_else(|| format!("expected true or false, got {}", kind(v))))
}

/// Matches per query; the range is checked by `validate`.
pub(crate) fn opt_k<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    scalar(d, |v| match v.as_u64() {
        Some(k) => Ok(usize::try_from(k).unwrap_or(usize::MAX)),
        None => Err(format!("expected a whole number from 1 to {}, got {}", super::MAX_K, quote(v))),
    })
}

/// An open-set threshold; the range is checked by `validate`.
pub(crate) fn opt_threshold<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    scalar(d, |v| match v.as_f64() {
        Some(t) => Ok(t as f32),
        None => Err(format!("expected a number from -1 to 1 (a cosine score), got {}", quote(v))),
    })
}

/// One vector component: a number that is finite as an f32.
struct Component(f32);

impl<'de> Deserialize<'de> for Component {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match v.as_f64() {
            Some(f) if (f as f32).is_finite() => Ok(Component(f as f32)),
            Some(f) => fail(format!("{f} is not a finite f32")),
            None => fail(format!("expected a number, got {}", kind(&v))),
        }
    }
}

/// One vector as an element of `embeddings`.
struct Vector(Vec<f32>);

impl<'de> Deserialize<'de> for Vector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list: Vec<Component> = d.deserialize_any(ListOf::new("expected an array of numbers"))?;
        Ok(Vector(list.into_iter().map(|c| c.0).collect()))
    }
}

/// One camera name of `cameras` (emptiness and length are checked by `validate`).
struct Camera(String);

impl<'de> Deserialize<'de> for Camera {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Camera(s)),
            v => fail(format!("expected a non-empty camera name, got {}", quote(v))),
        }
    }
}

/// One enrol item of `items`: an object.
struct Item(EnrollItem);

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectOf::<EnrollItem>::new("expected an object")).map(Item)
    }
}

/// `T` from a JSON object; any other value is refused with "`expected`, got ...".
struct ObjectOf<T> {
    expected: &'static str,
    marker: PhantomData<T>,
}

impl<T> ObjectOf<T> {
    fn new(expected: &'static str) -> Self {
        ObjectOf { expected, marker: PhantomData }
    }
}

/// A JSON array of `T`, element by element; any other value is refused with "`expected`, got ...".
struct ListOf<T> {
    expected: &'static str,
    marker: PhantomData<T>,
}

impl<T> ListOf<T> {
    fn new(expected: &'static str) -> Self {
        ListOf { expected, marker: PhantomData }
    }
}

/// Visitor methods refusing every value kind but the one visited by hand.
macro_rules! refuse {
    ($($method:ident($($arg:ty)?) => $kind:literal),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self $(, _: $arg)?) -> Result<Self::Value, E> {
                fail(format!("{}, got {}", self.expected, $kind))
            }
        )*
    };
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListOf<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expected)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(x) = seq.next_element()? {
            out.push(x);
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        fail(format!("{}, got an object", self.expected))
    }

    refuse! {
        visit_unit() => "null", visit_none() => "null", visit_bool(bool) => "a boolean", visit_i64(i64) => "a number",
        visit_u64(u64) => "a number", visit_f64(f64) => "a number", visit_str(&str) => "a string",
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for ObjectOf<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expected)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        fail(format!("{}, got an array", self.expected))
    }

    refuse! {
        visit_unit() => "null", visit_none() => "null", visit_bool(bool) => "a boolean", visit_i64(i64) => "a number",
        visit_u64(u64) => "a number", visit_f64(f64) => "a number", visit_str(&str) => "a string",
    }
}

/// An optional list: `null` is absent, anything but an array is refused with "`expected`, got ...".
fn opt_list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    expected: &'static str,
) -> Result<Option<Vec<T>>, D::Error> {
    struct Opt<T>(ListOf<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Opt<T> {
        type Value = Option<Vec<T>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0.expected)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self.0).map(Some)
        }
    }
    d.deserialize_option(Opt(ListOf::new(expected)))
}

/// One vector (`embedding`).
pub(crate) fn opt_vector<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f32>>, D::Error> {
    let list: Option<Vec<Component>> = opt_list(d, "expected an array of numbers")?;
    Ok(list.map(|l| l.into_iter().map(|c| c.0).collect()))
}

/// Several vectors (`embeddings`).
pub(crate) fn opt_vectors<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Vec<f32>>>, D::Error> {
    let list: Option<Vec<Vector>> = opt_list(d, "expected an array of arrays of numbers")?;
    Ok(list.map(|l| l.into_iter().map(|v| v.0).collect()))
}

/// Camera names (`cameras`).
pub(crate) fn opt_cameras<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let list: Option<Vec<Camera>> = opt_list(d, "expected an array of camera names")?;
    Ok(list.map(|l| l.into_iter().map(|c| c.0).collect()))
}

/// Enrol items (`items`): an array of objects (`null` is refused: `items` present means a list).
pub(crate) fn items<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EnrollItem>, D::Error> {
    let list: Vec<Item> = d.deserialize_any(ListOf::new("expected an array"))?;
    Ok(list.into_iter().map(|i| i.0).collect())
}
