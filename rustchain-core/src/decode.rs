//! Decoding a tool's argument text, once, straight into its typed parameters.
//!
//! The `#[tool]` macro does not derive a struct per tool: it names the tuple of
//! its parameter types, `(String, u32, Option<bool>)`, and calls [`decode`].
//! One driver, the same for every tool, reads the JSON object and hands each
//! value to the tuple's [`Slots`], whose code for a value is compiled once per
//! parameter *type*: a thousand tools taking a `String`, a `u32` and a `bool`
//! share one reader of each, and per tuple only a table of slots remains
//! (D-65), which keeps large tool crates quick to build. Values go from the
//! JSON text into the typed parameters with no intermediate
//! `serde_json::Value` tree.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::de::{IoRead, StrRead};

use crate::invoke::{Call, Finish, GuardFn, call_sync};
use crate::{ErrorKind, ParamInfo, ToolContext, ToolError, ToolOutput};

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
    /// use rustchain_core::ArgLimits;
    /// let limits = ArgLimits { max_bytes: 100, max_depth: 2 };
    /// assert!(limits.check(r#"{"a": [1, 2]}"#).is_ok());
    /// assert!(limits.check(r#"{"a": [[1]]}"#).is_err());
    /// ```
    #[inline]
    pub fn check(&self, text: &str) -> Result<(), ToolError> {
        // Short text passes both limits without a look (most calls').
        if text.len() <= self.max_bytes && text.len() <= self.max_depth {
            return Ok(());
        }
        self.check_long(text)
    }

    fn check_long(&self, text: &str) -> Result<(), ToolError> {
        if text.len() > self.max_bytes {
            // Not `text.len()`: a reader stops one byte past the limit (the
            // CLI reads stdin so), and that length would be no truer.
            return Err(ToolError::new(
                ErrorKind::InvalidArguments,
                format!(
                    "the arguments are more than {max} bytes long, over the limit of {max} bytes; send less data",
                    max = self.max_bytes
                ),
            ));
        }
        // Text no longer than the limit cannot nest deeper than it: most
        // calls' arguments are short, and skip the scan.
        if text.len() > self.max_depth
            && max_nesting(text.as_bytes(), self.max_depth) > self.max_depth
        {
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
///
/// That is `serde::Deserialize` from serde 1 and `schemars::JsonSchema` from
/// schemars 1: schemars 0.8's trait of the same name is a different trait.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool parameter",
    label = "this type must implement `serde::Deserialize` (serde 1) and `schemars::JsonSchema` (schemars 1)",
    note = "derive both on your own types: `#[derive(serde::Deserialize, schemars::JsonSchema)]`, with `schemars = \"1\"` in Cargo.toml: a `JsonSchema` from schemars 0.8 is another trait and does not count"
)]
pub trait Param: DeserializeOwned + JsonSchema {}

// `do_not_recommend`: one error naming `Param` and its advice, not one per
// missing supertrait.
#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned + JsonSchema> Param for T {}

/// The parameter tuple `P` of one tool, as code generated by `#[tool]` reaches
/// its decoder and input schema whether or not every parameter type qualifies.
///
/// `(&ParamsOf::<P>::NEW).decode(..)` resolves to the inherent
/// `ParamsOf::decode` when `P` is a [`FlatList`] too, to [`DecodeParams`]
/// when `P` is a [`ParamList`] and to [`RefuseParams`] otherwise, because
/// method lookup tries inherent methods before trait methods, and
/// `ParamsOf<P>` before `&ParamsOf<P>`; a method whose impl's bounds do not
/// hold is no candidate. The fallback exists so that a
/// parameter type that fails its check is reported once, on that type (by
/// `__private::assert_param`), not again at each use of the tuple. A program
/// in which it is chosen does not compile: `P` is no `ParamList` only when a
/// parameter is no [`Param`] (the macro allows at most [`MAX_PARAMS`]), and
/// then `assert_param` fails. Even so the fallback decodes nothing and builds
/// no `P`: it returns an error, so a tool body, which needs the decoded
/// values, cannot run through it.
#[doc(hidden)]
pub struct ParamsOf<P>(PhantomData<fn() -> P>);

impl<P> ParamsOf<P> {
    /// The one value, for method calls.
    pub const NEW: Self = ParamsOf(PhantomData);
}

