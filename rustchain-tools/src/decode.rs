//! Decoding a tool's argument text, once, straight into its typed parameters.
//!
//! The `#[tool]` macro does not derive a struct per tool: it names the tuple of
//! its parameter types, `(String, u32, Option<bool>)`, and calls [`decode`]. The
//! tuple's [`ParamList`] impl is generic, so the decoder is compiled once per
//! distinct signature rather than once per tool, which keeps large tool crates
//! quick to build. Values go from the JSON text into the typed parameters with
//! no intermediate `serde_json::Value` tree.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::{ErrorKind, ParamInfo, ToolError};

/// Bounds on argument text, checked before any parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgLimits {
    /// Longest argument text accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects accepted.
    pub max_depth: usize,
}

impl Default for ArgLimits {
    /// 1 MiB of text, nested at most 64 deep.
    fn default() -> Self {
        ArgLimits {
            max_bytes: 1 << 20,
            max_depth: 64,
        }
    }
}

impl ArgLimits {
    /// Rejects text over the size limit or nested too deep, without parsing it.
    ///
    /// ```
    /// use rustchain_tools::ArgLimits;
    /// let limits = ArgLimits { max_bytes: 100, max_depth: 2 };
    /// assert!(limits.check(r#"{"a": [1, 2]}"#).is_ok());
    /// assert!(limits.check(r#"{"a": [[1]]}"#).is_err());
    /// ```
    pub fn check(&self, text: &str) -> Result<(), ToolError> {
        if text.len() > self.max_bytes {
            return Err(ToolError::new(
                ErrorKind::InvalidArguments,
                format!(
                    "the arguments are {} bytes long, over the limit of {} bytes; send less data",
                    text.len(),
                    self.max_bytes
                ),
            ));
        }
        let depth = max_nesting(text.as_bytes(), self.max_depth);
        if depth > self.max_depth {
            return Err(ToolError::new(
                ErrorKind::InvalidArguments,
                format!(
                    "the arguments are nested more than {} levels deep; flatten them",
                    self.max_depth
                ),
            ));
        }
        Ok(())
    }
}

/// The deepest nesting of `[` and `{` outside strings, counting stops once
/// past `limit` (so hostile input costs one linear scan at most).
fn max_nesting(bytes: &[u8], limit: usize) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    break;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A type a tool parameter may have: decodable from JSON and describable by a schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool parameter",
    label = "this type must implement `serde::Deserialize` and `schemars::JsonSchema`",
    note = "derive both on your own types: `#[derive(serde::Deserialize, schemars::JsonSchema)]`"
)]
pub trait Param: DeserializeOwned + JsonSchema {}

impl<T: DeserializeOwned + JsonSchema> Param for T {}

/// A tuple of parameter types, decoded together from one JSON object.
///
/// Implemented for tuples of up to 16 [`Param`]s; the `#[tool]` macro uses it.
pub trait ParamList: Sized {
    /// Reads the JSON object's entries into the tuple, in any order.
    #[doc(hidden)]
    fn visit_map<'de, M: MapAccess<'de>>(
        map: M,
        params: &'static [ParamInfo],
        failure: &Failure,
    ) -> Result<Self, M::Error>;

    /// The schema of each parameter type, in order.
    fn schemas(generator: &mut SchemaGenerator) -> Vec<Schema>;
}

/// Decodes `text` (a JSON object, or empty for no arguments) into the
/// parameter tuple `P`, described by `params`.
///
/// Unknown arguments, duplicate keys, wrong types and missing required
/// arguments are errors of kind [`InvalidArguments`](crate::ErrorKind::InvalidArguments)
/// naming the argument's JSON path.
///
/// ```
/// use rustchain_tools::{decode::decode, ParamInfo};
/// static PARAMS: [ParamInfo; 2] = [
///     ParamInfo { name: "city", description: "City name", required: true },
///     ParamInfo { name: "days", description: "How many days", required: false },
/// ];
/// let (city, days): (String, Option<u8>) = decode(r#"{"city": "Oslo"}"#, &PARAMS).unwrap();
/// assert_eq!((city.as_str(), days), ("Oslo", None));
///
/// let err = decode::<(String, Option<u8>)>(r#"{"city": "Oslo", "days": "3"}"#, &PARAMS).unwrap_err();
/// assert_eq!(err.path(), Some("days"));
/// ```
pub fn decode<P: ParamList>(text: &str, params: &'static [ParamInfo]) -> Result<P, ToolError> {
    let text = if text.trim_ascii().is_empty() {
        "{}"
    } else {
        text
    };
    let failure = Failure::default();
    let mut json = serde_json::Deserializer::from_str(text);
    let decoded = ArgsSeed::<P> {
        params,
        failure: &failure,
        marker: PhantomData,
    }
    .deserialize(&mut json)
    .and_then(|value| json.end().map(|()| value));
    decoded.map_err(|err| failure.into_error(params, &err))
}

