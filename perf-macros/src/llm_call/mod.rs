//! `#[llm_call]`: parse the options ([`attr`]), then rewrite the async fn ([`expand`]).

mod attr;
mod expand;

use proc_macro2::{Span, TokenStream};
use syn::Item;

use crate::args;
use attr::LlmCallArgs;

/// Expands `#[llm_call(args)] item`, whose generated code names `default_crate`
/// (`::perf::llm` for the `perf` facade) unless the user gave `crate = path`; `None` is
/// `::perf_llm`.
pub(crate) fn llm_call(
    args: TokenStream,
    item: TokenStream,
    default_crate: Option<syn::Path>,
) -> TokenStream {
    let (mut args, args_error) = LlmCallArgs::parse(args, Span::call_site());
    args.krate = args.krate.or(default_crate);
    args::expand_item(item, args_error, |parsed, _| match parsed {
        Item::Fn(f) => expand::item_fn(&args, f),
        other => Err(not_a_fn(&other)),
    })
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
