//! Every rule a `#[tool]` author can break, each reported on the exact span
//! with a message that says what to do. All problems are reported together.

use syn::spanned::Spanned;
use syn::{Safety, Type};

use crate::ast::{Param, Tool, is_context};
use crate::attr::parse_duration_ms;

/// Must match `decode::MAX_PARAMS` in the runtime.
const MAX_PARAMS: usize = 16;

pub fn check(tool: &Tool) -> syn::Result<()> {
    let mut errors = tool.problems.clone();
    let mut fail =
        |span: proc_macro2::Span, message: &str| errors.push(syn::Error::new(span, message));
    let sig = &tool.item.sig;

    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        fail(
            sig.generics.span(),
            "a tool cannot be generic: its parameters must have concrete types so a schema can describe them",
        );
    }
    if sig.constness.is_some() {
        fail(
            sig.constness.span(),
            "a tool cannot be a `const fn`; remove `const`",
        );
    }
    if let Safety::Unsafe(token) = &sig.safety {
        fail(
            token.span,
            "a tool cannot be `unsafe`: a model must never be able to call undefined behaviour; wrap the unsafe code in a safe function",
        );
    }
    if let Some(abi) = &sig.abi {
        fail(
            abi.span(),
            "a tool cannot have an `extern` ABI; write a plain Rust function",
        );
    }
    if let Some(variadic) = &sig.variadic {
        fail(variadic.span(), "a tool cannot be variadic");
    }

    let (name, name_span) = tool.name();
    if !is_portable_name(&name) {
        fail(
            name_span,
            &format!(
                "tool name `{name}` is not portable: names must start with a letter and hold at most 64 letters, digits, `_` or `-` (what OpenAI, Anthropic, Gemini and MCP all accept); choose another with #[tool(name = \"...\")]"
            ),
        );
    }
    if tool.description().trim().is_empty() {
        let span = tool
            .args
            .description
            .as_ref()
            .map_or(sig.ident.span(), |d| d.span());
        fail(
            span,
            "a tool needs a description for the model: add a `///` doc comment above the function saying what it does, or #[tool(description = \"...\")]",
        );
    }
    if let Some(title) = &tool.args.title
        && title.value().trim().is_empty()
    {
        fail(
            title.span(),
            "the title is empty; give a short title or leave it out",
        );
    }
    for tag in &tool.args.tags {
        if tag.value().trim().is_empty() {
            fail(tag.span(), "a tag cannot be empty");
        }
    }
    if let Some(timeout) = &tool.args.timeout
        && parse_duration_ms(&timeout.value()).is_none()
    {
        fail(
            timeout.span(),
            "the timeout must be a positive whole number with a unit: \"500ms\", \"30s\", \"5m\" or \"1h\"",
        );
    }

    let contexts = tool
        .params
        .iter()
        .filter(|p| matches!(p, Param::Context))
        .count();
    if contexts > 1 {
        fail(
            sig.inputs.span(),
            "a tool takes the `&ToolContext` at most once",
        );
    }
    for arg in tool.args() {
        if let Some(message) = unsupported_type(&arg.ty) {
            fail(arg.ty.span(), message);
        } else if arg.description.is_empty() {
            fail(
                arg.ident.span(),
                &format!(
                    "parameter `{}` needs a description for the model: add a `///` comment above it saying what it means",
                    arg.name
                ),
            );
        }
    }
    if tool.args().count() > MAX_PARAMS {
        fail(
            sig.inputs.span(),
            &format!(
                "a tool takes at most {MAX_PARAMS} parameters; group related ones into a struct that derives Deserialize and JsonSchema"
            ),
        );
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output
        && matches!(**ty, Type::ImplTrait(_))
    {
        fail(
            ty.span(),
            "a tool must return a concrete type (one that implements Serialize and JsonSchema), not `impl Trait`",
        );
    }

    match errors.into_iter().reduce(|mut all, next| {
        all.combine(next);
        all
    }) {
        Some(all) => Err(all),
        None => Ok(()),
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

/// Why `ty` cannot be a parameter the model fills in, if it cannot.
fn unsupported_type(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Reference(reference)
            if reference.mutability.is_some()
                && is_context(&Type::Reference(syn::TypeReference {
                    mutability: None,
                    ..reference.clone()
                })) =>
        {
            Some("take the context by shared reference: `ctx: &ToolContext`")
        }
        Type::Reference(_) => Some(
            "a tool parameter must own its value, since it is decoded from the model's JSON: use `String` for `&str`, `Vec<T>` for `&[T]`; the only reference a tool may take is `&ToolContext`",
        ),
        Type::ImplTrait(_) => Some("a tool parameter needs a concrete type, not `impl Trait`"),
        Type::Infer(_) => Some("a tool parameter needs a written type"),
        Type::Path(path)
            if path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "ToolContext") =>
        {
            Some("take the context by reference: `ctx: &ToolContext`")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::is_portable_name;

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
}
