//! Code generation of `#[timed]`: a `static` callsite per fn; a guard started on entry and
//! finished with the call's outcome, or for async work a `TimedCall` future around it; and
//! the fn's shape (sync, `async fn`, a returned `async` block, `-> !`) kept as the user
//! wrote it.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Block, Expr, ImplItem, ItemFn, ItemImpl, Meta, ReturnType, Signature, Type};

use super::attr::TimedArgs;
use crate::args::Errors;
use crate::async_body;

/// `#[timed]` on a fn.
pub(crate) fn item_fn(args: &TimedArgs, mut f: ItemFn) -> syn::Result<TokenStream> {
    if args.skip {
        return Ok(f.into_token_stream());
    }
    let block = std::mem::replace(&mut *f.block, empty_block());
    let method = is_method(&f.sig);
    *f.block = timed_body(args, &f.sig, method, block)?;
    Ok(f.into_token_stream())
}

/// Whether a fn seen alone is a method or associated fn: only those can have a `self`
/// receiver or name `Self` in their signature. An associated fn that does neither looks like
/// a free fn; `#[timed]` on its impl block knows better.
fn is_method(sig: &Signature) -> bool {
    fn names_self(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            proc_macro2::TokenTree::Ident(i) => i == "Self",
            proc_macro2::TokenTree::Group(g) => names_self(g.stream()),
            _ => false,
        })
    }
    sig.receiver().is_some() || names_self(sig.to_token_stream())
}

/// `#[timed]` on an impl block: every method, each with its own callsite; a method's own
/// `#[timed(...)]` overrides the block's options, and `#[timed(skip)]` leaves it out.
pub(crate) fn item_impl(args: &TimedArgs, mut block: ItemImpl) -> syn::Result<TokenStream> {
    if args.skip {
        return Ok(block.into_token_stream());
    }
    if let Some(span) = args.given.get("name") {
        return Err(syn::Error::new(
            *span,
            "`name` on an impl block would give every method the same name; \
             put `#[timed(name = \"...\")]` on the method instead",
        ));
    }
    let mut errors = Errors::default();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else {
            continue;
        };
        let mut own: Option<TimedArgs> = None;
        let mut kept: Vec<Attribute> = Vec::with_capacity(method.attrs.len());
        for attr in method.attrs.drain(..) {
            if !is_timed_attr(&attr) {
                kept.push(attr);
                continue;
            }
            let tokens = match &attr.meta {
                Meta::Path(_) => TokenStream::new(),
                Meta::List(list) => list.tokens.clone(),
                Meta::NameValue(nv) => {
                    errors.push(syn::Error::new(
                        nv.eq_token.span(),
                        "write `#[timed(...)]`, not `#[timed = ...]`",
                    ));
                    continue;
                }
            };
            let (parsed, err) = TimedArgs::parse(tokens);
            if let Some(e) = err {
                errors.push(e);
            }
            if own.is_some() {
                errors.push(syn::Error::new_spanned(
                    &attr,
                    "duplicate `#[timed]` on this method",
                ));
            }
            own = Some(parsed);
        }
        method.attrs = kept;
        let merged = match own {
            Some(own) => args.overridden_by(own),
            None => args.clone(),
        };
        if merged.skip {
            continue;
        }
        let body = std::mem::replace(&mut method.block, empty_block());
        match timed_body(&merged, &method.sig, true, body.clone()) {
            Ok(timed) => method.block = timed,
            Err(e) => {
                method.block = body;
                errors.push(e);
            }
        }
    }
    match errors.into_error() {
        Some(e) => Err(e),
        None => Ok(block.into_token_stream()),
    }
}

/// Removes the methods' `#[timed(...)]` attributes, for an impl block emitted unchanged.
pub(crate) fn strip_timed_attrs(block: &mut ItemImpl) {
    for item in &mut block.items {
        if let ImplItem::Fn(method) = item {
            method.attrs.retain(|a| !is_timed_attr(a));
        }
    }
}

/// `timed`, `perf::timed`, `perf_core::timed`, ...: the attribute as users spell it.
fn is_timed_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "timed")
}

