//! Every rule a `#[tool]` author can break, each reported on the exact span
//! with a message that says what to do. All problems are reported together.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{FnArg, GenericArgument, GenericParam, PathArguments, ReturnType, Safety, Type};

use crate::ast::{Tool, is_context};
use crate::attr::parse_duration_ms;

/// Must match `decode::MAX_PARAMS` in the runtime.
const MAX_PARAMS: usize = 16;

pub fn check(tool: &Tool) -> syn::Result<()> {
    let mut errors = Errors(tool.problems.clone());
    check_signature(tool, &mut errors);
    check_arguments(tool, &mut errors);
    check_params(tool, &mut errors);
    check_output(tool, &mut errors);
    errors.finish()
}

/// The problems found so far; all are reported together.
struct Errors(Vec<syn::Error>);

impl Errors {
    /// An error on one token.
    fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, message));
    }

    /// An error covering all of `tokens`, from the first to the last.
    fn on(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new_spanned(tokens, message));
    }

    fn finish(self) -> syn::Result<()> {
        match self.0.into_iter().reduce(|mut all, next| {
            all.combine(next);
            all
        }) {
            Some(all) => Err(all),
            None => Ok(()),
        }
    }
}

/// What the function is: not generic, const, unsafe, extern or variadic.
fn check_signature(tool: &Tool, errors: &mut Errors) {
    let sig = &tool.item.sig;
    for param in &sig.generics.params {
        match param {
            GenericParam::Lifetime(lifetime) => errors.on(
                &lifetime.lifetime,
                format_args!(
                    "a tool cannot have lifetime parameters: its arguments are decoded into owned values, and `&ToolContext` needs no named lifetime; remove `{}`",
                    lifetime.lifetime
                ),
            ),
            GenericParam::Type(ty) => errors.on(
                &ty.ident,
                format_args!(
                    "a tool cannot be generic: a schema must describe each parameter, so replace `{}` with a concrete type",
                    ty.ident
                ),
            ),
            GenericParam::Const(constant) => errors.on(
                &constant.ident,
                format_args!(
                    "a tool cannot be generic: replace the const parameter `{}` with a constant or a parameter the model fills in",
                    constant.ident
                ),
            ),
        }
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.on(
            where_clause,
            "a tool cannot have a `where` clause: its types must be concrete; remove it",
        );
    }
    if let Some(constness) = &sig.constness {
        errors.at(
            constness.span,
            "a tool cannot be a `const fn`; remove `const`",
        );
    }
    if let Safety::Unsafe(token) = &sig.safety {
        errors.at(
            token.span,
            "a tool cannot be `unsafe`: a model must never be able to call undefined behaviour; wrap the unsafe code in a safe function",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.on(
            abi,
            "a tool cannot have an `extern` ABI; remove it and write a plain Rust function",
        );
    }
    if let Some(self_type) = first_self_type(sig) {
        errors.at(
            self_type,
            "#[tool] goes on a free function at module level, and `Self` says this one is in an `impl` block; move it out of the `impl` and name the type instead of `Self`",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.on(
            variadic,
            "a tool cannot be variadic; take a `Vec<T>` parameter instead",
        );
    }
}

/// Where the parameters or the return type name `Self`, if they do.
///
/// Only an associated function can say `Self`; the generated code could not
/// name that type outside the `impl`, so this is the one error to show.
fn first_self_type(sig: &syn::Signature) -> Option<Span> {
    fn find(tokens: proc_macro2::TokenStream) -> Option<Span> {
        tokens.into_iter().find_map(|token| match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "Self" => Some(ident.span()),
            proc_macro2::TokenTree::Group(group) => find(group.stream()),
            _ => None,
        })
    }
    let types = sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(typed) => Some(typed.ty.to_token_stream()),
        FnArg::Receiver(_) => None,
    });
    types
        .chain(std::iter::once(sig.output.to_token_stream()))
        .find_map(find)
}

