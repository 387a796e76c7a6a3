//! `assert_allocations!`: parses `subject, clause, ...` where a clause is
//! `statistic comparison limit`, and expands to a call of `alloc::__assert`. A wrong
//! statistic or comparison is an error at its token, every one of them reported together.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Token};

use crate::args::Errors;

/// The statistics a clause may name, with the `AllocStat` variant of each.
const STATS: &[(&str, &str)] = &[
    ("allocs", "Allocs"),
    ("deallocs", "Deallocs"),
    ("reallocs", "Reallocs"),
    ("bytes", "Bytes"),
    ("bytes_freed", "BytesFreed"),
    ("net", "Net"),
    ("peak", "Peak"),
];

struct Clause {
    stat: Ident,
    cmp: Ident,
    limit: Expr,
}

struct Parsed {
    subject: Expr,
    clauses: Vec<Clause>,
}

fn parse(input: ParseStream, errors: &mut Errors) -> syn::Result<Parsed> {
    let subject: Expr = input.parse()?;
    let mut clauses = Vec::new();
    while input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
        let stat: Ident = input.parse()?;
        let variant = STATS.iter().find(|(name, _)| stat == name).map(|(_, v)| *v);
        if variant.is_none() {
            let names: Vec<&str> = STATS.iter().map(|(n, _)| *n).collect();
            errors.push(syn::Error::new(
                stat.span(),
                format!(
                    "unknown allocation statistic `{stat}`; expected one of {}",
                    names.join(", ")
                ),
            ));
        }
        let cmp = if input.peek(Token![==]) {
            "Eq"
        } else if input.peek(Token![<=]) {
            "Le"
        } else if input.peek(Token![<]) && !input.peek(Token![<<]) {
            "Lt"
        } else {
            return Err(input.error(
                "an allocation clause compares with `==`, `<=` or `<` (the limit is the most \
                 allowed)",
            ));
        };
        let cmp_span = input.span();
        match cmp {
            "Eq" => drop(input.parse::<Token![==]>()?),
            "Le" => drop(input.parse::<Token![<=]>()?),
            _ => drop(input.parse::<Token![<]>()?),
        }
        let limit: Expr = input.parse()?;
        clauses.push(Clause {
            stat: Ident::new(variant.unwrap_or("Allocs"), stat.span()),
            cmp: Ident::new(cmp, cmp_span),
            limit,
        });
    }
    if clauses.is_empty() {
        return Err(input.error(
            "give at least one clause after the closure: `allocs == 0`, `bytes <= 4096`, \
             `net == 0`",
        ));
    }
    Ok(Parsed { subject, clauses })
}

/// `assert_allocations!(subject, clauses...)` for the crate at `krate`.
pub(crate) fn assert_allocations(input: TokenStream, krate: syn::Path) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = (|input: ParseStream| parse(input, &mut errors)).parse2(input);
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            return errors
                .into_error()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
        }
    };
    if let Some(e) = errors.into_error() {
        return e.to_compile_error();
    }
    let subject = &parsed.subject;
    let clauses = parsed.clauses.iter().map(|c| {
        let (stat, cmp, limit) = (&c.stat, &c.cmp, &c.limit);
        // Spanned so a limit of the wrong type is reported at the limit.
        let limit = quote_spanned!(limit.span()=> #limit);
        quote! {
            #krate::alloc::AllocClause::new(
                #krate::alloc::AllocStat::#stat,
                #krate::alloc::AllocCmp::#cmp,
                #limit,
            )
        }
    });
    quote! {
        #krate::alloc::__assert(#subject, &[#(#clauses),*])
    }
}