/// The real decoder and schema of a [`ParamList`]; see [`ParamsOf`].
#[doc(hidden)]
pub trait DecodeParams<P> {
    /// [`decode`] into `P`.
    fn decode(&self, text: &str, params: &'static [ParamInfo]) -> Result<P, ToolError>;
    /// [`input_schema`](crate::schema::input_schema) of `P`.
    fn input_schema(&self, params: &'static [ParamInfo]) -> Schema;
    /// [`call_sync`] with [`decode`] into `P`.
    fn call_sync<C: Call<P>, T>(
        &self,
        ctx: &ToolContext,
        text: &str,
        params: &'static [ParamInfo],
        guard: Option<GuardFn<P>>,
        call: C,
        finish: Finish<C::Output, T>,
    ) -> Result<ToolOutput, ToolError>;
}

impl<P: ParamList> DecodeParams<P> for ParamsOf<P> {
    fn decode(&self, text: &str, params: &'static [ParamInfo]) -> Result<P, ToolError> {
        decode::<P>(text, params)
    }

    #[inline]
    fn call_sync<C: Call<P>, T>(
        &self,
        ctx: &ToolContext,
        text: &str,
        params: &'static [ParamInfo],
        guard: Option<GuardFn<P>>,
        call: C,
        finish: Finish<C::Output, T>,
    ) -> Result<ToolOutput, ToolError> {
        call_sync(ctx, text, params, decode::<P>, guard, call, finish)
    }

    fn input_schema(&self, params: &'static [ParamInfo]) -> Schema {
        crate::schema::input_schema::<P>(params)
    }
}

/// The decoder of a [`FlatList`]: an inherent method, so method lookup
/// tries it before [`DecodeParams`] (and `P: FlatList` failing makes it no
/// candidate, so lookup moves on to the traits); see [`ParamsOf`].
impl<P: ParamList + FlatList> ParamsOf<P> {
    /// [`decode`] into `P`, without watching for skipped fields: no value
    /// of a [`Flat`] type has any.
    #[inline]
    pub fn decode(&self, text: &str, params: &'static [ParamInfo]) -> Result<P, ToolError> {
        decode_flat::<P>(text, params)
    }

    /// [`call_sync`] with [`ParamsOf::decode`] into `P`.
    #[inline]
    pub fn call_sync<C: Call<P>, T>(
        &self,
        ctx: &ToolContext,
        text: &str,
        params: &'static [ParamInfo],
        guard: Option<GuardFn<P>>,
        call: C,
        finish: Finish<C::Output, T>,
    ) -> Result<ToolOutput, ToolError> {
        call_sync(ctx, text, params, decode_flat::<P>, guard, call, finish)
    }
}

/// [`decode`] of a [`FlatList`], without watching for skipped fields: no
/// value of a [`Flat`] type has any.
#[inline]
fn decode_flat<P: ParamList>(text: &str, params: &'static [ParamInfo]) -> Result<P, ToolError> {
    decode_as::<P>(text, params, Watch::Nothing)
}

/// The fallback for a tuple that is no [`ParamList`]: refuses everything; see [`ParamsOf`].
#[doc(hidden)]
pub trait RefuseParams<P> {
    /// Always an error: there is no decoder for `P`.
    fn decode(&self, text: &str, params: &'static [ParamInfo]) -> Result<P, ToolError>;
    /// The `false` schema: no arguments are valid.
    fn input_schema(&self, params: &'static [ParamInfo]) -> Schema;
    /// Always an error, as [`RefuseParams::decode`]: the tool is not called.
    fn call_sync<C: Call<P>, T>(
        &self,
        ctx: &ToolContext,
        text: &str,
        params: &'static [ParamInfo],
        guard: Option<GuardFn<P>>,
        call: C,
        finish: Finish<C::Output, T>,
    ) -> Result<ToolOutput, ToolError> {
        let _ = (ctx, text, params, guard, call, finish);
        Err(no_decoder())
    }
}

impl<P> RefuseParams<P> for &ParamsOf<P> {
    fn decode(&self, _: &str, _: &'static [ParamInfo]) -> Result<P, ToolError> {
        Err(no_decoder())
    }

    fn input_schema(&self, _: &'static [ParamInfo]) -> Schema {
        Schema::from(false)
    }
}

/// What the fallback of [`ParamsOf`] answers every call with.
fn no_decoder() -> ToolError {
    ToolError::new(
        ErrorKind::Failed,
        "internal error: a parameter of this tool cannot be decoded; it was built without its type checks",
    )
}

/// A tuple of parameter types, decoded together from one JSON object.
///
/// Implemented for tuples of up to 16 [`Param`]s; the `#[tool]` macro uses it.
/// What is generic per tuple is small: where each value goes ([`Slots`]),
/// and taking the values out. Reading the object is one driver shared by
/// every tuple, and reading a value is instantiated once per parameter
/// type, so tools whose parameters have the same types share it (D-65).
pub trait ParamList: Sized {
    /// The tuple's values while its object is read, an `Option` each.
    #[doc(hidden)]
    type Slots: Slots;

    /// The tuple, once the object was read and [`Slots::check_missing`]
    /// passed: `None` only if a slot is still empty, which it cannot be then.
    #[doc(hidden)]
    fn take(slots: Self::Slots) -> Option<Self>;

    /// The schema of each parameter type, in order.
    fn schemas(generator: &mut SchemaGenerator) -> Vec<Schema>;
}

/// Where the values of one tool's arguments go while their object is read:
/// the non-generic driver hands each value's reader to the slot it names.
///
/// Implemented by `ParamList`'s tuples of `Option`s; not a public API.
#[doc(hidden)]
pub trait Slots {
    /// Reads the value of argument `index` in the fast pass.
    fn fill_fast(
        &mut self,
        index: usize,
        json: &mut serde_json::Deserializer<StrRead<'_>>,
        failure: &Failure,
    ) -> Result<(), serde_json::Error>;

    /// Reads the value of argument `index` in the tracked pass.
    fn fill_tracked(
        &mut self,
        index: usize,
        json: &mut serde_json::Deserializer<IoRead<UntilSkipped<'_>>>,
        failure: &Failure,
    ) -> Result<(), serde_json::Error>;

    /// At the end of the object: fills each absent optional argument with
    /// `None`, or fails on the first absent required one.
    fn check_missing(
        &mut self,
        params: &'static [ParamInfo],
        failure: &Failure,
    ) -> Result<(), serde_json::Error>;

    /// Empties every slot, for another pass.
    fn clear(&mut self);

    /// Slots with nothing in them (tuples of more than 12 are no `Default`).
    fn empty() -> Self
    where
        Self: Sized;
}

/// Decodes `text` (a JSON object, or empty for no arguments) into the
/// parameter tuple `P`, described by `params`.
///
/// Unknown arguments, unknown fields at any depth inside an argument,
/// duplicate keys, wrong types and missing required arguments are errors of
/// kind [`InvalidArguments`](crate::ErrorKind::InvalidArguments) naming the
/// argument's JSON path, enum variants included (`shape.Circle.fill`), each
/// key in it cut to 64 characters. Text that is not JSON says where it stops
/// being JSON.
///
/// One limit (D-51): a value serde reads into a buffer of its own before
/// decoding it (an internally tagged or untagged enum, a struct with a
/// `#[serde(flatten)]` field) skips its unknown fields inside that buffer,
/// out of the decoder's sight, so they are accepted, although the input
/// schema closes those objects too. Such a type refuses them itself with
/// `#[serde(deny_unknown_fields)]` (serde does not offer it with `flatten`);
/// the error then names the argument, not the field's path.
pub fn decode<P: ParamList>(text: &str, params: &'static [ParamInfo]) -> Result<P, ToolError> {
    decode_as::<P>(text, params, Watch::SkippedFields)
}

/// What the first pass of [`decode`] watches for besides serde's own errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Watch {
    /// Object fields a nested type skipped (refused as unknown).
    #[default]
    SkippedFields,
    /// Nothing: the arguments are [`Flat`], so no field can be skipped.
    Nothing,
}

/// [`decode`], its first pass watching for what `watch` says: the slots
/// of `P`, read by the shared [`read_args`], then taken out.
#[inline]
fn decode_as<P: ParamList>(
    text: &str,
    params: &'static [ParamInfo],
    watch: Watch,
) -> Result<P, ToolError> {
    let mut slots = P::Slots::empty();
    read_args(text, params, watch, &mut slots)?;
    match P::take(slots) {
        Some(values) => Ok(values),
        None => Err(ToolError::new(
            ErrorKind::InvalidArguments,
            support::mismatch::<serde_json::Error>().to_string(),
        )),
    }
}

/// Reads `text` into `slots`: the part of [`decode`] that no parameter
/// type changes, compiled once for every tool (D-65). `#[inline]`, so that
/// an optimized build still sees through to the slots' own code.
#[inline]
fn read_args(
    text: &str,
    params: &'static [ParamInfo],
    watch: Watch,
    slots: &mut dyn Slots,
) -> Result<(), ToolError> {
    let text = if text.trim_ascii().is_empty() {
        "{}"
    } else {
        text
    };
    // Fast first: no JSON path is tracked, which most calls never need.
    let fast = Failure {
        watch,
        ..Failure::default()
    };
    let mut json = serde_json::Deserializer::from_str(text);
    match read_object::<Fast>(&mut json, params, &fast, slots) {
        Ok(()) => Ok(()),
        Err(err) => Err(explain_failure(text, params, fast, &err, slots)),
    }
}

/// The error of a failed fast pass, with the failure's JSON path.
///
/// Cold and out of line: the error paths add nothing to the success path
/// (the decode's instruction count is in `BENCHMARKS.md`).
#[cold]
#[inline(never)]
fn explain_failure(
    text: &str,
    params: &'static [ParamInfo],
    fast: Failure,
    err: &serde_json::Error,
    slots: &mut dyn Slots,
) -> ToolError {
    // The error sits inside an argument and only a tracked pass can say
    // where: decode again, tracking (the same text fails the same way).
    if fast.param.get().is_some() {
        // The pass's type says it tracks (`Tracked`, `fill_tracked`).
        let tracked = Failure::default();
        // One reader for every tracked pass, the one a skipped field needs
        // (it stops once a field was skipped; until then it reads the text
        // as it is): a second reader type would compile every parameter
        // type's decoder once more (D-57).
        let reader = UntilSkipped {
            rest: text.as_bytes(),
            failure: &tracked,
        };
        slots.clear();
        let mut json = serde_json::Deserializer::from_reader(reader);
        if let Err(err) = read_object::<Tracked<'_>>(&mut json, params, &tracked, slots) {
            return tracked.into_error(params, &err);
        }
    }
    fast.into_error(params, err)
}

/// One pass over the JSON text: the object's entries into `slots`, then
/// nothing but whitespace.
#[inline]
fn read_object<'de, K: Pass<'de>>(
    json: &mut serde_json::Deserializer<K::Read>,
    params: &'static [ParamInfo],
    failure: &Failure,
    slots: &mut dyn Slots,
) -> Result<(), serde_json::Error> {
    de::Deserializer::deserialize_any(
        &mut *json,
        Args::<K> {
            params,
            failure,
            slots,
            pass: PhantomData,
        },
    )?;
    json.end()
}

/// A pass over the text: its reader, and the [`Slots`] method it fills with.
trait Pass<'de> {
    /// How this pass reads the text.
    type Read: serde_json::de::Read<'de>;

    /// [`Slots::fill_fast`] or [`Slots::fill_tracked`].
    fn fill(
        slots: &mut dyn Slots,
        index: usize,
        json: &mut serde_json::Deserializer<Self::Read>,
        failure: &Failure,
    ) -> Result<(), serde_json::Error>;
}

/// The first pass: the text read in place.
struct Fast;

impl<'de> Pass<'de> for Fast {
    type Read = StrRead<'de>;