/// What `#[tool(...)]` and the doc comment say: name, description, title, tags, timeout.
fn check_arguments(tool: &Tool, errors: &mut Errors) {
    let (name, name_span) = tool.name();
    if !is_portable_name(&name) {
        errors.at(
            name_span,
            format_args!(
                "tool name `{name}` is not portable: names must start with a letter and hold at most 64 letters, digits, `_` or `-` (what OpenAI, Anthropic, Gemini and MCP all accept); choose another with #[tool(name = \"...\")]"
            ),
        );
    }
    if tool.description().trim().is_empty() {
        match &tool.args.description {
            Some(description) => errors.at(
                description.span(),
                "the description is empty; say what the tool does, or remove `description = ...` to use the function's `///` doc comment",
            ),
            None => errors.at(
                tool.item.sig.ident.span(),
                "a tool needs a description for the model: add a `///` doc comment above the function saying what it does, or #[tool(description = \"...\")]",
            ),
        }
    }
    if let Some(title) = &tool.args.title
        && title.value().trim().is_empty()
    {
        errors.at(
            title.span(),
            "the title is empty; give a short title or leave it out",
        );
    }
    for tag in &tool.args.tags {
        if tag.value().trim().is_empty() {
            errors.at(
                tag.span(),
                "a tag cannot be empty; name it, like \"math\", or remove it",
            );
        }
    }
    if let Some(timeout) = &tool.args.timeout
        && parse_duration_ms(&timeout.value()).is_none()
    {
        errors.at(
            timeout.span(),
            "the timeout must be a positive whole number with a unit: \"500ms\", \"30s\", \"5m\" or \"1h\"",
        );
    }
}

/// The parameters: owned, described, at most one context, not too many.
fn check_params(tool: &Tool, errors: &mut Errors) {
    let contexts = tool.item.sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(typed) if is_context(&typed.ty) => Some(typed),
        _ => None,
    });
    for extra in contexts.skip(1) {
        errors.on(
            extra,
            "a tool takes the `&ToolContext` once; remove this second one and use the first",
        );
    }
    for arg in tool.args() {
        if let Some((culprit, message)) = unsupported_type(&arg.ty) {
            errors.on(culprit, message);
        } else if arg.description.is_empty() {
            errors.at(
                arg.ident.span(),
                format_args!(
                    "parameter `{}` needs a description for the model: add a `///` comment above it saying what it means",
                    arg.name
                ),
            );
        }
    }
    let extra: Vec<_> = tool.args().skip(MAX_PARAMS).collect();
    if let (Some(first), Some(last)) = (extra.first(), extra.last()) {
        let (ident, ty) = (&first.ident, &last.ty);
        errors.on(
            quote::quote!(#ident #ty),
            format_args!(
                "a tool takes at most {MAX_PARAMS} parameters and this one takes {}; group related ones into a struct that derives Deserialize and JsonSchema",
                MAX_PARAMS + extra.len()
            ),
        );
    }
}

/// The return type: concrete.
fn check_output(tool: &Tool, errors: &mut Errors) {
    if let ReturnType::Type(_, ty) = &tool.item.sig.output
        && let Some(impl_trait) = find_type(ty, &|t| matches!(t, Type::ImplTrait(_)))
    {
        errors.on(
            impl_trait,
            "a tool must return a concrete type (one that implements Serialize and JsonSchema), not `impl Trait`",
        );
    }
}

/// `^[A-Za-z][A-Za-z0-9_-]{0,63}$`
pub fn is_portable_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b) if b.is_ascii_alphabetic())
        && bytes.len() <= 64
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

/// Why `ty` cannot be a parameter the model fills in, if it cannot, and the
/// part of `ty` to blame.
fn unsupported_type(ty: &Type) -> Option<(&Type, String)> {
    if let Type::Reference(reference) = ty
        && last_ident_is(&reference.elem, "ToolContext")
    {
        let message = "take the context by shared reference: `ctx: &ToolContext`";
        return Some((ty, message.to_owned()));
    }
    if last_ident_is(ty, "ToolContext") {
        let message = "take the context by reference: `ctx: &ToolContext`";
        return Some((ty, message.to_owned()));
    }
    let culprit = find_type(ty, &|t| {
        matches!(
            t,
            Type::Reference(_) | Type::ImplTrait(_) | Type::Infer(_) | Type::Ptr(_)
        )
    })?;
    let message = match culprit {
        Type::Reference(reference) => format!(
            "a tool parameter must own its value, since it is decoded from the model's JSON: write `{}` instead of `{}`; the only reference a tool may take is `&ToolContext`",
            owned(&reference.elem),
            compact(culprit)
        ),
        Type::ImplTrait(_) => "a tool parameter needs a concrete type that implements Deserialize and JsonSchema, not `impl Trait`".to_owned(),
        Type::Ptr(_) => "a tool parameter cannot be a raw pointer: it is decoded from the model's JSON; take an owned value".to_owned(),
        _ => "a tool parameter needs a written type, not `_`".to_owned(),
    };
    Some((culprit, message))
}

