//! Code generation for `#[tool]`, checks done: the function as written, and
//! beside it a hidden block with the tool's descriptor, schema builders and
//! invoke function. Per tool this is small on purpose: decoding and schema
//! building are generic runtime functions instantiated once per distinct
//! parameter-type list, so thousands of tools still build quickly.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Output, Param, Tool};
use crate::attr::parse_duration_ms;

pub fn expand(tool: &Tool) -> TokenStream {
    let item = &tool.item;
    let rt = runtime_path(tool);
    let function = &item.sig.ident;
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
    let guard_values = guarded.iter().map(|(arg, binding, guard)| {
        let (kind, name) = (format_ident!("{}", guard.kind.variant()), &arg.name);
        quote!(#rt::Guarded { kind: #rt::PermissionKind::#kind, param: #name, value: &#binding })
    });
    let (ok_type, finish) = match &tool.output {
        Output::Value(ty) => (ty, quote!(#rt::finish::value)),
        Output::Result {
            ok,
            typed_error: false,
        } => (ok, quote!(#rt::finish::result)),
        Output::Result {
            ok,
            typed_error: true,
        } => (ok, quote!(#rt::finish::tool_result)),
    };
    let output_check = quote_spanned!(ok_type.span()=> #rt::assert_output::<#ok_type>(););
    // Decoded once; the guards and the body see the same values.
    let decode = quote! {
        let (#(#bindings,)*) = #rt::decode::<(#(#arg_types,)*)>(__args, &__RUSTCHAIN_PARAMS)?;
        __ctx.__check(&[#(#guard_values),*])?;
    };
    let invoke = if tool.is_async() {
        quote! {
            #[allow(unused_variables)]
            fn __rustchain_invoke<'a>(__ctx: &'a #rt::ToolContext, __args: &'a str)
                -> #rt::Result<#rt::ToolFuture<'a>, #rt::ToolError>
            {
                #decode
                #rt::Ok(#rt::Box::pin(async move {
                    __ctx.__proceed_async().await?;
                    #finish(#call.await)
                }))
            }
        }
    } else {
        quote! {
            #[allow(unused_variables)]
            fn __rustchain_invoke(__ctx: &#rt::ToolContext, __args: &str)
                -> #rt::Result<#rt::ToolOutput, #rt::ToolError>
            {
                #decode
                __ctx.__proceed()?;
                #finish(#call)
            }
        }
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
    let unique_marker = quote_spanned! {function.span()=>
        #[used]
        #[unsafe(export_name = #marker)]
        static __RUSTCHAIN_UNIQUE_NAME: u8 = 0;
    };

    quote! {
        #item

        #[doc(hidden)]
        const _: () = {
            static __RUSTCHAIN_PARAMS: [#rt::ParamInfo; #arg_count] = [#(#param_infos),*];
            // One item for every type check (fewer items build faster); each
            // call keeps its type's span, so an error lands on that type.
            const _: () = {
                #(#param_checks)*
                #(#guard_checks)*
                #output_check
            };

            #invoke

            // An alias, because rustc reserves attribute paths that start with
            // `rustc`, and `::rustchain::...` does.
            // Every generated name starts with `__rustchain_`, so none can
            // shadow the user's function (a tool may be called `input_schema`).
            use #rt::linkme as __linkme;
            #[__linkme::distributed_slice(#rt::RUSTCHAIN_TOOL_DESCRIPTORS)]
            #[linkme(crate = __linkme)]
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
                params: &__RUSTCHAIN_PARAMS,
                source: #rt::SourceLocation {
                    crate_name: ::core::env!("CARGO_PKG_NAME"),
                    crate_version: ::core::env!("CARGO_PKG_VERSION"),
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: #line,
                },
                input_schema: #rt::input_schema::<(#(#arg_types,)*)>,
                output_schema: #rt::output_schema::<#ok_type>,
                invoke: #invoke_kind,
            };

            #unique_marker
        };
    }
}

/// Where the runtime is: `::rustchain::__private`, or under `crate = "..."`.
fn runtime_path(tool: &Tool) -> TokenStream {
    match &tool.args.krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::rustchain::__private),
    }
}