fn empty_block() -> Block {
    Block {
        brace_token: Default::default(),
        stmts: Vec::new(),
    }
}

/// The new body of one fn; a `method`'s series is named `Type::method`.
fn timed_body(
    args: &TimedArgs,
    sig: &Signature,
    method: bool,
    mut block: Block,
) -> syn::Result<Block> {
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span(),
            "`#[timed]` cannot time a `const fn`: it may run at compile time, where there is \
             no clock; remove `const` or `#[timed]` (in an impl block: `#[timed(skip)]`)",
        ));
    }
    let gen = Gen::new(args, sig, method);
    let callsite = gen.callsite();
    let tokens = if sig.asyncness.is_some() {
        gen.async_fn(&sig.output, &block)
    } else if let Some(fut) = async_body::returned_async_block(&mut block) {
        let out = async_body::future_output(&sig.output).cloned();
        let Expr::Async(inner) = &*fut else {
            unreachable!("returned_async_block only finds async blocks")
        };
        *fut = syn::parse2(gen.returned_future(out.as_ref(), inner))?;
        let stmts = &block.stmts;
        quote!({ #callsite #(#stmts)* })
    } else if matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_))) {
        gen.never_returns(&block)
    } else {
        gen.sync_fn(&sig.output, &block)
    };
    let mut out: Block = syn::parse2(tokens)?;
    out.brace_token = block.brace_token;
    Ok(out)
}

/// What every generated piece names, for one fn.
struct Gen {
    krate: TokenStream,
    name: String,
    /// A method without `name = ...`: its type is added to the name at run time.
    in_impl: bool,
    args: TimedArgs,
}

impl Gen {
    fn new(args: &TimedArgs, sig: &Signature, method: bool) -> Self {
        let krate = match &args.krate {
            Some(p) => p.to_token_stream(),
            None => quote!(::perf_core),
        };
        let name = match &args.name {
            Some(n) => n.value(),
            None => sig.ident.unraw().to_string(),
        };
        Gen {
            krate,
            name,
            in_impl: method && args.name.is_none(),
            args: args.clone(),
        }
    }