/// What the decoder learned about a failure that serde's error cannot carry:
/// which argument, and where inside it.
#[doc(hidden)]
#[derive(Default)]
pub struct Failure {
    param: Cell<Option<usize>>,
    nested_path: RefCell<Option<String>>,
    /// An argument name the tool does not take.
    unknown: RefCell<Option<String>>,
}

impl Failure {
    fn into_error(self, params: &'static [ParamInfo], err: &serde_json::Error) -> ToolError {
        let message = without_position(err);
        if let Some(unknown) = self.unknown.into_inner() {
            return ToolError::invalid_argument(unknown, message);
        }
        let Some(name) = self.param.get().and_then(|i| params.get(i)).map(|p| p.name) else {
            return ToolError::new(ErrorKind::InvalidArguments, message);
        };
        let path = match self.nested_path.into_inner() {
            Some(nested) if nested.starts_with('[') => format!("{name}{nested}"),
            Some(nested) => format!("{name}.{nested}"),
            None => name.to_owned(),
        };
        ToolError::invalid_argument(path.clone(), format!("argument `{path}`: {message}"))
    }
}

/// serde_json's message without its " at line L column C" suffix: the
/// argument path says more to a model than a column in one-line JSON.
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) if err.line() > 0 => text[..cut].to_owned(),
        _ => text,
    }
}

struct ArgsSeed<'f, P> {
    params: &'static [ParamInfo],
    failure: &'f Failure,
    marker: PhantomData<P>,
}

impl<'de, P: ParamList> DeserializeSeed<'de> for ArgsSeed<'_, P> {
    type Value = P;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<P, D::Error> {
        // `any`, not `map`: serde_json only offers `null` to visit_unit through it.
        deserializer.deserialize_any(self)
    }
}

impl<'de, P: ParamList> Visitor<'de> for ArgsSeed<'_, P> {
    type Value = P;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object holding the tool's arguments")
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<P, M::Error> {
        P::visit_map(map, self.params, self.failure)
    }

    /// `null` stands for "no arguments", as some clients send it.
    fn visit_unit<E: de::Error>(self) -> Result<P, E> {
        P::visit_map(
            de::value::MapDeserializer::<'_, std::iter::Empty<((), ())>, E>::new(std::iter::empty()),
            self.params,
            self.failure,
        )
    }
}

/// Resolves an argument name to its parameter's position.
struct ParamName<'f> {
    params: &'static [ParamInfo],
    failure: &'f Failure,
}

impl<'de> DeserializeSeed<'de> for ParamName<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for ParamName<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an argument name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        if let Some(index) = self.params.iter().position(|p| p.name == key) {
            return Ok(index);
        }
        *self.failure.unknown.borrow_mut() = Some(key.chars().take(64).collect());
        Err(E::custom(unknown_argument(key, self.params)))
    }
}

fn unknown_argument(key: &str, params: &[ParamInfo]) -> String {
    let key = key.escape_debug();
    if params.is_empty() {
        return format!("unknown argument `{key}`: this tool takes no arguments");
    }
    let names: Vec<String> = params.iter().map(|p| format!("`{}`", p.name)).collect();
    format!(
        "unknown argument `{key}`: this tool takes {}",
        names.join(", ")
    )
}

/// Decodes one argument's value, recording where inside it any error sits.
struct ParamValue<'f, T> {
    failure: &'f Failure,
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for ParamValue<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        let mut track = serde_path_to_error::Track::new();
        let result = T::deserialize(serde_path_to_error::Deserializer::new(
            deserializer,
            &mut track,
        ));
        if result.is_err() {
            let nested = track.path().to_string();
            if nested != "." {
                *self.failure.nested_path.borrow_mut() = Some(nested);
            }
        }
        result
    }
}

