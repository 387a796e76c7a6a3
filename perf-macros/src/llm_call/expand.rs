//! Code generation of `#[llm_call]`: the body of the async fn (or of the `async` block a
//! fn returns, as `#[async_trait]` writes) becomes budget check → clock → body → record,
//! and the result is then timed by `#[timed]`'s own expansion, so the fn also has a
//! callsite with its outcome in `perf_core::report()`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Block, Expr, ItemFn, ReturnType, Type};

use super::attr::LlmCallArgs;
use crate::async_body;
use crate::timed::attr::TimedArgs;
use crate::timed::expand::pin_return_type;

/// `#[llm_call]` on a fn.
pub(crate) fn item_fn(args: &LlmCallArgs, mut f: ItemFn) -> syn::Result<TokenStream> {
    let krate = match &args.krate {
        Some(p) => p.to_token_stream(),
        None => quote!(::perf_llm),
    };
    // Errors about the returned type point at the return type (or the name for `-> ()`).
    let ret_span = match &f.sig.output {
        ReturnType::Default => f.sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    if f.sig.asyncness.is_some() {
        let out: Type = match &f.sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        let body = llm_body(
            args,
            &krate,
            Some(&out),
            quote!(async move),
            &f.block,
            ret_span,
        );
        let mut block: Block = syn::parse2(body)?;
        block.brace_token = f.block.brace_token;
        *f.block = block;
    } else {
        let out = async_body::future_output(&f.sig.output).cloned();
        let Some(fut) = async_body::returned_async_block(&mut f.block) else {
            return Err(syn::Error::new(
                f.sig.fn_token.span(),
                "`#[llm_call]` goes on an `async fn` (or a fn whose body ends in \
                 `async move { ... }` or `Box::pin(async move { ... })`, as `#[async_trait]` \
                 writes): the model call is awaited",
            ));
        };
        let Expr::Async(inner) = fut else {
            unreachable!("returned_async_block only finds async blocks")
        };
        let capture = match inner.capture {
            Some(_) => quote!(async move),
            None => quote!(async),
        };
        let body = llm_body(args, &krate, out.as_ref(), capture, &inner.block, ret_span);
        let mut block: Block = syn::parse2(body)?;
        block.brace_token = inner.block.brace_token;
        inner.block = block;
    }
    let timed = TimedArgs {
        krate: Some(syn::parse2(quote!(#krate::__private::perf_core))?),
        ..TimedArgs::default()
    };
    crate::timed::expand::item_fn(&timed, f)
}

/// `{ pending; budget reservation; start; let ret = <capture> { body }.await; finish
/// (settles the reservation); ret }`.
fn llm_body(
    args: &LlmCallArgs,
    krate: &TokenStream,
    out: Option<&Type>,
    capture: TokenStream,
    block: &Block,
    ret_span: Span,
) -> TokenStream {
    let private = quote!(#krate::__private);
    let meter = match &args.meter {
        Some(m) => m.to_token_stream(),
        None => quote!(#private::global_meter()),
    };
    let provider = &args.provider;
    let operation = match &args.operation {
        Some(op) => op.to_token_stream(),
        None => quote!("chat"),
    };
    // Without `model =` the model is known only from the response: the fn remembers the
    // last one, so its next call is admitted on that model's budget.
    let (memo, model) = match &args.model {
        Some(m) => (None, quote!(.model(#m))),
        None if args.budget => (
            Some(quote! {
                static __PERF_LLM_MODEL: #private::LastModel = #private::LastModel::new();
            }),
            quote!(.last_model(&__PERF_LLM_MODEL)),
        ),
        None => (None, quote!()),
    };
    let user = args.user.as_ref().map(|u| quote!(.user(#u)));
    let endpoint = args.endpoint.as_ref().map(|e| quote!(.endpoint(#e)));
    let budget = args.budget.then(|| {
        // Every token at the return type, so a bound it misses is reported there.
        let private = respan(private.clone(), ret_span);
        let refused = quote_spanned!(ret_span=> #private::refused(__perf_llm_refusal));
        quote! {
            if let ::core::result::Result::Err(__perf_llm_refusal) = __perf_llm.check_budget() {
                return #refused;
            }
        }
    });
    let finish = quote_spanned!(ret_span=> __perf_llm.finish(&__perf_llm_ret));
    let stmts = &block.stmts;
    // The annotation and the never-taken `return` fix the body's type, so `?` and `return`
    // in it convert to the fn's error type as they did before.
    let (annotation, fake_return) = pin_return_type(out);
    quote! {{
        #memo
        #[allow(unused_mut)]
        let mut __perf_llm = #private::Pending::new(#meter, #provider, #operation)
            #model #user #endpoint;
        #budget
        let __perf_llm = __perf_llm.start();
        let __perf_llm_ret #annotation = #capture {
            #fake_return
            #(#stmts)*
        }.await;
        #finish;
        __perf_llm_ret
    }}
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(tokens: TokenStream) -> LlmCallArgs {
        let (a, e) = LlmCallArgs::parse(tokens, Span::call_site());
        assert!(e.is_none());
        a
    }

    #[test]
    fn a_sync_fn_is_refused_at_fn() {
        let f: ItemFn = syn::parse_quote!(
            fn ask() -> Result<(), E> {
                Ok(())
            }
        );
        let err = item_fn(&args(quote!(provider = "openai")), f).unwrap_err();
        assert!(err.to_string().contains("goes on an `async fn`"));
    }

    #[test]
    fn budget_false_leaves_out_the_check() {
        let f: ItemFn = syn::parse_quote!(
            async fn ask() -> Result<V, E> {
                todo!()
            }
        );
        let a = args(quote!(provider = "openai"));
        let with = item_fn(&a, f.clone()).unwrap().to_string();
        assert!(with.contains("check_budget"), "{with}");
        let a = args(quote!(provider = "openai", budget = false));
        let without = item_fn(&a, f).unwrap().to_string();
        assert!(!without.contains("check_budget"), "{without}");
        assert!(without.contains(":: perf_llm :: __private :: perf_core :: __private :: Callsite"));
    }

    #[test]
    fn crate_path_replaces_perf_llm_everywhere() {
        let f: ItemFn = syn::parse_quote!(
            async fn ask() -> Result<V, E> {
                todo!()
            }
        );
        let out = item_fn(&args(quote!(provider = "openai", crate = perf::llm)), f)
            .unwrap()
            .to_string();
        assert!(!out.contains(":: perf_llm"), "{out}");
        assert!(out.contains("perf :: llm :: __private :: Pending"), "{out}");
    }
}
