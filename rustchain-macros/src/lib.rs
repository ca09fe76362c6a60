//! The `#[tool]` attribute of RustChain Tools.
//!
//! Use it through the `rustchain` crate (`rustchain::tool`); the generated code
//! names the runtime by that path unless `#[tool(crate = "...")]` says otherwise.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Turns a plain function into a tool an AI model can call.
///
/// See the `rustchain` crate's documentation for the attribute's arguments.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    ast::Tool::parse(args.into(), item.into())
        .and_then(|tool| valid::check(&tool).map(|()| tool))
        .map(|tool| expand::expand(&tool))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
