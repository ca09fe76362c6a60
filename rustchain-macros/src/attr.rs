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

const KEYS: [&str; 10] = [
    "name",
    "title",
    "description",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
    "tags",
    "timeout",
    "crate",
];

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
            "name" => set_once(
                meta,
                &mut self.name,
                string(meta, "name = \"get_weather\"")?,
            ),
            "title" => set_once(
                meta,
                &mut self.title,
                string(meta, "title = \"Get weather\"")?,
            ),
            "description" => set_once(
                meta,
                &mut self.description,
                string(meta, "description = \"Reports the weather for a city.\"")?,
            ),
            "timeout" => set_once(meta, &mut self.timeout, string(meta, "timeout = \"30s\"")?),
            "read_only" => set_once(meta, &mut self.read_only, flag(meta, &key)?),
            "destructive" => set_once(meta, &mut self.destructive, flag(meta, &key)?),
            "idempotent" => set_once(meta, &mut self.idempotent, flag(meta, &key)?),
            "open_world" => set_once(meta, &mut self.open_world, flag(meta, &key)?),
            "crate" => {
                let path = crate_path(meta)?;
                set_once(meta, &mut self.krate, path)
            }
            "tags" => self.parse_tags(meta),
            _ => Err(unknown_key(meta)),
        }
    }

    fn parse_tags(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        if !meta.input.peek(syn::token::Paren) {
            return Err(
                meta.error("tags are listed in parentheses, like `tags(\"math\", \"geometry\")`")
            );
        }
        let content;
        syn::parenthesized!(content in meta.input);
        let tags = content.parse_terminated(
            |input| {
                input.parse::<LitStr>().map_err(|err| {
                    syn::Error::new(
                        err.span(),
                        "a tag is a string literal, like `tags(\"math\")`",
                    )
                })
            },
            syn::Token![,],
        )?;
        self.tags.extend(tags);
        Ok(())
    }
}

/// `unknown #[tool] argument`, with the closest known key when it looks like a typo.
fn unknown_key(meta: &ParseNestedMeta<'_>) -> syn::Error {
    let written = quote::ToTokens::to_token_stream(&meta.path)
        .to_string()
        .replace(' ', "");
    let hint = KEYS
        .iter()
        .map(|key| (strsim::levenshtein(&written, key), key))
        .filter(|&(distance, _)| distance <= 2)
        .min()
        .map(|(_, key)| format!(" (did you mean `{key}`?)"))
        .unwrap_or_default();
    syn::Error::new_spanned(
        &meta.path,
        format_args!(
            "unknown #[tool] argument `{written}`{hint}; the arguments are: {}",
            KEYS.join(", ")
        ),
    )
}

fn set_once<T>(meta: &ParseNestedMeta<'_>, slot: &mut Option<T>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        let key = quote::ToTokens::to_token_stream(&meta.path);
        return Err(meta.error(format_args!(
            "`{key}` is given twice in this #[tool]; keep one"
        )));
    }
    *slot = Some(value);
    Ok(())
}