    #[inline]
    fn fill(
        slots: &mut dyn Slots,
        index: usize,
        json: &mut serde_json::Deserializer<StrRead<'de>>,
        failure: &Failure,
    ) -> Result<(), serde_json::Error> {
        slots.fill_fast(index, json, failure)
    }
}

/// The pass after a failed one, tracking paths, through [`UntilSkipped`].
struct Tracked<'t>(PhantomData<&'t ()>);

impl<'de, 't> Pass<'de> for Tracked<'t> {
    type Read = IoRead<UntilSkipped<'t>>;

    fn fill(
        slots: &mut dyn Slots,
        index: usize,
        json: &mut serde_json::Deserializer<IoRead<UntilSkipped<'t>>>,
        failure: &Failure,
    ) -> Result<(), serde_json::Error> {
        slots.fill_tracked(index, json, failure)
    }
}

/// The argument text for the tracked pass, which stops reading once a field
/// was skipped.
///
/// `serde_ignored` sees a skipped field but names no enum variant in its
/// path; `serde_path_to_error` names them, but records a path only where an
/// error passes through it. So the tracked pass fails the read that comes
/// next, that of the skipped value itself, and the error's path is the
/// field's (`shape.Circle.fill`). Every tracked pass reads through it,
/// byte by byte (a failed call's second pass, off the success path); the
/// fast pass reads the text in place.
#[doc(hidden)]
pub struct UntilSkipped<'a> {
    rest: &'a [u8],
    failure: &'a Failure,
}

