//! Parsing `#[tool(...)]` arguments and the doc comments that describe a tool.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Attribute, Expr, Lit, LitBool, LitStr, Meta, Path};

/// The arguments of `#[tool(...)]`, as written.
#[derive(Default)]
pub struct ToolArgs {
    pub name: Option<LitStr>,
    pub title: Option<LitStr>,
    pub description: Option<LitStr>,
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
    pub tags: Vec<LitStr>,
    pub timeout: Option<LitStr>,
    pub krate: Option<Path>,
}

const KEYS: &str = "name, title, description, read_only, destructive, idempotent, open_world, tags(...), timeout, crate";

impl ToolArgs {
    pub fn parse(tokens: TokenStream) -> syn::Result<ToolArgs> {
        let mut args = ToolArgs::default();
        let parser = syn::meta::parser(|meta| args.parse_one(&meta));
        parser.parse2(tokens)?;
        Ok(args)
    }

    fn parse_one(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "name" => set_once(meta, &mut self.name, string(meta)?),
            "title" => set_once(meta, &mut self.title, string(meta)?),
            "description" => set_once(meta, &mut self.description, string(meta)?),
            "timeout" => set_once(meta, &mut self.timeout, string(meta)?),
            "read_only" => set_once(meta, &mut self.read_only, flag(meta)?),
            "destructive" => set_once(meta, &mut self.destructive, flag(meta)?),
            "idempotent" => set_once(meta, &mut self.idempotent, flag(meta)?),
            "open_world" => set_once(meta, &mut self.open_world, flag(meta)?),
            "crate" => {
                let path = string(meta)?.parse::<Path>()?;
                set_once(meta, &mut self.krate, path)
            }
            "tags" => self.parse_tags(meta),
            _ => Err(meta.error(format_args!(
                "unknown #[tool] argument `{}`; the arguments are: {KEYS}",
                quote::ToTokens::to_token_stream(&meta.path)
                    .to_string()
                    .replace(' ', "")
            ))),
        }
    }

    fn parse_tags(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let content;
        syn::parenthesized!(content in meta.input);
        let tags =
            content.parse_terminated(<LitStr as syn::parse::Parse>::parse, syn::Token![,])?;
        self.tags.extend(tags);
        Ok(())
    }
}

fn set_once<T>(meta: &ParseNestedMeta<'_>, slot: &mut Option<T>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error("this #[tool] argument is given twice; keep one"));
    }
    *slot = Some(value);
    Ok(())
}

fn string(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    meta.value()?.parse::<LitStr>().map_err(|err| {
        syn::Error::new(
            err.span(),
            "expected a string literal, like `name = \"get_weather\"`",
        )
    })
}

/// `read_only` alone means `read_only = true`.
fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
        return Ok(true);
    }
    Ok(meta.value()?.parse::<LitBool>()?.value)
}

/// The text of the `///` doc comments among `attrs`, with the one space
/// rustdoc strips removed, and the span of the first.
pub fn doc_text(attrs: &[Attribute]) -> (String, Option<Span>) {
    let mut lines = Vec::new();
    let mut span = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let Meta::NameValue(nv) = &attr.meta
            && let Expr::Lit(lit) = &nv.value
            && let Lit::Str(text) = &lit.lit
        {
            span.get_or_insert(text.span());
            let line = text.value();
            lines.push(
                line.strip_prefix(' ')
                    .unwrap_or(&line)
                    .trim_end()
                    .to_owned(),
            );
        }
    }
    (lines.join("\n").trim().to_owned(), span)
}

/// Parses a duration such as `"30s"`, `"500ms"`, `"2m"`, `"1h"` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(scale).filter(|&ms| ms > 0)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("2m"), Some(120_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("0s"), None);
        assert_eq!(parse_duration_ms("30"), None);
        assert_eq!(parse_duration_ms("s"), None);
        assert_eq!(parse_duration_ms("3 days"), None);
    }
}
