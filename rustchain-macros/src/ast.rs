//! The function under `#[tool]`, as the macro's own typed model.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};

use syn::{
    Attribute, FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Signature, Type,
    Visibility,
};

use crate::attr::{Guard, ToolArgs, doc_text, guard, is_guard};

/// Everything the expansion needs, gathered once.
pub struct Tool {
    /// The function, with the `///` comments on its parameters removed
    /// (rustc rejects doc comments there).
    pub item: Function,
    pub args: ToolArgs,
    /// The function's own doc comment, and where it starts.
    pub doc: (String, Option<Span>),
    pub params: Vec<Param>,
    pub output: Output,
    /// Problems found while reading the function, reported with the rest by `valid`.
    pub problems: Vec<syn::Error>,
}

/// A function as `#[tool]` reads it: its attributes, visibility and
/// signature parsed, its body kept as the tokens written.
///
/// Nothing reads the body, so it is not parsed into statements and printed
/// back (what `syn::ItemFn` does): per tool that work grows with the body,
/// and a proc macro runs unoptimized in a dev build. rustc parses the body
/// once, and reports a syntax error in it as it would without `#[tool]`.
pub struct Function {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    /// The `{ ... }` group.
    pub body: Group,
}

impl Parse for Function {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body: Group = input.parse()?;
        if body.delimiter() != Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected a function body"));
        }
        Ok(Function {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl ToTokens for Function {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

#[allow(
    clippy::large_enum_variant,
    reason = "a handful per tool, built once at compile time"
)]
pub enum Param {
    /// A value the model supplies.
    Arg(Arg),
    /// `&ToolContext`, injected by the runtime.
    Context,
}

pub struct Arg {
    /// The Rust binding.
    pub ident: Ident,
    /// The JSON name (the binding without `r#`).
    pub name: String,
    pub ty: Type,
    pub description: String,
    /// `Option<T>`: the model may leave it out.
    pub optional: bool,
    /// `#[fs(read)]`, `#[net]`, ...: what the value will be used for.
    pub guard: Option<Guard>,
}

pub enum Output {
    /// `T` (including `()`), encoded as JSON.
    Value(Type),
    /// `Result<T, E>`: `T` encoded; `E` reported as a failure with its
    /// message, or with its own kind if it is the runtime's `ToolError`
    /// (told by its type when the tool runs, not by its name here).
    Result { ok: Type },
}

impl Tool {
    pub fn parse(args: TokenStream, item: TokenStream) -> syn::Result<Tool> {
        let args = ToolArgs::parse(args)?;
        let mut item: Function = syn::parse2(item).map_err(|err| {
            syn::Error::new(
                err.span(),
                "#[tool] goes on a free function, like `fn get_weather(city: String) -> String`",
            )
        })?;
        let doc = doc_text(&item.attrs);
        let mut problems = Vec::new();
        let params = item
            .sig
            .inputs
            .iter_mut()
            .filter_map(|input| Param::read(input).map_err(|err| problems.push(err)).ok())
            .collect();
        let output = Output::read(&item.sig.output);
        Ok(Tool {
            item,
            args,
            doc,
            params,
            output,
            problems,
        })
    }

    pub fn args(&self) -> impl Iterator<Item = &Arg> {
        self.params.iter().filter_map(|p| match p {
            Param::Arg(arg) => Some(arg),
            Param::Context => None,
        })
    }

    /// The name models call the tool by: `name = "..."`, else the function's name.
    pub fn name(&self) -> (String, Span) {
        match &self.args.name {
            Some(lit) => (lit.value(), lit.span()),
            None => (
                self.item.sig.ident.unraw().to_string(),
                self.item.sig.ident.span(),
            ),
        }
    }

    pub fn description(&self) -> String {
        match &self.args.description {
            Some(lit) => lit.value(),
            None => self.doc.0.clone(),
        }
    }

    pub fn is_async(&self) -> bool {
        self.item.sig.asyncness.is_some()
    }
}

impl Param {
    fn read(input: &mut FnArg) -> syn::Result<Param> {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new_spanned(
                    &*receiver,
                    "a tool cannot take `self`; make it a free function and pass what it needs as parameters",
                ));
            }
            FnArg::Typed(typed) => typed,
        };
        let ident = match &*typed.pat {
            Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => {
                binding.ident.clone()
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "a tool parameter must be a plain name, like `city: String`; destructure it inside the function",
                ));
            }
        };
        let guard = guard(&typed.attrs)?;
        typed.attrs.retain(|attr| !is_guard(attr));
        if is_context(&typed.ty) {
            if let Some(guard) = guard {
                return Err(syn::Error::new(
                    guard.span,
                    "the context is not a value from the model; guards go on the parameters they check",
                ));
            }
            return Ok(Param::Context);
        }
        let (description, _) = doc_text(&typed.attrs);
        typed.attrs.retain(|attr| !attr.path().is_ident("doc"));
        Ok(Param::Arg(Arg {
            name: ident.unraw().to_string(),
            optional: last_segment_is(&typed.ty, "Option").is_some(),
            ty: (*typed.ty).clone(),
            ident,
            description,
            guard,
        }))
    }
}

impl Output {
    fn read(output: &ReturnType) -> Output {
        let ty = match output {
            ReturnType::Default => return Output::Value(syn::parse_quote!(())),
            ReturnType::Type(_, ty) => ty,
        };
        match last_segment_is(ty, "Result") {
            Some(args) if !args.is_empty() => Output::Result {
                ok: args[0].clone(),
            },
            _ => Output::Value((**ty).clone()),
        }
    }
}

/// `&ToolContext` (by any path): the one reference a tool may take.
pub fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => {
            last_segment_is(&reference.elem, "ToolContext").is_some()
        }
        _ => false,
    }
}

/// When `ty`'s path ends in `name<...>`, that segment's type arguments.
fn last_segment_is(ty: &Type, name: &str) -> Option<Vec<Type>> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let types = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(types)
}