impl std::io::Read for UntilSkipped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.failure.skipped.get() {
            return Err(std::io::Error::other("a field was skipped"));
        }
        self.rest.read(buf)
    }
}

/// What the decoder learned about a failure that serde's error cannot carry:
/// which argument, and where inside it.
#[doc(hidden)]
#[derive(Default)]
pub struct Failure {
    /// What an untracked pass watches for besides serde's own errors.
    watch: Watch,
    /// The tracked pass saw a field skipped (see [`UntilSkipped`]).
    skipped: Cell<bool>,
    param: Cell<Option<usize>>,
    nested_path: RefCell<Option<String>>,
    /// An argument name the tool does not take.
    unknown: RefCell<Option<String>>,
}

impl Failure {
    fn into_error(self, params: &'static [ParamInfo], err: &serde_json::Error) -> ToolError {
        // Broken JSON: the position is what helps. serde_json files a number
        // too large for any Rust number under syntax too, but that text is
        // JSON, and the argument's path says more.
        let not_json = (err.is_syntax() || err.is_eof())
            && !err.to_string().starts_with("number out of range");
        let message = if not_json {
            format!("the arguments are not valid JSON: {err}")
        } else {
            without_position(err)
        };
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
        if not_json {
            return ToolError::invalid_argument(path, message);
        }
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

/// The visitor of the arguments' object, the same for every tool: it
/// resolves each key to its parameter and hands the value's reader to that
/// parameter's slot.
struct Args<'a, K> {
    params: &'static [ParamInfo],
    failure: &'a Failure,
    slots: &'a mut dyn Slots,
    pass: PhantomData<K>,
}

impl<'de, K: Pass<'de>> Visitor<'de> for Args<'_, K> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object holding the tool's arguments")
    }

    #[inline]
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let Args {
            params,
            failure,
            slots,
            ..
        } = self;
        // The arguments seen so far, a bit each (at most MAX_PARAMS).
        let mut seen = 0u32;
        while let Some(index) = support::next_param(&mut map, params, failure)? {
            failure.param.set(Some(index));
            let Some(bit) = u32::try_from(index).ok().and_then(|i| 1u32.checked_shl(i)) else {
                return Err(support::mismatch());
            };
            if seen & bit != 0 {
                return Err(support::given_twice(params[index].name));
            }
            seen |= bit;
            map.next_value_seed(Slot::<K> {
                index,
                slots: &mut *slots,
                failure,
                pass: PhantomData,
            })?;
            failure.param.set(None);
        }
        json_error(slots.check_missing(params, failure))
    }

    /// `null` stands for "no arguments", as some clients send it.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        json_error(self.slots.check_missing(self.params, self.failure))
    }
}

/// The value of one argument, read by its slot with the reader of the pass.
struct Slot<'a, K> {
    index: usize,
    slots: &'a mut dyn Slots,
    failure: &'a Failure,
    pass: PhantomData<K>,
}