/// Support for the tuple impls of [`ParamList`]; not a public API.
#[doc(hidden)]
pub mod support {
    use super::*;

    /// The next argument's position, or `None` at the end of the object.
    pub fn next_param<'de, M: MapAccess<'de>>(
        map: &mut M,
        params: &'static [ParamInfo],
        failure: &Failure,
    ) -> Result<Option<usize>, M::Error> {
        map.next_key_seed(ParamName { params, failure })
    }

    /// Decodes the value of argument `index` into `slot`, refusing a second value.
    pub fn fill<'de, T: DeserializeOwned, M: MapAccess<'de>>(
        map: &mut M,
        slot: &mut Option<T>,
        index: usize,
        params: &'static [ParamInfo],
        failure: &Failure,
    ) -> Result<(), M::Error> {
        failure.param.set(Some(index));
        if slot.is_some() {
            return Err(de::Error::custom(format_args!(
                "given more than once; send each argument once (`{}`)",
                params[index].name
            )));
        }
        *slot = Some(map.next_value_seed(ParamValue {
            failure,
            marker: PhantomData,
        })?);
        failure.param.set(None);
        Ok(())
    }

    /// The value of argument `index` once the object is read: what was sent,
    /// `None` for an absent optional argument, or an error for a missing one.
    pub fn finish<T: DeserializeOwned, E: de::Error>(
        slot: Option<T>,
        index: usize,
        params: &'static [ParamInfo],
        failure: &Failure,
    ) -> Result<T, E> {
        if let Some(value) = slot {
            return Ok(value);
        }
        let Some(param) = params.get(index) else {
            return Err(mismatch());
        };
        if !param.required {
            // An absent optional argument decodes as JSON null would: `None`.
            if let Ok(value) = T::deserialize(de::value::UnitDeserializer::<E>::new()) {
                return Ok(value);
            }
        }
        failure.param.set(Some(index));
        Err(E::custom(format_args!(
            "missing required argument `{}` ({})",
            param.name, param.description
        )))
    }

    /// A defect in generated code: the descriptor lists fewer or more parameters than the function has.
    pub fn mismatch<E: de::Error>() -> E {
        E::custom("internal error: this tool's parameter list does not match its function")
    }
}

macro_rules! param_list {
    ($( $index:tt $T:ident $slot:ident ),*) => {
        impl<$($T: Param),*> ParamList for ($($T,)*) {
            #[allow(unused_mut, unused_variables)]
            fn visit_map<'de, M: MapAccess<'de>>(
                mut map: M,
                params: &'static [ParamInfo],
                failure: &Failure,
            ) -> Result<Self, M::Error> {
                $( let mut $slot: Option<$T> = None; )*
                while let Some(index) = support::next_param(&mut map, params, failure)? {
                    match index {
                        $( $index => support::fill(&mut map, &mut $slot, index, params, failure)?, )*
                        _ => return Err(support::mismatch()),
                    }
                }
                Ok(($( support::finish::<$T, M::Error>($slot, $index, params, failure)?, )*))
            }

            #[allow(unused_variables)]
            fn schemas(generator: &mut SchemaGenerator) -> Vec<Schema> {
                vec![$( generator.subschema_for::<$T>() ),*]
            }
        }
    };
}

param_list!();
param_list!(0 A a);
param_list!(0 A a, 1 B b);
param_list!(0 A a, 1 B b, 2 C c);
param_list!(0 A a, 1 B b, 2 C c, 3 D d);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h, 8 I i);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h, 8 I i, 9 J j);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h, 8 I i, 9 J j, 10 K k);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h, 8 I i, 9 J j, 10 K k, 11 L l);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h, 8 I i, 9 J j, 10 K k, 11 L l, 12 N n);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h, 8 I i, 9 J j, 10 K k, 11 L l, 12 N n, 13 O o);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h, 8 I i, 9 J j, 10 K k, 11 L l, 12 N n, 13 O o, 14 P p);
param_list!(0 A a, 1 B b, 2 C c, 3 D d, 4 E e, 5 F f, 6 G g, 7 H h, 8 I i, 9 J j, 10 K k, 11 L l, 12 N n, 13 O o, 14 P p, 15 Q q);

/// The most parameters one tool may have (the largest [`ParamList`] tuple).
pub const MAX_PARAMS: usize = 16;
