//! `#[timed]`: parse the options ([`attr`]), then rewrite the fn or impl block ([`expand`]).

pub(crate) mod attr;
pub(crate) mod expand;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::Item;

use crate::args;
use attr::TimedArgs;

/// Expands `#[timed(args)] item`, whose generated code names `default_crate` (`::perf::core`
/// for the `perf` facade) unless the user gave `crate = path`; `None` is `::perf_core`.
pub(crate) fn timed(
    args: TokenStream,
    item: TokenStream,
    default_crate: Option<syn::Path>,
) -> TokenStream {
    let (mut args, args_error) = TimedArgs::parse(args);
    args.krate = args.krate.or(default_crate);
    args::expand_item(item, args_error, |parsed, unchanged| match parsed {
        Item::Fn(f) => expand::item_fn(&args, f),
        Item::Impl(mut block) => expand::item_impl(&args, block.clone()).inspect_err(|_| {
            // The methods' own `#[timed]`s would expand again and repeat their errors.
            expand::strip_timed_attrs(&mut block);
            *unchanged = block.into_token_stream();
        }),
        other => Err(not_a_fn(&other)),
    })
}

/// The error for an item that is neither a fn nor an impl block, at its keyword.
fn not_a_fn(item: &Item) -> syn::Error {
    let at = crate::item::keyword(item);
    syn::Error::new_spanned(
        at,
        "`#[timed]` goes on a fn with a body or on an impl block (to time every method)",
    )
}