impl<'de, K: Pass<'de>> DeserializeSeed<'de> for Slot<'_, K> {
    type Value = ();

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // serde_json's map hands a value's seed the deserializer the pass
        // reads with, `&mut serde_json::Deserializer<K::Read>`: seen as that
        // type, the value is read by the slot's own code, compiled once per
        // parameter type, not once per tuple and reader (D-65).
        match same_type::<D, &mut serde_json::Deserializer<K::Read>>(deserializer) {
            Ok(json) => json_error(K::fill(self.slots, self.index, json, self.failure)),
            Err(_) => Err(support::mismatch()),
        }
    }
}

/// A `serde_json::Error` as the error type `E` of the deserializer that
/// reads the arguments, which is `serde_json::Error`: kept as it is, its
/// category and position included (`into_error` reads them).
#[inline]
fn json_error<E: de::Error>(result: Result<(), serde_json::Error>) -> Result<(), E> {
    match result {
        Ok(()) => Ok(()),
        Err(err) => Err(same_type::<serde_json::Error, E>(err).unwrap_or_else(E::custom)),
    }
}

/// `value` as a `B`, if `A` and `B` are one type (up to lifetimes);
/// otherwise `value` back.
///
/// Only for the two places above, where the types can differ in lifetimes
/// only as far as the borrow of the deserializer goes (its reader's
/// lifetime is `'de` on both sides: serde_json implements `Deserializer<'de>`
/// for `&mut Deserializer<R>` only where `R: Read<'de>`, and `StrRead<'a>`
/// is `Read<'a>` alone), and the result is used within that borrow.
#[inline]
fn same_type<A, B>(value: A) -> Result<B, A> {
    // `typeid::of` is `TypeId::of` for types that need not be `'static`
    // (lifetimes erased).
    if typeid::of::<A>() != typeid::of::<B>() {
        return Err(value);
    }
    let value = std::mem::ManuallyDrop::new(value);
    // SAFETY: `A` and `B` are the same type but for lifetimes (above), so
    // they have one layout and one meaning; `value` is not dropped, so the
    // one value is moved, not duplicated.
    Ok(unsafe { std::mem::transmute_copy::<A, B>(&value) })
}

/// Resolves an argument name to its parameter's position.
struct ParamName<'f> {
    params: &'static [ParamInfo],
    failure: &'f Failure,
}

impl<'de> DeserializeSeed<'de> for ParamName<'_> {
    type Value = usize;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for ParamName<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an argument name")
    }

    #[inline]
    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        // The length and the first byte first: most names that differ
        // differ there. The rest byte by byte: parameter names are short,
        // and a call to `memcmp` costs more than comparing a few bytes.
        let bytes = key.as_bytes();
        let named = |p: &ParamInfo| {
            let name = p.name.as_bytes();
            name.len() == bytes.len()
                && name.first() == bytes.first()
                && name.iter().zip(bytes).all(|(a, b)| a == b)
        };
        if let Some(index) = self.params.iter().position(named) {
            return Ok(index);
        }
        Err(self.unknown(key))
    }
}

impl ParamName<'_> {
    #[cold]
    fn unknown<E: de::Error>(&self, key: &str) -> E {
        *self.failure.unknown.borrow_mut() = Some(key.chars().take(64).collect());
        E::custom(unknown_argument(key, self.params))
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
///
/// A derived `Deserialize` without `#[serde(deny_unknown_fields)]` hands
/// a field it does not know to `deserialize_ignored_any`; `serde_ignored`
/// sees exactly those calls, in the same pass, so a nested struct refuses
/// what the top level refuses without a second parse or a `Value` tree.
/// Maps and `serde_json::Value` keep every key and never reach it, which
/// is what their open schemas say too.
struct ParamValue<'f, T> {
    failure: &'f Failure,
    marker: PhantomData<T>,
}

impl<T: DeserializeOwned> ParamValue<'_, T> {
    /// As `deserialize`, tracking the JSON path of an error inside the
    /// value (the pass after a failed one).
    #[cold]
    fn deserialize_tracked<'de, D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<T, D::Error> {
        let mut track = serde_path_to_error::Track::new();
        let mut skipped: Option<(String, String)> = None;
        let mut on_skipped = |path: serde_ignored::Path<'_>| {
            if skipped.is_none() {
                skipped = Some(skipped_field(&path));
                // The next read fails, so `track` gets this field's path.
                self.failure.skipped.set(true);
            }
        };
        let result = T::deserialize(serde_ignored::Deserializer::new(
            serde_path_to_error::Deserializer::new(deserializer, &mut track),
            &mut on_skipped,
        ));
        let nested = match (&result, skipped) {
            (Err(_), None) => tracked_path(&track.path()),
            (Err(_), Some((_, field))) => {
                *self.failure.nested_path.borrow_mut() = Some(tracked_path(&track.path()));
                return Err(unknown_field(&field));
            }
            // Not reached: the skipped value's read fails. Should it not,
            // `serde_ignored`'s path (no variant names) still says where.
            (Ok(_), Some((path, field))) => {
                *self.failure.nested_path.borrow_mut() = Some(path);
                return Err(unknown_field(&field));
            }
            (Ok(_), None) => return result,
        };
        if !nested.is_empty() {
            *self.failure.nested_path.borrow_mut() = Some(nested);
        }
        result
    }
}

