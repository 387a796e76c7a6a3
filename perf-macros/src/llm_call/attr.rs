//! The arguments of `#[llm_call(...)]`, parsed into [`LlmCallArgs`] in the style of
//! `#[timed]`'s: every mistake is a `syn::Error` at the token that is wrong, all reported
//! together.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

use crate::timed::attr::{lit_str, path, skip_to_comma, value_of, Errors};

/// Every option `#[llm_call]` knows, for the "unknown option" message.
const OPTIONS: &str = "provider, operation, model, user, endpoint, meter, budget, crate";

/// What `#[llm_call(...)]` asked for.
#[derive(Clone, Default)]
pub(crate) struct LlmCallArgs {
    /// `provider = "openai"`: required.
    pub(crate) provider: Option<LitStr>,
    /// `operation = "chat"`: the `gen_ai_operation_name`; `chat` when absent.
    pub(crate) operation: Option<LitStr>,
    /// `model = <expr>`: the model asked for, from the fn's arguments; when absent the
    /// response's `model()`.
    pub(crate) model: Option<Expr>,
    /// `user = <expr>`: the end user, a budget key.
    pub(crate) user: Option<Expr>,
    /// `endpoint = <expr>`: the application endpoint, a budget key.
    pub(crate) endpoint: Option<Expr>,
    /// `meter = <expr>`: the `LlmMeter` to record with (`&LlmMeter`, `Arc<LlmMeter>` …).
    pub(crate) meter: Option<Expr>,
    /// `budget = false`: do not check budgets (and do not need `E: From<BudgetExceeded>`).
    pub(crate) budget: bool,
    /// `crate = path`: where perf-llm is, for crates that re-export it.
    pub(crate) krate: Option<Path>,
}

impl LlmCallArgs {
    /// Parses the attribute's arguments: the options that did parse, plus every error
    /// found, combined. `attr_span` is where "missing `provider`" points.
    pub(crate) fn parse(tokens: TokenStream, attr_span: Span) -> (LlmCallArgs, Option<syn::Error>) {
        let mut args = LlmCallArgs {
            budget: true,
            ..LlmCallArgs::default()
        };
        let mut errors = Errors::default();
        let mut given = BTreeSet::new();
        let parser = |input: ParseStream| {
            args.parse_list(input, &mut given, &mut errors);
            Ok(())
        };
        if let Err(e) = parser.parse2(tokens) {
            errors.push(e);
        }
        if !given.contains("provider") {
            errors.push(syn::Error::new(
                attr_span,
                "`#[llm_call]` needs the provider: `#[llm_call(provider = \"openai\")]`",
            ));
        }
        (args, errors.into_error())
    }

    fn parse_list(
        &mut self,
        input: ParseStream,
        given: &mut BTreeSet<&'static str>,
        errors: &mut Errors,
    ) {
        while !input.is_empty() {
            let Ok(key) = input.call(Ident::parse_any) else {
                errors.push(syn::Error::new(
                    input.span(),
                    format!("expected an option of `#[llm_call]`: {OPTIONS}"),
                ));
                return;
            };
            self.parse_option(&key, input, given, errors);
            if input.is_empty() {
                return;
            }
            if let Err(e) = input.parse::<Token![,]>() {
                errors.push(e);
                skip_to_comma(input);
                let _ = input.parse::<Option<Token![,]>>();
            }
        }
    }

