//! `#[timed]`: parse the options ([`attr`]), then rewrite the fn or impl block ([`expand`]).

pub(crate) mod attr;
pub(crate) mod expand;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::Item;

use attr::TimedArgs;

/// Expands `#[timed(args)] item`. On any error the item is emitted unchanged next to the
/// `compile_error!`s, so the rest of the crate still sees the fn and reports nothing else.
pub(crate) fn timed(args: TokenStream, item: TokenStream) -> TokenStream {
    timed_in(args, item, None)
}

/// [`timed`] whose generated code names `default_crate` (`::perf::core` for the `perf`
/// facade) unless the user gave `crate = path`; `None` is `::perf_core`.
pub(crate) fn timed_in(
    args: TokenStream,
    item: TokenStream,
    default_crate: Option<syn::Path>,
) -> TokenStream {
    let (mut args, args_error) = TimedArgs::parse(args);
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
    let expanded = match parsed {
        Item::Fn(f) => expand::item_fn(&args, f).map_err(|e| (e, item)),
        Item::Impl(mut block) => expand::item_impl(&args, block.clone()).map_err(|e| {
            // The methods' own `#[timed]`s would expand again and repeat their errors.
            expand::strip_timed_attrs(&mut block);
            (e, block.into_token_stream())
        }),
        other => Err((not_a_fn(&other), item)),
    };
    match expanded {
        Ok(tokens) => tokens,
        Err((e, item)) => with_error(item, e),
    }
}

pub(crate) fn with_error(item: TokenStream, e: syn::Error) -> TokenStream {
    let e = e.to_compile_error();
    quote!(#e #item)
}

/// The error for an item that is neither a fn nor an impl block, at its keyword.
fn not_a_fn(item: &Item) -> syn::Error {
    let at = crate::item::keyword(item);
    syn::Error::new_spanned(
        at,
        "`#[timed]` goes on a fn with a body or on an impl block (to time every method)",
    )
}
