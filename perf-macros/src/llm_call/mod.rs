//! `#[llm_call]`: parse the options ([`attr`]), then rewrite the async fn ([`expand`]).

mod attr;
mod expand;

use proc_macro2::{Span, TokenStream};
use syn::Item;

use crate::timed::with_error;
use attr::LlmCallArgs;

/// Expands `#[llm_call(args)] item`. On any error the item is emitted unchanged next to
/// the `compile_error!`s, so the rest of the crate still sees the fn.
pub(crate) fn llm_call(args: TokenStream, item: TokenStream) -> TokenStream {
    llm_call_in(args, item, None)
}

/// [`llm_call`] whose generated code names `default_crate` (`::perf::llm` for the `perf`
/// facade) unless the user gave `crate = path`; `None` is `::perf_llm`.
pub(crate) fn llm_call_in(
    args: TokenStream,
    item: TokenStream,
    default_crate: Option<syn::Path>,
) -> TokenStream {
    let (mut args, args_error) = LlmCallArgs::parse(args, Span::call_site());
    if args.krate.is_none() {
        args.krate = default_crate;
    }
    let parsed: Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => return with_error(item, e),
    };
    if let Some(e) = args_error {
        return with_error(item, e);
    }
    let Item::Fn(f) = parsed else {
        return with_error(item, not_a_fn(&parsed));
    };
    match expand::item_fn(&args, f) {
        Ok(tokens) => tokens,
        Err(e) => with_error(item, e),
    }
}

/// The error for an item that is not a fn, at the keyword that says what it is.
fn not_a_fn(item: &Item) -> syn::Error {
    let at = crate::item::keyword(item);
    syn::Error::new_spanned(
        at,
        "`#[llm_call]` goes on the async fn that calls the model (on each method, not on \
         the impl block)",
    )
}