    fn parse_option(
        &mut self,
        key: &Ident,
        input: ParseStream,
        given: &mut BTreeSet<&'static str>,
        errors: &mut Errors,
    ) {
        let name = key.to_string();
        let Some(known) = known_option(&name) else {
            errors.push(syn::Error::new(
                key.span(),
                format!("unknown option `{name}` of `#[llm_call]`; the options are: {OPTIONS}"),
            ));
            skip_to_comma(input);
            return;
        };
        if !given.insert(known) {
            errors.push(syn::Error::new(
                key.span(),
                format!("duplicate option `{known}`: give it once"),
            ));
            skip_to_comma(input);
            return;
        }
        let value = match value_of(key, known, input) {
            Ok(v) => v,
            Err(e) => {
                errors.push(e);
                skip_to_comma(input);
                return;
            }
        };
        let parsed = match known {
            "provider" => {
                non_empty(&value, "provider = \"openai\"").map(|s| self.provider = Some(s))
            }
            "operation" => {
                non_empty(&value, "operation = \"chat\"").map(|s| self.operation = Some(s))
            }
            "model" => {
                self.model = Some(value);
                Ok(())
            }
            "user" => {
                self.user = Some(value);
                Ok(())
            }
            "endpoint" => {
                self.endpoint = Some(value);
                Ok(())
            }
            "meter" => {
                self.meter = Some(value);
                Ok(())
            }
            "budget" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => {
                    self.budget = b.value;
                    Ok(())
                }
                other => Err(syn::Error::new(
                    other.span(),
                    "expected `true` or `false`, as in `budget = false`",
                )),
            },
            "crate" => path(&value, "crate = perf::llm", "a path to perf-llm")
                .map(|p| self.krate = Some(p)),
            _ => unreachable!("every known option is handled"),
        };
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
}

fn known_option(name: &str) -> Option<&'static str> {
    [
        "provider",
        "operation",
        "model",
        "user",
        "endpoint",
        "meter",
        "budget",
        "crate",
    ]
    .into_iter()
    .find(|o| *o == name)
}

fn non_empty(value: &Expr, example: &str) -> syn::Result<LitStr> {
    let s = lit_str(value, example)?;
    if s.value().is_empty() {
        return Err(syn::Error::new(
            s.span(),
            format!("this cannot be empty: write it as in `{example}`"),
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{quote, ToTokens};

    fn ok(tokens: TokenStream) -> LlmCallArgs {
        let (args, err) = LlmCallArgs::parse(tokens, Span::call_site());
        assert!(err.is_none(), "{}", err.unwrap());
        args
    }

    fn messages(tokens: TokenStream) -> Vec<String> {
        let (_, err) = LlmCallArgs::parse(tokens, Span::call_site());
        err.expect("an error")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn parses_every_option() {
        let a = ok(quote!(
            provider = "openai",
            operation = "embeddings",
            model = req.model.clone(),
            user = user_id,
            endpoint = "search",
            meter = &*METER,
            budget = false,
            crate = perf::llm
        ));
        assert_eq!(a.provider.unwrap().value(), "openai");
        assert_eq!(a.operation.unwrap().value(), "embeddings");
        let model = a.model.unwrap().to_token_stream().to_string();
        assert_eq!(model, "req . model . clone ()");
        assert!(a.user.is_some() && a.endpoint.is_some() && a.meter.is_some());
        assert!(!a.budget);
        assert_eq!(a.krate.unwrap().segments.len(), 2);
    }

    #[test]
    fn defaults_check_budgets_and_read_the_model_from_the_response() {
        let a = ok(quote!(provider = "anthropic"));
        assert!(a.budget && a.model.is_none() && a.operation.is_none());
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let msgs = messages(quote!(
            provder = "openai",
            operation = chat,
            budget = "no",
            crate = "perf",
            model
        ));
        assert_eq!(msgs.len(), 6, "{msgs:?}");
        assert!(msgs[0].contains("unknown option `provder`"));
        assert!(msgs[1].contains("expected a string literal"));
        assert!(msgs[2].contains("`true` or `false`"));
        assert!(msgs[3].contains("a path to perf-llm"));
        assert!(msgs[4].contains("`model` needs a value"));
        assert!(msgs[5].contains("needs the provider"));
    }

    #[test]
    fn duplicates_and_empty_strings_are_errors() {
        let msgs = messages(quote!(provider = "openai", provider = "anthropic"));
        assert_eq!(msgs, ["duplicate option `provider`: give it once"]);
        assert!(messages(quote!(provider = ""))[0].contains("cannot be empty"));
    }
}