    /// `static __PERF_CALLSITE: Callsite = ...;`. A method's callsite also gets a fn whose
    /// type name is its own def path (`crate::m::Cart::total::__perf_def_path`): the
    /// self type cannot be named from a `static`, and `type_name` is not `const`, so the
    /// callsite reads it at its first registration, off the hot path.
    fn callsite(&self) -> TokenStream {
        let krate = &self.krate;
        let name = &self.name;
        let labels = (!self.args.labels.is_empty()).then(|| {
            let (k, v): (Vec<_>, Vec<_>) = self.args.labels.iter().cloned().unzip();
            quote!(.with_labels(&[#((#k, #v)),*]))
        });
        let slow = self.args.slow_nanos.map(|n| quote!(.with_slow_nanos(#n)));
        let buckets = self.args.buckets.as_ref().map(|b| {
            let b = b.iter().map(|x| Literal::f64_suffixed(*x));
            quote!(.with_buckets(&[#(#b),*]))
        });
        let (def_path, in_impl) = match self.in_impl {
            false => (None, None),
            true => (
                Some(quote! {
                    fn __perf_def_path() -> &'static str {
                        ::core::any::type_name_of_val(&__perf_def_path)
                    }
                }),
                Some(quote!(.in_impl(__perf_def_path))),
            ),
        };
        quote! {
            #def_path
            static __PERF_CALLSITE: #krate::__private::Callsite =
                #krate::__private::Callsite::new(#name, ::core::module_path!())
                    #in_impl #labels #slow #buckets;
        }
    }

    fn start(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(let __perf_guard = #krate::__private::start(&__PERF_CALLSITE);)
    }

    /// Finishes the guard with the outcome of `__perf_ret`.
    fn finish(&self) -> TokenStream {
        let krate = &self.krate;
        let outcome = match &self.args.error_if {
            Some(pred) => {
                // Spanned so a predicate of the wrong type is reported at the predicate.
                let call = quote_spanned!(pred.span()=> #pred(&__perf_ret));
                quote! {
                if #call {
                    #krate::__private::Outcome::Error
                } else {
                    #krate::__private::Outcome::Ok
                }
                }
            }
            None => quote! {{
                #[allow(unused_imports)]
                use #krate::__private::{OkOutcome as _, ResultOutcome as _};
                (&__perf_ret).__perf_outcome()
            }},
        };
        quote! {
            let __perf_outcome = #outcome;
            __perf_guard.finish(__perf_outcome);
        }
    }

    fn span_value(&self) -> TokenStream {
        let krate = &self.krate;
        let name = &self.name;
        quote!(#krate::__private::tracing::info_span!(#name))
    }

    /// Enters the span for the rest of a sync body.
    fn enter_span(&self) -> Option<TokenStream> {
        self.args.span.then(|| {
            let span = self.span_value();
            quote! {
                let __perf_span = #span;
                let __perf_entered = __perf_span.enter();
            }
        })
    }

    /// A sync fn: the body runs in a closure called once, so `return` and `?` keep their
    /// meaning and the returned value can be inspected.
    fn sync_fn(&self, output: &ReturnType, block: &Block) -> TokenStream {
        let krate = &self.krate;
        let callsite = self.callsite();
        let enter = self.enter_span();
        let start = self.start();
        let finish = self.finish();
        let ret = match output {
            ReturnType::Default => quote!(()),
            ReturnType::Type(_, ty) => erase_impl_trait(ty).into_token_stream(),
        };
        quote! {{
            #callsite
            #enter
            #start
            let __perf_ret = #krate::__private::call_once(move || -> #ret #block);
            #finish
            __perf_ret
        }}
    }

    /// `-> !`: the call can only end by unwinding, which the guard's drop records.
    fn never_returns(&self, block: &Block) -> TokenStream {
        let callsite = self.callsite();
        let enter = self.enter_span();
        let start = self.start();
        quote! {{
            #callsite
            #enter
            #start
            #block
        }}
    }

    /// `async fn`: its body already runs at the first poll, so the `TimedCall` is built
    /// there and lives in the future; the body runs as an inner `async` block so `return`
    /// and `?` keep their meaning.
    fn async_fn(&self, output: &ReturnType, block: &Block) -> TokenStream {
        let out = match output {
            ReturnType::Default => Some(syn::parse_quote!(())),
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        let callsite = self.callsite();
        let timed = self.timed_future_body(out.as_ref(), quote!(async move), block);
        match self.args.span {
            false => quote! {{
                #callsite
                #timed
            }},
            true => {
                let krate = &self.krate;
                let span = self.span_value();
                quote! {{
                    #callsite
                    #krate::__private::tracing::Instrument::instrument(
                        async move #timed,
                        #span,
                    ).await
                }}
            }
        }
    }

    /// The `async` block a fn returns, rewritten to time the work inside it.
    fn returned_future(&self, out: Option<&Type>, inner: &syn::ExprAsync) -> TokenStream {
        let capture = match inner.capture {
            Some(_) => quote!(async move),
            None => quote!(async),
        };
        let attrs = &inner.attrs;
        let timed = self.timed_future_body(out, capture.clone(), &inner.block);
        match self.args.span {
            false => quote!(#(#attrs)* #capture #timed),
            true => {
                let krate = &self.krate;
                let span = self.span_value();
                quote! {
                    #krate::__private::tracing::Instrument::instrument(
                        #(#attrs)* #capture #timed,
                        #span,
                    )
                }
            }
        }
    }

    /// `{ timed_call(<capture> { body }, |ret| outcome).await }`, the body of a future: the
    /// call is timed, and its allocations counted poll by poll, by the `TimedCall` future
    /// around its work.
    fn timed_future_body(
        &self,
        out: Option<&Type>,
        capture: TokenStream,
        block: &Block,
    ) -> TokenStream {
        let krate = &self.krate;
        let outcome = self.outcome_fn(out);
        let stmts = &block.stmts;
        let (_, fake_return) = pin_return_type(out);
        quote! {{
            #krate::__private::timed_call(
                &__PERF_CALLSITE,
                #capture {
                    #fake_return
                    #(#stmts)*
                },
                #outcome,
            ).await
        }}
    }

    /// The closure that gives an async call's outcome from a reference to its output: the
    /// `error_if` predicate, or `Error` for an `Err`.
    fn outcome_fn(&self, out: Option<&Type>) -> TokenStream {
        let krate = &self.krate;
        let param = match out {
            Some(ty) if !contains_impl_trait(ty) => quote!(__perf_ret: &#ty),
            _ => quote!(__perf_ret),
        };
        let outcome = match &self.args.error_if {
            Some(pred) => {
                // Spanned so a predicate of the wrong type is reported at the predicate.
                let call = quote_spanned!(pred.span()=> #pred(__perf_ret));
                quote! {
                    if #call {
                        #krate::__private::Outcome::Error
                    } else {
                        #krate::__private::Outcome::Ok
                    }
                }
            }
            None => quote! {
                #[allow(unused_imports)]
                use #krate::__private::{OkOutcome as _, ResultOutcome as _};
                __perf_ret.__perf_outcome()
            },
        };
        quote! {
            |#param| -> #krate::__private::Outcome { #outcome }
        }
    }
}

/// `impl Trait` cannot be written in a closure's return type; `_` lets it be inferred.
fn erase_impl_trait(ty: &Type) -> Type {
    struct Erase;
    impl VisitMut for Erase {
        fn visit_type_mut(&mut self, t: &mut Type) {
            if let Type::ImplTrait(it) = t {
                *t = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](it.impl_token.span),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, t);
            }
        }
    }
    let mut ty = ty.clone();
    Erase.visit_type_mut(&mut ty);
    ty
}

pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
    erase_impl_trait(ty) != *ty
}

/// What fixes a wrapped body's type to the fn's return type `out`: a `: Type` annotation
/// for the captured result, and a never-taken `return` to put first in the body, so `?` and
/// `return` in it convert to the fn's error type as they did unwrapped. Both empty when the
/// type names `impl Trait` (which cannot be written there; inference does the job).
pub(crate) fn pin_return_type(out: Option<&Type>) -> (TokenStream, TokenStream) {
    match out {
        Some(ty) if !contains_impl_trait(ty) => (
            quote!(: #ty),
            quote! {
                #[allow(
                    unknown_lints,
                    unreachable_code,
                    clippy::diverging_sub_expression,
                    clippy::let_unit_value,
                    clippy::unreachable,
                    clippy::empty_loop,
                    clippy::needless_return
                )]
                if false {
                    let __perf_fake_return: #ty = loop {};
                    return __perf_fake_return;
                }
            },
        ),
        _ => (quote!(), quote!()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impl_trait_is_erased_anywhere_in_the_type() {
        let ty: Type = syn::parse_quote!(Result<impl Iterator<Item = u8>, E>);
        let erased = erase_impl_trait(&ty);
        assert_eq!(erased.to_token_stream().to_string(), "Result < _ , E >");
        assert!(contains_impl_trait(&ty));
        assert!(!contains_impl_trait(&syn::parse_quote!(Vec<u8>)));
    }

    #[test]
    fn const_fn_is_refused_at_const() {
        let f: ItemFn = syn::parse_quote!(
            const fn f() {}
        );
        let err = item_fn(&TimedArgs::default(), f).unwrap_err();
        assert!(err.to_string().contains("`const fn`"));
    }

    #[test]
    fn name_on_an_impl_block_is_refused() {
        let (args, err) = TimedArgs::parse(quote!(name = "x"));
        assert!(err.is_none());
        let block: ItemImpl = syn::parse_quote!(impl S { fn a() {} });
        let err = item_impl(&args, block).unwrap_err();
        assert!(err.to_string().contains("same name"));
    }

    #[test]
    fn skipped_methods_lose_the_attribute_and_stay_untimed() {
        let block: ItemImpl = syn::parse_quote!(impl S {
            #[timed(skip)]
            fn a() {}
            fn b() {}
        });
        let out = item_impl(&TimedArgs::default(), block).unwrap().to_string();
        assert_eq!(out.matches("__PERF_CALLSITE :").count(), 1, "{out}");
        assert!(!out.contains("timed"), "{out}");
    }
}
