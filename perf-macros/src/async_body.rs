//! Finds the future a non-`async` fn returns, so an attribute can instrument the work
//! inside it rather than the building of it: a body whose last expression is
//! `async move { ... }` or `Box::pin(async move { ... })` — what `#[async_trait]` writes.

use syn::{Block, Expr, ReturnType, Stmt, Type};

/// The `async` block a fn body ends in, directly or as the one argument of `Box::pin`:
/// always an [`Expr::Async`], returned as an `Expr` so a caller can replace it.
pub(crate) fn returned_async_block(body: &mut Block) -> Option<&mut Expr> {
    let Some(Stmt::Expr(last, None)) = body.stmts.last_mut() else {
        return None;
    };
    match last {
        Expr::Async(_) => Some(last),
        Expr::Call(call) if call.args.len() == 1 && is_box_pin(&call.func) => {
            match call.args.first_mut() {
                Some(e @ Expr::Async(_)) => Some(e),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `Box::pin`, `std::boxed::Box::pin`, `::alloc::boxed::Box::pin` …
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(p) = func else {
        return false;
    };
    let segs: Vec<_> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segs.len() >= 2 && segs[segs.len() - 2] == "Box" && segs[segs.len() - 1] == "pin"
}

/// The `X` of a return type that names `Future<Output = X>` (`impl Future<Output = X>`,
/// `Pin<Box<dyn Future<Output = X> + Send + 'a>>`), if any.
pub(crate) fn future_output(ret: &ReturnType) -> Option<&Type> {
    match ret {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => output_in(ty),
    }
}

fn output_in(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Path(p) => {
            let last = p.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            args.args.iter().find_map(|arg| match arg {
                syn::GenericArgument::AssocType(a)
                    if last.ident == "Future" && a.ident == "Output" =>
                {
                    Some(&a.ty)
                }
                syn::GenericArgument::Type(inner) => output_in(inner),
                _ => None,
            })
        }
        Type::ImplTrait(t) => bounds_output(&t.bounds),
        Type::TraitObject(t) => bounds_output(&t.bounds),
        Type::Paren(t) => output_in(&t.elem),
        Type::Group(t) => output_in(&t.elem),
        _ => None,
    }
}

fn bounds_output(
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> Option<&Type> {
    bounds.iter().find_map(|b| match b {
        syn::TypeParamBound::Trait(t) => {
            let last = t.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            if last.ident != "Future" {
                return None;
            }
            args.args.iter().find_map(|arg| match arg {
                syn::GenericArgument::AssocType(a) if a.ident == "Output" => Some(&a.ty),
                _ => None,
            })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn block(src: &str) -> Block {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn finds_a_trailing_async_block() {
        let mut b = block("{ let x = 1; async move { x } }");
        assert!(returned_async_block(&mut b).is_some());
        let mut b = block("{ Box::pin(async move { 1 }) }");
        assert!(returned_async_block(&mut b).is_some());
        let mut b = block("{ ::std::boxed::Box::pin(async { 1 }) }");
        assert!(returned_async_block(&mut b).is_some());
    }

    #[test]
    fn ignores_other_bodies() {
        for src in [
            "{ async move { 1 }; }",
            "{ 1 }",
            "{ Box::new(async move { 1 }) }",
            "{ f(async move { 1 }) }",
            "{ }",
        ] {
            assert!(returned_async_block(&mut block(src)).is_none(), "{src}");
        }
    }

    #[test]
    fn reads_the_output_type() {
        for (ret, out) in [
            ("-> impl Future<Output = u8>", "u8"),
            (
                "-> Pin<Box<dyn Future<Output = Result<u8, E>> + Send + 'async_trait>>",
                "Result < u8 , E >",
            ),
            ("-> impl std::future::Future<Output = ()> + Send", "()"),
        ] {
            let ret: ReturnType = syn::parse_str(ret).unwrap();
            let got = future_output(&ret).unwrap().to_token_stream().to_string();
            assert_eq!(got, out);
        }
        let ret: ReturnType = syn::parse_str("-> Vec<u8>").unwrap();
        assert!(future_output(&ret).is_none());
    }
}