fn unknown_field<E: de::Error>(field: &str) -> E {
    E::custom(format_args!(
        "unknown field `{}`; send only the fields the schema lists",
        field.escape_debug()
    ))
}

/// A tracked error's path inside its argument (`[1].z`, `Circle.fill`; empty
/// at the argument itself), each key cut short as [`skipped_field`] cuts them.
fn tracked_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.extend(key.chars().take(64));
            }
            Segment::Unknown => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push('?');
            }
        }
    }
    text
}

impl<T: DeserializeOwned> ParamValue<'_, T> {
    /// As `deserialize`, without the JSON path of an error inside the value
    /// (`decode` decodes again, tracking, when there is one).
    fn deserialize_untracked<'de, D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<T, D::Error> {
        let mut skipped: Option<(String, String)> = None;
        let mut on_skipped = |path: serde_ignored::Path<'_>| {
            if skipped.is_none() {
                skipped = Some(skipped_field(&path));
            }
        };
        let value = T::deserialize(serde_ignored::Deserializer::new(
            deserializer,
            &mut on_skipped,
        ))?;
        match skipped {
            None => Ok(value),
            Some((path, field)) => {
                *self.failure.nested_path.borrow_mut() = Some(path);
                Err(unknown_field(&field))
            }
        }
    }
}

