//! Code generation for `#[tool]`, checks done: the function as written, and
//! beside it a hidden block with the tool's descriptor, schema builders and
//! invoke function. Per tool this is small on purpose: decoding and schema
//! building are runtime functions shared by every tool, reading each value
//! with code compiled once per parameter type (D-65), so thousands of tools
//! still build quickly.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::ast::{Output, Param, Tool};
use crate::attr::parse_duration_ms;

pub fn expand(tool: &Tool) -> TokenStream {
    let item = &tool.item;
    let rt_path = runtime_path(tool);
    // The runtime by a one-segment alias (a `use` in the hidden block): per
    // tool it is named some 30 times, and each full path is eight tokens to
    // generate, parse and resolve.
    let rt = quote!(__rustchain_rt);
    let function = &item.sig.ident;
    // A named const, not `const _`, so that the block also parses as an
    // associated item when the function sits in an `impl` block; there the
    // check below says what is wrong, on the function's name, instead of a
    // parse error and unresolved names.
    let hidden = format_ident!(
        "__rustchain_tool_{}",
        function.unraw(),
        span = function.span()
    );
    let free_check = quote_spanned!(function.span()=> #rt::assert_free_function(&#hidden););
    let stand_in = stand_ins(tool, &hidden, &rt_path);
    let (name, _) = tool.name();
    let description = tool.description();
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(#rt::Some(#value)),
        None => quote!(#rt::None),
    };
    let title = option(tool.args.title.as_ref().map(|t| quote!(#t)));
    let hint = |value: Option<bool>| option(value.map(|v| quote!(#v)));
    let (read_only, destructive, idempotent, open_world) = (
        hint(tool.args.read_only),
        hint(tool.args.destructive),
        hint(tool.args.idempotent),
        hint(tool.args.open_world),
    );
    let tags = &tool.args.tags;
    let timeout = option(
        tool.args
            .timeout
            .as_ref()
            .and_then(|t| parse_duration_ms(&t.value()))
            .map(|ms| quote!(#rt::Duration::from_millis(#ms))),
    );

    let args: Vec<_> = tool.args().collect();
    let arg_count = args.len();
    let arg_types: Vec<_> = args.iter().map(|a| &a.ty).collect();
    let param_infos = args.iter().map(|arg| {
        let (name, description, required) = (&arg.name, &arg.description, !arg.optional);
        quote!(#rt::ParamInfo { name: #name, description: #description, required: #required })
    });
    let param_checks = arg_types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> #rt::assert_param::<#ty>();));
    let bindings: Vec<_> = (0..arg_count).map(|i| format_ident!("__arg{i}")).collect();
    let mut next_binding = bindings.iter();
    let call_args = tool.params.iter().map(|param| match param {
        Param::Arg(_) => {
            let binding = next_binding.next().expect("one binding per model argument");
            quote!(#binding)
        }
        Param::Context => quote!(__ctx),
    });
    let call = quote!(#function(#(#call_args),*));
    let guarded: Vec<_> = args
        .iter()
        .zip(&bindings)
        .filter_map(|(arg, binding)| arg.guard.as_ref().map(|guard| (arg, binding, guard)))
        .collect();
    let permissions = guarded.iter().map(|(arg, _, guard)| {
        let (kind, name) = (format_ident!("{}", guard.kind.variant()), &arg.name);
        quote!(#rt::Permission { kind: #rt::PermissionKind::#kind, param: #name })
    });
    let guard_checks = guarded.iter().map(|(arg, _, _)| {
        let ty = &arg.ty;
        quote_spanned!(ty.span()=> #rt::assert_guardable::<#ty>();)
    });
    // Through `GuardProbe`, so a type no guard can check is reported once,
    // by `assert_guardable`, and not again here (see the runtime's `GuardProbe`).
    // `borrow`: how a binding becomes the reference `GuardProbe` holds.
    let guard_values = |borrow: TokenStream| {
        let values = guarded.iter().map(|(arg, binding, guard)| {
            let (kind, name) = (format_ident!("{}", guard.kind.variant()), &arg.name);
            quote! {
                #rt::Guarded {
                    kind: #rt::PermissionKind::#kind,
                    param: #name,
                    value: (&#rt::GuardProbe(#borrow #binding)).guard_value(),
                }
            }
        });
        quote!(&[#(#values),*])
    };
    // Every use of the result type goes through `__RUSTCHAIN_RESULT`, so a
    // type that cannot be a result is reported once, on that type.
    let (ok_type, finish) = match &tool.output {
        Output::Value(ty) => (ty, None),
        Output::Result { ok } => (ok, Some(quote!(#rt::finish::result))),
    };
    let result_type = quote_spanned! {ok_type.span()=>
        const __RUSTCHAIN_RESULT: #rt::ResultType<#ok_type> = #rt::result_type::<#ok_type>();
    };
    let finish_fn = finish.clone();
    let finish = |returned: TokenStream| match &finish {
        None => quote!((__RUSTCHAIN_RESULT.encode)(#returned)),
        Some(finish) => quote!(#finish(#returned, __RUSTCHAIN_RESULT.encode)),
    };
    let finish_async = finish(quote!(#call.await));
    // Through `ParamsOf`, so a parameter type that fails `assert_param` is
    // reported once, on that type, and not again at each use of the tuple.
    let params_of = quote!((&#rt::ParamsOf::<(#(#arg_types,)*)>::NEW));
    // What `?` does, as a `match`: no `Try` and `FromResidual` to resolve
    // and call per tool, which in a dev build are two calls per `?`.
    let early = |result: TokenStream| {
        quote! {
            match #result {
                #rt::Ok(__value) => __value,
                #rt::Err(__error) => return #rt::Err(__error),
            }
        }
    };
    // Decoded once; the guards and the body see the same values.
    let decoded = early(quote!(#params_of.decode(__args, __RUSTCHAIN_DESCRIPTOR.params)));
    let decode = quote! {
        let (#(#bindings,)*) = #decoded;
    };
    let invoke = if tool.is_async() {
        let guard_list = guard_values(quote!(&));
        let check = early(quote!(__ctx.__check(#guard_list)));
        quote! {
            #[allow(unused_variables)]
            fn __rustchain_invoke<'a>(__ctx: &'a #rt::ToolContext, __args: &'a str)
                -> #rt::Result<#rt::ToolFuture<'a>, #rt::ToolError>
            {
                #free_check
                #decode
                #check;
                #rt::Ok(#rt::Box::pin(async move {
                    __ctx.__proceed_async().await?;
                    #finish_async
                }))
            }
        }
    } else {
        let guard_list = (!guarded.is_empty()).then(|| guard_values(quote!()));
        let finish = finish_fn.unwrap_or_else(|| quote!(#rt::finish::value));
        let driven = Driven {
            rt: &rt,
            arg_types: &arg_types,
            bindings: &bindings,
            call: &call,
        };
        driven.sync_invoke(tool, &free_check, &params_of, guard_list, &finish)
    };
    let invoke_kind = if tool.is_async() {
        quote!(#rt::Invoke::Async(__rustchain_invoke))
    } else {
        quote!(#rt::Invoke::Sync(__rustchain_invoke))
    };
    let line = quote_spanned!(function.span()=> ::core::line!());
    // An exported, name-derived symbol: two tools with one name in one program
    // make the linker stop with `duplicate symbol`, naming both definitions.
    let marker = format!("rustchain_tool${name}");
    // Spanned at the function, so the linker's message names its line.
    let unique_marker = match defining_crate() {
        // On ELF, in a section named after the crate and with no size: the
        // linker then names each definition by its section (a symbol with
        // no size encloses nothing), so both crates appear in the message,
        // not only two `src/lib.rs:6`.
        Some(krate) => {
            let section = format!(".rodata.{marker}[crate:{krate}]");
            let elf = elf_targets();
            quote_spanned! {function.span()=>
                #[used]
                #[unsafe(export_name = #marker)]
                #[cfg_attr(#elf, unsafe(link_section = #section))]
                static __RUSTCHAIN_UNIQUE_NAME: [u8; 0] = [];
            }
        }
        None => quote_spanned! {function.span()=>
            #[used]
            #[unsafe(export_name = #marker)]
            static __RUSTCHAIN_UNIQUE_NAME: u8 = 0;
        },
    };

    // The guard probe's traits only where a guard reads a value: fewer
    // traits in scope, fewer candidates for every method call in the block.
    let guard_traits =
        (!guarded.is_empty()).then(|| quote!(use #rt::{GuardCheck as _, GuardRefused as _};));
    let descriptor_placement = descriptor_placement(&rt);
    let (crate_name, crate_version) = (
        package_var("CARGO_PKG_NAME"),
        package_var("CARGO_PKG_VERSION"),
    );

    quote! {
        #item

        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code)]
        const #hidden: () = {
            // Stand-ins for this const and the function, seen only where the
            // glob import below does not find them in the module (a glob
            // import outranks an item of an enclosing block): when the
            // function is in an `impl` block, where `assert_free_function`
            // then refuses the stand-in with advice, and nothing else fails.
            #stand_in
            {
            #[allow(unused_imports)]
            use self::*;
            use #rt_path as __rustchain_rt;
            #[allow(unused_imports)]
            use #rt::{DecodeParams as _, RefuseParams as _};
            #guard_traits

            // The type checks, as statements of this block (already a
            // constant's body): no item of their own. Each call keeps its
            // type's span, so an error lands on that type.
            #(#param_checks)*
            #(#guard_checks)*
            #result_type

            #invoke

            fn __rustchain_input_schema(__params: &'static [#rt::ParamInfo]) -> #rt::Schema {
                #params_of.input_schema(__params)
            }

            #descriptor_placement
            static __RUSTCHAIN_DESCRIPTOR: #rt::ToolDescriptor = #rt::ToolDescriptor {
                name: #name,
                title: #title,
                description: #description,
                annotations: #rt::Annotations {
                    read_only: #read_only,
                    destructive: #destructive,
                    idempotent: #idempotent,
                    open_world: #open_world,
                },
                tags: &[#(#tags),*],
                permissions: &[#(#permissions),*],
                timeout: #timeout,
                params: &[#(#param_infos),*],
                source: #rt::SourceLocation {
                    crate_name: #crate_name,
                    crate_version: #crate_version,
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: #line,
                },
                input_schema: __rustchain_input_schema,
                output_schema: __RUSTCHAIN_RESULT.schema,
                invoke: #invoke_kind,
            };

            #unique_marker
            }
        };
    }
}

/// What the per-tool function of a sync tool hands the shared driver
/// (`__private::call_sync`, D-74) besides the argument text.
struct Driven<'a> {
    rt: &'a TokenStream,
    arg_types: &'a [&'a syn::Type],
    bindings: &'a [syn::Ident],
    /// The tool function called with the bindings (and `__ctx`).
    call: &'a TokenStream,
}

impl Driven<'_> {
    /// A sync tool's `__rustchain_invoke`: one call of the shared driver,
    /// handed the tool's function as a `fn` pointer, so that decoding, the
    /// guard check, encoding and their drop and unwind paths are compiled
    /// once per signature, not once per tool. Only a tool that takes the
    /// context or guards a parameter gets a function more, `__rustchain_call`
    /// or `__rustchain_guard`, which takes the decoded tuple apart.
    fn sync_invoke(
        &self,
        tool: &Tool,
        free_check: &TokenStream,
        params_of: &TokenStream,
        guard_list: Option<TokenStream>,
        finish: &TokenStream,
    ) -> TokenStream {
        let Driven {
            rt,
            arg_types,
            bindings,
            call,
        } = self;
        let function = &tool.item.sig.ident;
        let tuple = quote!((#(#arg_types,)*));
        let pattern = quote!((#(#bindings,)*));
        let takes_context = tool.params.iter().any(|p| matches!(p, Param::Context));
        let (call_fn, callee) = if takes_context {
            let output = &tool.item.sig.output;
            let call_fn = quote! {
                fn __rustchain_call(__ctx: &#rt::ToolContext, #pattern: #tuple) #output {
                    #call
                }
            };
            (call_fn, quote!(#rt::WithContext(__rustchain_call)))
        } else {
            // The tool itself as a `fn` pointer: `Call` spreads the tuple.
            let holes = arg_types.iter().map(|_| quote!(_));
            (quote!(), quote!(#function as fn(#(#holes),*) -> _))
        };
        let (guard_fn, guard) = match guard_list {
            Some(list) => (
                quote! {
                    #[allow(unused_variables)]
                    fn __rustchain_guard(__ctx: &#rt::ToolContext, #pattern: &#tuple)
                        -> #rt::Result<(), #rt::ToolError>
                    {
                        __ctx.__check_and_proceed(#list)
                    }
                },
                quote!(#rt::Some(__rustchain_guard)),
            ),
            None => (quote!(), quote!(#rt::None)),
        };
        quote! {
            #call_fn
            #guard_fn
            fn __rustchain_invoke(__ctx: &#rt::ToolContext, __args: &str)
                -> #rt::Result<#rt::ToolOutput, #rt::ToolError>
            {
                #free_check
                #params_of.call_sync(
                    __ctx,
                    __args,
                    __RUSTCHAIN_DESCRIPTOR.params,
                    #guard,
                    #callee,
                    #rt::Finish { finish: #finish, encode: __RUSTCHAIN_RESULT.encode },
                )
            }
        }
    }
}

/// The targets where linkme names the section of a slice `linkme_<SLICE>`
/// and finds it through the linker's `__start_`/`__stop_` symbols.
fn linkme_section_targets() -> TokenStream {
    quote!(any(target_os = "linux", target_os = "android"))
}

/// The section linkme collects `RUSTCHAIN_TOOL_DESCRIPTORS` from on
/// [`linkme_section_targets`]: `linkme_` and the slice's name (linkme 0.3's
/// `linker::linux::section`). The root crate's registry tests fail if it
/// ever differs: no tool would be found.
const DESCRIPTOR_SECTION: &str = "linkme_RUSTCHAIN_TOOL_DESCRIPTORS";

/// The attributes that put a tool's descriptor in the registry's link-time
/// slice. Where the section's name is known (Linux, Android), the static
/// goes there directly, as linkme's own expansion would put it; this skips,
/// per tool, a second proc-macro call, two `macro_rules!` rounds and a type
/// check function holding two closures, which linkme's `#[distributed_slice]`
/// expands to. Elsewhere linkme's attribute does it.
fn descriptor_placement(rt: &TokenStream) -> TokenStream {
    let direct = linkme_section_targets();
    quote! {
        // An alias, because rustc reserves attribute paths that start with
        // `rustc`, and `::rustchain::...` does.
        // Every generated name starts with `__rustchain_`, so none can
        // shadow the user's function (a tool may be called `input_schema`).
        #[cfg(not(#direct))]
        use #rt::linkme as __linkme;
        #[cfg_attr(#direct, used, unsafe(link_section = #DESCRIPTOR_SECTION))]
        #[cfg_attr(
            not(#direct),
            __linkme::distributed_slice(#rt::RUSTCHAIN_TOOL_DESCRIPTORS),
            linkme(crate = __linkme)
        )]
    }
}

/// The targets whose objects are ELF, where any section name is allowed
/// (Mach-O wants `segment,section`, and there the default section is kept).
fn elf_targets() -> TokenStream {
    quote! {
        any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
            target_os = "illumos",
            target_os = "solaris"
        )
    }
}

/// `name@version` of the package being compiled, as Cargo tells rustc (and
/// so this macro); `None` outside Cargo, or if a name holds characters that
/// do not belong in a section name.
fn defining_crate() -> Option<String> {
    let name = std::env::var("CARGO_PKG_NAME").ok()?;
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let krate = if version.is_empty() {
        name
    } else {
        format!("{name}@{version}")
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.+@".contains(c);
    krate.chars().all(plain).then_some(krate)
}

/// Cargo's `var` for the package being compiled, as a literal: the macro
/// runs inside the rustc that compiles it, with the same environment that
/// `env!` would read, and a literal spares rustc a macro call per tool.
/// Outside Cargo, `env!` itself, which then reports the variable missing.
fn package_var(var: &str) -> TokenStream {
    match std::env::var(var) {
        Ok(value) => quote!(#value),
        Err(_) => quote!(::core::env!(#var)),
    }
}

/// Where the runtime is: `::rustchain::__private`, or under `crate = "..."`.
fn runtime_path(tool: &Tool) -> TokenStream {
    match &tool.args.krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::rustchain::__private),
    }
}

/// Declarations with the tool's parameters and result, and of the hidden
/// const's name, that are never used: what the two names resolve to when
/// the tool sits in an `impl` block, so that the generated call type-checks
/// and `assert_free_function` (handed a `NotAFreeFunction`) is the only
/// error.
///
/// Built to cost rustc little, since every tool has them: `safe` items of an
/// `unsafe extern "Rust"` block, with no body, so there is nothing to
/// type-check, build MIR for, borrow-check or evaluate (D-85); the
/// function's `fn` pointer is a plain `fn(..) -> R`, as the tool's is.
/// Neither is referenced where the tool is a free function, so no symbol is
/// looked for at link time. For an `async fn` the function returns
/// `core::future::Pending` of the result, which the generated call can
/// `.await` like the tool's future.
fn stand_ins(tool: &Tool, hidden: &syn::Ident, rt_path: &TokenStream) -> TokenStream {
    let sig = &tool.item.sig;
    let function = &sig.ident;
    let inputs = sig.inputs.iter().filter_map(|input| match input {
        syn::FnArg::Typed(typed) => {
            let ty = &typed.ty;
            Some(quote!(_: #ty))
        }
        syn::FnArg::Receiver(_) => None,
    });
    let output = match (&sig.asyncness, &sig.output) {
        (None, output) => quote!(#output),
        (Some(_), syn::ReturnType::Default) => quote!(-> ::core::future::Pending<()>),
        (Some(_), syn::ReturnType::Type(_, ty)) => quote!(-> ::core::future::Pending<#ty>),
    };
    quote! {
        // Whatever lints the user's crate turns on, this is not their code;
        // two tools of one name in two modules declare it twice, with
        // different signatures.
        #[allow(
            dead_code,
            non_upper_case_globals,
            clashing_extern_declarations,
            clippy::all,
            clippy::pedantic,
            clippy::nursery,
            clippy::restriction
        )]
        unsafe extern "Rust" {
            safe static #hidden: #rt_path::NotAFreeFunction;
            safe fn #function(#(#inputs),*) #output;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion of `#[tool(args)] item`, as text, and its token count
    /// (every leaf token, inside groups too).
    fn expanded(args: TokenStream, item: TokenStream) -> (String, usize) {
        fn count(tokens: TokenStream) -> usize {
            tokens
                .into_iter()
                .map(|tree| match tree {
                    proc_macro2::TokenTree::Group(group) => 2 + count(group.stream()),
                    _ => 1,
                })
                .sum()
        }
        let tool = Tool::parse(args, item).expect("a valid tool");
        let tokens = expand(&tool);
        (tokens.to_string(), count(tokens))
    }

    #[test]
    fn the_body_is_passed_through_as_written_not_parsed() {
        // Tokens no statement parser accepts: the macro leaves them to
        // rustc, which reports them as it would without `#[tool]`.
        let (text, _) = expanded(
            quote!(),
            quote! {
                /// Adds.
                fn add(/** One. */ a: i64) -> i64 { a + + ; let }
            },
        );
        assert!(text.contains("-> i64 { a + + ; let }"), "{text}");
    }

    #[test]
    fn the_stand_in_is_a_declaration_neither_a_coroutine_nor_a_body() {
        let (text, tokens) = expanded(
            quote!(),
            quote! {
                /// Waits.
                async fn wait(/** How long. */ ms: u64, /** Why. */ why: String) -> String { why }
            },
        );
        println!("async tool: {tokens} tokens");
        assert!(!text.contains("unreachable"), "{text}");
        // The user's function is the only `async fn`.
        assert_eq!(text.matches("async fn").count(), 1, "{text}");
        // A declaration: no body to check.
        assert!(
            text.contains(
                "safe static __rustchain_tool_wait : :: rustchain :: __private :: NotAFreeFunction ; safe fn wait (_ : u64 , _ : String) -> :: core :: future :: Pending < String > ; }"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_sync_tool_is_one_call_of_the_shared_driver_and_an_async_tool_checks_then_proceeds() {
        let (sync, _) = expanded(
            quote!(),
            quote! {
                /// Adds.
                fn add(/** One. */ a: i64, /** Two. */ b: i64) -> i64 { a + b }
            },
        );
        // The tool as a `fn` pointer, no guard: the driver checks and
        // proceeds in one call; no code of its own takes the tuple apart.
        assert!(sync.contains(". call_sync ("), "{sync}");
        assert!(sync.contains("add as fn (_ , _) -> _"), "{sync}");
        assert!(sync.contains("__rustchain_rt :: None ,"), "{sync}");
        assert!(!sync.contains("fn __rustchain_call"), "{sync}");
        assert!(!sync.contains("fn __rustchain_guard"), "{sync}");
        assert!(!sync.contains("__check"), "{sync}");
        assert!(!sync.contains("__proceed ()"), "{sync}");
        // No guard, so none of the guard probe's traits in scope (D-85).
        assert!(!sync.contains("GuardCheck"), "{sync}");
        let (not_sync, _) = expanded(
            quote!(),
            quote! {
                /// Waits.
                async fn wait(/** How long. */ ms: u64) -> u64 { ms }
            },
        );
        assert!(not_sync.contains("__ctx . __check (& [])"), "{not_sync}");
        assert!(not_sync.contains("__proceed_async ()"), "{not_sync}");
        assert!(!not_sync.contains("__check_and_proceed"), "{not_sync}");
    }

    #[test]
    fn a_sync_tool_with_a_context_or_a_guard_gets_a_function_that_takes_the_tuple_apart() {
        let (text, _) = expanded(
            quote!(),
            quote! {
                /// Reads.
                fn read(/** Which. */ #[fs(read)] path: String, ctx: &ToolContext, /** How many. */ n: u32) -> u32 { n }
            },
        );
        assert!(
            text.contains("fn __rustchain_call (__ctx : & __rustchain_rt :: ToolContext , (__arg0 , __arg1 ,) : (String , u32 ,)) -> u32 { read (__arg0 , __ctx , __arg1) }"),
            "{text}"
        );
        assert!(
            text.contains("__rustchain_rt :: WithContext (__rustchain_call)"),
            "{text}"
        );
        assert!(
            text.contains("fn __rustchain_guard (__ctx : & __rustchain_rt :: ToolContext , (__arg0 , __arg1 ,) : & (String , u32 ,))"),
            "{text}"
        );
        assert!(
            text.contains("__rustchain_rt :: GuardProbe (__arg0)"),
            "{text}"
        );
        assert!(
            text.contains("__rustchain_rt :: Some (__rustchain_guard)"),
            "{text}"
        );
        assert!(
            text.contains("use __rustchain_rt :: { GuardCheck as _ , GuardRefused as _ } ;"),
            "{text}"
        );
    }

    #[test]
    fn on_linux_the_descriptor_goes_into_the_slice_section_without_linkme() {
        let (text, tokens) = expanded(
            quote!(read_only),
            quote! {
                /// Adds.
                fn add(/** One. */ a: i64, /** Two. */ b: i64, /** Three. */ c: i64) -> i64 { a + b + c }
            },
        );
        println!("sync tool, 3 parameters: {tokens} tokens");
        assert!(
            text.contains(
                "# [cfg_attr (any (target_os = \"linux\" , target_os = \"android\") , used , unsafe (link_section = \"linkme_RUSTCHAIN_TOOL_DESCRIPTORS\"))]"
            ),
            "{text}"
        );
        // linkme's attribute only where the section's name is not known.
        assert!(
            text.contains("# [cfg_attr (not (any (target_os = \"linux\" , target_os = \"android\")) , __linkme :: distributed_slice"),
            "{text}"
        );
    }
}
