//! The argument-parsing kit of the attribute macros: the option-list loop, errors collected
//! and reported together at the token that is wrong, the parsers of a value, and how an item
//! is emitted next to its errors. `#[timed]` and `#[llm_call]` each name their options with
//! `syn::custom_keyword!` and give the kit one fn that parses the option at hand.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Item, Lit, LitStr, Path, Token};

/// The options' keywords: `#[timed]`'s, then `#[llm_call]`'s (`crate` is Rust's own,
/// `Token![crate]`).
pub(crate) mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(labels);
    syn::custom_keyword!(slow);
    syn::custom_keyword!(span);
    syn::custom_keyword!(buckets);
    syn::custom_keyword!(error_if);
    syn::custom_keyword!(skip);

    syn::custom_keyword!(provider);
    syn::custom_keyword!(operation);
    syn::custom_keyword!(model);
    syn::custom_keyword!(user);
    syn::custom_keyword!(endpoint);
    syn::custom_keyword!(meter);
    syn::custom_keyword!(budget);
}

/// Errors collected while parsing, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    /// Keeps the error of a value that was read to its end, so parsing goes on right after
    /// it.
    pub(crate) fn check(&mut self, parsed: syn::Result<()>) {
        if let Err(e) = parsed {
            self.push(e);
        }
    }

    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

/// The options given, each with the span of its key: for "duplicate" errors, and for an
/// option that is not allowed where it was given.
pub(crate) type Given = BTreeMap<String, Span>;

/// An option's key, once read: what it is called and where it stands.
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) span: Span,
}

/// Reads the keyword `K` (a `syn::custom_keyword!`, or `Token![crate]`) that starts an
/// option and records it in `given`; an error when it was already given.
pub(crate) fn key<K: Parse + ToTokens>(input: ParseStream, given: &mut Given) -> syn::Result<Key> {
    let keyword: K = input.parse()?;
    let key = Key {
        name: keyword.to_token_stream().to_string(),
        span: keyword.span(),
    };
    if given.contains_key(&key.name) {
        return Err(syn::Error::new(
            key.span,
            format!("duplicate option `{}`: give it once", key.name),
        ));
    }
    given.insert(key.name.clone(), key.span);
    Ok(key)
}

/// Reads the keyword `K` and the `= <expr>` after it.
pub(crate) fn key_value<K: Parse + ToTokens>(
    input: ParseStream,
    given: &mut Given,
) -> syn::Result<Expr> {
    let key = key::<K>(input, given)?;
    value_of(&key, input)
}

/// Parses the comma-separated options of `#[{attr}(...)]`. `option` reads the option at the
/// head of `input` by its keyword: `Ok(false)` when no option of `attr` starts there, `Err`
/// when the option is broken (parsing then moves on to the next comma, so the next option is
/// still checked). Returns every error found.
pub(crate) fn parse_options(
    tokens: TokenStream,
    attr: &str,
    known: &str,
    mut option: impl FnMut(ParseStream, &mut Errors) -> syn::Result<bool>,
) -> Errors {
    let mut errors = Errors::default();
    let parser = |input: ParseStream| {
        while !input.is_empty() {
            match option(input, &mut errors) {
                Ok(true) => {}
                Ok(false) => {
                    let Ok(key) = input.call(Ident::parse_any) else {
                        errors.push(syn::Error::new(
                            input.span(),
                            format!("expected an option of `#[{attr}]`: {known}"),
                        ));
                        return Ok(());
                    };
                    errors.push(syn::Error::new(
                        key.span(),
                        format!("unknown option `{key}` of `#[{attr}]`; the options are: {known}"),
                    ));
                    skip_to_comma(input);
                }
                Err(e) => {
                    errors.push(e);
                    skip_to_comma(input);
                }
            }
            if let Err(e) = comma_or_end(input) {
                errors.push(e);
                skip_to_comma(input);
                let _ = input.parse::<Option<Token![,]>>();
            }
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    errors
}

/// Reads the comma after an item of a list, unless the list ends there.
pub(crate) fn comma_or_end(input: ParseStream) -> syn::Result<()> {
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

/// Parses `= <expr>` after `key`.
pub(crate) fn value_of(key: &Key, input: ParseStream) -> syn::Result<Expr> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        input.parse::<Expr>()
    } else {
        let name = &key.name;
        Err(syn::Error::new(
            key.span,
            format!("`{name}` needs a value: `{name} = ...`"),
        ))
    }
}

/// Moves past the rest of a broken option, so the next one is still checked.
pub(crate) fn skip_to_comma(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if let proc_macro2::TokenTree::Punct(p) = &tt {
                if p.as_char() == ',' {
                    return Ok(((), rest));
                }
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

pub(crate) fn lit_str(value: &Expr, example: &str) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new(
            other.span(),
            format!("expected a string literal, as in `{example}`"),
        )),
    }
}

pub(crate) fn path(value: &Expr, example: &str, what: &str) -> syn::Result<Path> {
    match value {
        Expr::Path(p) if p.qself.is_none() => Ok(p.path.clone()),
        other => Err(syn::Error::new(
            other.span(),
            format!("expected {what}, as in `{example}`"),
        )),
    }
}

/// Parses the item under an attribute whose arguments gave `args_error`, and hands it to
/// `expand`. On any error the item is emitted unchanged next to the `compile_error!`s, so
/// the rest of the crate still sees the fn and reports nothing else; `expand` may replace
/// what is emitted (its `&mut TokenStream`, the item as written) before it fails.
pub(crate) fn expand_item(
    item: TokenStream,
    args_error: Option<syn::Error>,
    expand: impl FnOnce(Item, &mut TokenStream) -> syn::Result<TokenStream>,
) -> TokenStream {
    let parsed: Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => return with_error(item, e),
    };
    if let Some(e) = args_error {
        return with_error(item, e);
    }
    let mut unchanged = item;
    match expand(parsed, &mut unchanged) {
        Ok(tokens) => tokens,
        Err(e) => with_error(unchanged, e),
    }
}

pub(crate) fn with_error(item: TokenStream, e: syn::Error) -> TokenStream {
    let e = e.to_compile_error();
    quote!(#e #item)
}