/// The string after `key =`; `example` shows the whole argument written right.
fn string(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<LitStr> {
    if !meta.input.peek(syn::Token![=]) {
        return Err(syn::Error::new_spanned(
            &meta.path,
            format_args!("this argument needs a value, like `{example}`"),
        ));
    }
    meta.value()?.parse::<LitStr>().map_err(|err| {
        syn::Error::new(
            err.span(),
            format_args!("expected a string literal, like `{example}`"),
        )
    })
}

/// `crate = "..."`: the path the generated code names the runtime by.
fn crate_path(meta: &ParseNestedMeta<'_>) -> syn::Result<Path> {
    let example = "crate = \"::rustchain\"";
    let text = string(meta, example)?;
    text.parse::<Path>().map_err(|_| {
        syn::Error::new(
            text.span(),
            format_args!(
                "expected the path of the `rustchain` crate as re-exported by you, like `{example}`"
            ),
        )
    })
}

/// `read_only` alone means `read_only = true`.
fn flag(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<bool> {
    if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
        return Ok(true);
    }
    meta.value()?
        .parse::<LitBool>()
        .map(|b| b.value)
        .map_err(|err| {
            syn::Error::new(
                err.span(),
                format_args!(
                    "expected `true` or `false`, like `{key} = false`; `{key}` alone means true"
                ),
            )
        })
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

/// Parses a `timeout` in milliseconds, in the one duration grammar the
/// policy and the CLI read too (humantime's: `"500ms"`, `"30s"`, `"5m"`,
/// `"1h 30m"`); `None` unless it is at least a millisecond.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let duration = humantime::parse_duration(text.trim()).ok()?;
    u64::try_from(duration.as_millis())
        .ok()
        .filter(|&ms| ms > 0)
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
        assert_eq!(parse_duration_ms("1h 30m"), Some(5_400_000));
        assert_eq!(parse_duration_ms("2 days"), Some(172_800_000));
        assert_eq!(parse_duration_ms("0s"), None);
        assert_eq!(parse_duration_ms("500us"), None);
        assert_eq!(parse_duration_ms("30"), None);
        assert_eq!(parse_duration_ms("s"), None);
        assert_eq!(parse_duration_ms("3 fortnights"), None);
    }
}

/// What a guarded parameter's value will be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    FsRead,
    FsWrite,
    Net,
    Run,
    RunArgs,
    Env,
}

impl GuardKind {
    /// The runtime's `PermissionKind` variant.
    pub fn variant(self) -> &'static str {
        match self {
            GuardKind::FsRead => "FsRead",
            GuardKind::FsWrite => "FsWrite",
            GuardKind::Net => "Net",
            GuardKind::Run => "Run",
            GuardKind::RunArgs => "RunArgs",
            GuardKind::Env => "Env",
        }
    }
}

/// A guard attribute on a parameter, and where it is written.
pub struct Guard {
    pub kind: GuardKind,
    pub span: Span,
}

const GUARDS: [&str; 4] = ["fs", "net", "run", "env"];

/// Whether `attr` is one of ours: `#[fs(..)]`, `#[net]`, `#[run]`, `#[env]`.
pub fn is_guard(attr: &Attribute) -> bool {
    GUARDS.iter().any(|name| attr.path().is_ident(name))
}

/// The guard among a parameter's attributes (at most one).
pub fn guard(attrs: &[Attribute]) -> syn::Result<Option<Guard>> {
    let mut found: Option<Guard> = None;
    for attr in attrs.iter().filter(|a| is_guard(a)) {
        let span = syn::spanned::Spanned::span(attr);
        if found.is_some() {
            return Err(syn::Error::new(
                span,
                "a parameter carries one guard; split values used for different things into separate parameters",
            ));
        }
        let name = attr
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let kind = match (name.as_str(), &attr.meta) {
            ("fs", Meta::List(list)) => {
                let what: syn::Ident = list.parse_args().map_err(|_| fs_usage(span))?;
                match what.to_string().as_str() {
                    "read" => GuardKind::FsRead,
                    "write" => GuardKind::FsWrite,
                    _ => return Err(fs_usage(what.span())),
                }
            }
            ("fs", _) => return Err(fs_usage(span)),
            ("run", Meta::List(list)) => match list.parse_args::<syn::Ident>() {
                Ok(what) if what == "args" => GuardKind::RunArgs,
                _ => {
                    return Err(syn::Error::new(
                        span,
                        "#[run] marks the program; #[run(args)] marks the arguments passed to it",
                    ));
                }
            },
            (_, Meta::Path(_)) => match name.as_str() {
                "net" => GuardKind::Net,
                "run" => GuardKind::Run,
                _ => GuardKind::Env,
            },
            _ => {
                return Err(syn::Error::new(
                    span,
                    format_args!("#[{name}] takes no arguments; write `#[{name}]` alone"),
                ));
            }
        };
        found = Some(Guard { kind, span });
    }
    Ok(found)
}

fn fs_usage(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "say what the path is for: #[fs(read)] or #[fs(write)]",
    )
}
