//! The arguments of `#[llm_call(...)]`, parsed into [`LlmCallArgs`] with the kit in
//! [`crate::args`], as `#[timed]`'s are: every mistake is a `syn::Error` at the token that is
//! wrong, all reported together.

use proc_macro2::{Span, TokenStream};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Path, Token};

use crate::args::{self, key_value, kw, lit_str, path, Errors, Given};

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
        let mut given = Given::new();
        let mut errors = args::parse_options(tokens, "llm_call", OPTIONS, |input, errors| {
            args.parse_option(input, &mut given, errors)
        });
        if !given.contains_key("provider") {
            errors.push(syn::Error::new(
                attr_span,
                "`#[llm_call]` needs the provider: `#[llm_call(provider = \"openai\")]`",
            ));
        }
        (args, errors.into_error())
    }

    /// Reads the option whose keyword is next in `input`; `Ok(false)` when there is none.
    fn parse_option(
        &mut self,
        input: ParseStream,
        given: &mut Given,
        errors: &mut Errors,
    ) -> syn::Result<bool> {
        if input.peek(kw::provider) {
            let value = key_value::<kw::provider>(input, given)?;
            let provider = non_empty(&value, "provider = \"openai\"");
            errors.check(provider.map(|s| self.provider = Some(s)));
        } else if input.peek(kw::operation) {
            let value = key_value::<kw::operation>(input, given)?;
            let operation = non_empty(&value, "operation = \"chat\"");
            errors.check(operation.map(|s| self.operation = Some(s)));
        } else if input.peek(kw::model) {
            self.model = Some(key_value::<kw::model>(input, given)?);
        } else if input.peek(kw::user) {
            self.user = Some(key_value::<kw::user>(input, given)?);
        } else if input.peek(kw::endpoint) {
            self.endpoint = Some(key_value::<kw::endpoint>(input, given)?);
        } else if input.peek(kw::meter) {
            self.meter = Some(key_value::<kw::meter>(input, given)?);
        } else if input.peek(kw::budget) {
            let value = key_value::<kw::budget>(input, given)?;
            errors.check(match value {
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
            });
        } else if input.peek(Token![crate]) {
            let value = key_value::<Token![crate]>(input, given)?;
            let krate = path(&value, "crate = perf::llm", "a path to perf-llm");
            errors.check(krate.map(|p| self.krate = Some(p)));
        } else {
            return Ok(false);
        }
        Ok(true)
    }
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