/// A skipped field's path inside its argument (`[1].z`, written as
/// `serde_path_to_error` writes paths) and its own name, both cut short
/// so hostile keys cannot make the message long.
fn skipped_field(path: &serde_ignored::Path<'_>) -> (String, String) {
    use serde_ignored::Path;
    fn write(path: &Path<'_>, out: &mut String) {
        match path {
            Path::Root => {}
            Path::Seq { parent, index } => {
                write(parent, out);
                out.push_str(&format!("[{index}]"));
            }
            Path::Map { parent, key } => {
                write(parent, out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.extend(key.chars().take(64));
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => write(parent, out),
        }
    }
    let mut text = String::new();
    write(path, &mut text);
    let field = match path {
        Path::Map { key, .. } => key.chars().take(64).collect(),
        _ => String::new(),
    };
    (text, field)
}

/// A parameter type no value of which is, or holds, a JSON object: a
/// number, `bool`, `char`, a string or path, and `Option`s and `Vec`s of
/// those. Decoding it can skip no object field, so [`decode`] need not
/// watch for one. Sealed: a type that only said so would lose the refusal
/// of unknown fields.
#[doc(hidden)]
pub trait Flat: sealed::Sealed {}

/// A tuple of [`Flat`] parameter types, decoded by the inherent
/// `ParamsOf::decode`; see [`ParamsOf`].
#[doc(hidden)]
pub trait FlatList {}

mod sealed {
    /// Only this module's list of types is [`Flat`](super::Flat).
    pub trait Sealed {}
}

macro_rules! flat {
    ($($T:ty),*) => {
        $( impl sealed::Sealed for $T {} impl Flat for $T {} )*
    };
}

flat!(
    bool,
    char,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    String,
    std::path::PathBuf
);
impl<T: Flat> sealed::Sealed for Option<T> {}
impl<T: Flat> Flat for Option<T> {}
impl<T: Flat> sealed::Sealed for Vec<T> {}
impl<T: Flat> Flat for Vec<T> {}

/// Support for the tuple impls of [`ParamList`]; not a public API.
#[doc(hidden)]
pub mod support {
    use super::*;

    /// The next argument's position, or `None` at the end of the object.
    #[inline]
    pub fn next_param<'de, M: MapAccess<'de>>(
        map: &mut M,
        params: &'static [ParamInfo],
        failure: &Failure,
    ) -> Result<Option<usize>, M::Error> {
        map.next_key_seed(ParamName { params, failure })
    }

    /// Reads an argument's value into `slot` in the fast pass: compiled
    /// once per parameter type, whatever tuples it is in.
    #[inline]
    pub fn fill_fast<T: DeserializeOwned>(
        slot: &mut Option<T>,
        json: &mut serde_json::Deserializer<StrRead<'_>>,
        failure: &Failure,
    ) -> Result<(), serde_json::Error> {
        let value = match failure.watch {
            // The tuple is `Flat`: nothing inside can be skipped.
            Watch::Nothing => T::deserialize(json)?,
            Watch::SkippedFields => ParamValue::<T> {
                failure,
                marker: PhantomData,
            }
            .deserialize_untracked(json)?,
        };
        *slot = Some(value);
        Ok(())
    }

    /// Reads an argument's value into `slot` in the tracked pass.
    #[cold]
    pub fn fill_tracked<T: DeserializeOwned>(
        slot: &mut Option<T>,
        json: &mut serde_json::Deserializer<IoRead<UntilSkipped<'_>>>,
        failure: &Failure,
    ) -> Result<(), serde_json::Error> {
        let value = ParamValue::<T> {
            failure,
            marker: PhantomData,
        }
        .deserialize_tracked(json)?;
        *slot = Some(value);
        Ok(())
    }

    #[cold]
    pub(super) fn given_twice<E: de::Error>(name: &str) -> E {
        E::custom(format_args!(
            "given more than once; send each argument once (`{name}`)"
        ))
    }

    /// The value of argument `index`, not sent: `None` for an optional
    /// argument, an error for a required one.
    #[cold]
    pub fn absent<T: DeserializeOwned>(
        slot: &mut Option<T>,
        index: usize,
        params: &'static [ParamInfo],
        failure: &Failure,
    ) -> Result<(), serde_json::Error> {
        let Some(param) = params.get(index) else {
            return Err(mismatch());
        };
        if !param.required {
            // An absent optional argument decodes as JSON null would: `None`.
            let unit = de::value::UnitDeserializer::<serde_json::Error>::new();
            if let Ok(value) = T::deserialize(unit) {
                *slot = Some(value);
                return Ok(());
            }
        }
        failure.param.set(Some(index));
        Err(de::Error::custom(format_args!(
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
    ($( $index:tt $T:ident ),*) => {
        impl<$($T: Flat),*> FlatList for ($($T,)*) {}

        impl<$($T: Param),*> Slots for ($(Option<$T>,)*) {
            #[allow(unused_variables)]
            #[inline]
            fn fill_fast(
                &mut self,
                index: usize,
                json: &mut serde_json::Deserializer<StrRead<'_>>,
                failure: &Failure,
            ) -> Result<(), serde_json::Error> {
                match index {
                    $( $index => support::fill_fast(&mut self.$index, json, failure), )*
                    _ => Err(support::mismatch()),
                }
            }

            #[allow(unused_variables)]
            fn fill_tracked(
                &mut self,
                index: usize,
                json: &mut serde_json::Deserializer<IoRead<UntilSkipped<'_>>>,
                failure: &Failure,
            ) -> Result<(), serde_json::Error> {
                match index {
                    $( $index => support::fill_tracked(&mut self.$index, json, failure), )*
                    _ => Err(support::mismatch()),
                }
            }

            #[allow(unused_variables, clippy::question_mark, reason = "no `Try` per tuple")]
            fn check_missing(
                &mut self,
                params: &'static [ParamInfo],
                failure: &Failure,
            ) -> Result<(), serde_json::Error> {
                // `match`, not `?`: no `Try` to instantiate per tuple.
                $(
                    if self.$index.is_none() {
                        if let Err(err) = support::absent(&mut self.$index, $index, params, failure) {
                            return Err(err);
                        }
                    }
                )*
                Ok(())
            }

            fn clear(&mut self) {
                $( self.$index = None; )*
            }

            #[inline]
            #[allow(clippy::unused_unit, reason = "the empty tuple's slots are `()` too")]
            fn empty() -> Self {
                ($( None::<$T>, )*)
            }
        }

        impl<$($T: Param),*> ParamList for ($($T,)*) {
            type Slots = ($(Option<$T>,)*);

            #[allow(non_snake_case, irrefutable_let_patterns)]
            #[inline]
            fn take(slots: Self::Slots) -> Option<Self> {
                // A pattern, not `?` per value: no `Try` per tuple.
                let ($( Some($T), )*) = slots else {
                    return None;
                };
                Some(($( $T, )*))
            }

            #[allow(unused_variables)]
            fn schemas(generator: &mut SchemaGenerator) -> Vec<Schema> {
                vec![$( generator.subschema_for::<$T>() ),*]
            }
        }
    };
}

param_list!();
param_list!(0 A);
param_list!(0 A, 1 B);
param_list!(0 A, 1 B, 2 C);
param_list!(0 A, 1 B, 2 C, 3 D);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 N);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 N, 13 O);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 N, 13 O, 14 P);
param_list!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L, 12 N, 13 O, 14 P, 15 Q);

/// The most parameters one tool may have (the largest [`ParamList`] tuple);
/// `rustchain-macros` refuses more with the same number.
pub(crate) const MAX_PARAMS: usize = 16;

// The largest tuple above has exactly MAX_PARAMS elements.
const _: () = {
    const fn is_param_list<T: ParamList>() {}
    type Largest = (
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
    );
    is_param_list::<Largest>();
    assert!(MAX_PARAMS == 16);
};

#[cfg(test)]
mod tests {
    use super::*;

    static PARAMS: [ParamInfo; 2] = [
        ParamInfo {
            name: "city",
            description: "City name",
            required: true,
        },
        ParamInfo {
            name: "days",
            description: "How many days",
            required: false,
        },
    ];

    /// A nested type that does not refuse unknown fields itself.
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    struct Point {
        #[allow(dead_code, reason = "decoded, never read")]
        x: i64,
    }

    /// Both passes' outcome on `text`, as comparable text.
    fn outcome<P: ParamList + std::fmt::Debug>(text: &str, watch: Watch) -> String {
        match decode_as::<P>(text, &PARAMS, watch) {
            Ok(value) => format!("ok {value:?}"),
            Err(err) => format!("{:?} {:?} {}", err.kind(), err.path(), err.message()),
        }
    }

    #[test]
    #[allow(
        clippy::needless_borrow,
        reason = "the borrow is the dispatch under test, written as #[tool] writes it"
    )]
    fn flat_arguments_skip_the_watch_and_decode_and_fail_alike() {
        fn flat<P: FlatList>() {}
        flat::<(String, Option<u8>)>();
        flat::<(i64, Vec<Option<std::path::PathBuf>>)>();
        for text in [
            r#"{"city": "Oslo", "days": 3}"#,
            r#"{"days": null, "city": "Oslo"}"#,
            r#"{"city": "Oslo", "days": "3"}"#,
            r#"{"city": "Oslo", "days": 300}"#,
            r#"{"city": "Oslo", "days": {"n": 3}}"#,
            r#"{"city": {"name": "Oslo"}}"#,
            r#"{"city": "Oslo", "weeks": 1}"#,
            r#"{"city": "Oslo", "city": "Bergen"}"#,
            r#"{"days": 3}"#,
            r#"{"city": "Oslo""#,
            "null",
            "",
            "[1]",
        ] {
            assert_eq!(
                outcome::<(String, Option<u8>)>(text, Watch::Nothing),
                outcome::<(String, Option<u8>)>(text, Watch::SkippedFields),
                "{text}"
            );
        }
        let (city, days) = (&ParamsOf::<(String, Option<u8>)>::NEW)
            .decode(r#"{"city": "Oslo", "days": 3}"#, &PARAMS)
            .expect("valid arguments");
        assert_eq!((city.as_str(), days), ("Oslo", Some(3)));
    }

    #[test]
    #[allow(
        clippy::needless_borrow,
        reason = "the borrow is the dispatch under test, written as #[tool] writes it"
    )]
    fn a_tuple_holding_an_object_type_still_refuses_unknown_nested_fields() {
        let err = (&ParamsOf::<(Point, Option<u8>)>::NEW)
            .decode(r#"{"city": {"x": 1, "y": 2}}"#, &PARAMS)
            .expect_err("`y` is no field of `Point`");
        assert_eq!(err.kind(), ErrorKind::InvalidArguments);
        assert_eq!(err.path(), Some("city.y"));
        assert!(err.message().contains("unknown field `y`"), "{err}");
    }

    #[test]
    fn the_largest_tuple_decodes_through_the_shared_driver() {
        // Past 12 a tuple is no `Default`: its slots are made by `empty`.
        static SIXTEEN: [ParamInfo; MAX_PARAMS] = {
            const NAMES: [&str; MAX_PARAMS] = [
                "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p",
            ];
            let mut params = [ParamInfo {
                name: "",
                description: "one",
                required: true,
            }; MAX_PARAMS];
            let mut i = 0;
            while i < MAX_PARAMS {
                params[i].name = NAMES[i];
                i += 1;
            }
            params[MAX_PARAMS - 1].required = false;
            params
        };
        type Sixteen = (
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            u8,
            String,
            Option<u8>,
        );
        let text = r#"{"p": 7, "a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7,
            "h": 8, "i": 9, "j": 10, "k": 11, "l": 12, "m": 13, "n": 14, "o": "x"}"#;
        let values: Sixteen = decode(text, &SIXTEEN).expect("valid arguments");
        assert_eq!((values.0, values.13, values.14.as_str()), (1, 14, "x"));
        assert_eq!(values.15, Some(7));
        let without_p = text.replacen(r#""p": 7,"#, "", 1);
        let values: Sixteen = decode(&without_p, &SIXTEEN).expect("`p` is optional");
        assert_eq!(values.15, None);
        let Err(err) = decode::<Sixteen>(&text.replacen(r#""o": "x""#, r#""o": 1"#, 1), &SIXTEEN)
        else {
            panic!("a number where a string goes");
        };
        assert_eq!(err.path(), Some("o"));
        let Err(err) = decode::<Sixteen>(r#"{"a": 1}"#, &SIXTEEN) else {
            panic!("most are missing");
        };
        assert_eq!(err.path(), Some("b"));
        assert!(
            err.message()
                .starts_with("argument `b`: missing required argument `b` (one)"),
            "{err}"
        );
    }

    #[test]
    fn type_ids_ignore_lifetimes_and_tell_types_apart() {
        fn id_of_borrow(text: &str) -> std::any::TypeId {
            fn of<T>(_: &T) -> std::any::TypeId {
                typeid::of::<T>()
            }
            of(&text)
        }
        let local = String::from("x");
        assert_eq!(id_of_borrow(&local), typeid::of::<&'static str>());
        assert_ne!(typeid::of::<&str>(), typeid::of::<&String>());
        assert_eq!(same_type::<u8, u8>(1), Ok(1));
        assert_eq!(same_type::<u8, i8>(1), Err(1));
    }

    #[test]
    fn decodes_the_tuple_and_names_the_bad_argument() {
        let (city, days): (String, Option<u8>) =
            decode(r#"{"city": "Oslo"}"#, &PARAMS).expect("valid arguments");
        assert_eq!((city.as_str(), days), ("Oslo", None));
        let err = decode::<(String, Option<u8>)>(r#"{"city": "Oslo", "days": "3"}"#, &PARAMS)
            .expect_err("a string where a number goes");
        assert_eq!(err.path(), Some("days"));
    }
}