/// The first type within `ty` (itself included, then its type arguments,
/// elements and fields) that `wanted` picks.
fn find_type<'a>(ty: &'a Type, wanted: &dyn Fn(&Type) -> bool) -> Option<&'a Type> {
    if wanted(ty) {
        return Some(ty);
    }
    match ty {
        Type::Path(path) => path.path.segments.iter().find_map(|segment| {
            let PathArguments::AngleBracketed(args) = &segment.arguments else {
                return None;
            };
            args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(inner) => find_type(inner, wanted),
                _ => None,
            })
        }),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(|t| find_type(t, wanted)),
        Type::Array(array) => find_type(&array.elem, wanted),
        Type::Slice(slice) => find_type(&slice.elem, wanted),
        Type::Paren(paren) => find_type(&paren.elem, wanted),
        Type::Group(group) => find_type(&group.elem, wanted),
        _ => None,
    }
}

fn last_ident_is(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none()
        && path.path.segments.last().is_some_and(|s| s.ident == name))
}

/// The owned type to write for a reference to `elem`: `String` for `str`, `Vec<T>` for `[T]`.
fn owned(elem: &Type) -> String {
    let owned_names = [
        ("str", "String"),
        ("Path", "PathBuf"),
        ("OsStr", "OsString"),
    ];
    match elem {
        Type::Slice(slice) => format!("Vec<{}>", compact(&slice.elem)),
        Type::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
            let ident = &path.path.segments[0].ident;
            owned_names
                .iter()
                .find(|(borrowed, _)| ident == borrowed)
                .map_or_else(|| compact(elem), |(_, owned)| (*owned).to_owned())
        }
        _ => compact(elem),
    }
}

/// A type as a person writes it (`Vec<u8>`, not `Vec < u8 >`).
fn compact(ty: &Type) -> String {
    let spaced = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(spaced.len());
    let mut chars = spaced.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let glue = c == ' '
            && (out.ends_with(['<', '&', '(', '[', ':'])
                || matches!(next, Some('<' | '>' | ',' | ')' | ']' | ':' | ';')));
        if !glue {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{compact, is_portable_name, owned};

    #[test]
    fn portable_names() {
        assert!(is_portable_name("fs_read"));
        assert!(is_portable_name("Get-Weather2"));
        assert!(is_portable_name(&"a".repeat(64)));
        assert!(!is_portable_name(&"a".repeat(65)));
        assert!(!is_portable_name("1tool"));
        assert!(!is_portable_name("_tool"));
        assert!(!is_portable_name(""));
        assert!(!is_portable_name("get.weather"));
        assert!(!is_portable_name("wetter_über"));
    }

    #[test]
    fn types_print_as_written() {
        let ty: syn::Type = syn::parse_quote!(&'a [Option<std::vec::Vec<u8>>; 3]);
        assert_eq!(compact(&ty), "&'a [Option<std::vec::Vec<u8>>; 3]");
        let ty: syn::Type = syn::parse_quote!((u8, &mut String));
        assert_eq!(compact(&ty), "(u8, &mut String)");
    }

    #[test]
    fn references_suggest_their_owned_form() {
        assert_eq!(owned(&syn::parse_quote!(str)), "String");
        assert_eq!(owned(&syn::parse_quote!([u8])), "Vec<u8>");
        assert_eq!(owned(&syn::parse_quote!(Path)), "PathBuf");
        assert_eq!(owned(&syn::parse_quote!(Point)), "Point");
    }
}
