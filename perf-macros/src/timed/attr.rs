//! The arguments of `#[timed(...)]`, parsed into [`TimedArgs`] with the kit in
//! [`crate::args`]: each option is known by its keyword, every mistake becomes a `syn::Error`
//! at the token that is wrong, and all of them are reported together.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

use crate::args::{
    self, comma_or_end, key, key_value, kw, lit_str, path, skip_to_comma, value_of, Errors, Given,
    Key,
};

/// The label keys that every `#[timed]` series already carries.
const RESERVED_LABELS: [&str; 3] = ["function", "module", "result"];

/// The label keys Prometheus gives a meaning of its own: a static label of either would
/// appear twice on a `_bucket` (or quantile) line, and the whole scrape would be rejected.
const PROMETHEUS_LABELS: [(&str, &str); 2] = [
    ("le", "the bucket bound of every `_bucket` line"),
    ("quantile", "the quantile of a Prometheus summary"),
];

/// Every option `#[timed]` knows, for the "unknown option" message.
const OPTIONS: &str = "name, labels, slow, span, buckets, error_if, crate, skip";

/// What `#[timed(...)]` asked for.
#[derive(Clone, Default)]
pub(crate) struct TimedArgs {
    /// `name = "..."`: the `function` label; the fn's name when absent.
    pub(crate) name: Option<LitStr>,
    /// `labels(key = "value", ...)`: static labels, in the order written.
    pub(crate) labels: Vec<(LitStr, LitStr)>,
    /// `slow = "250ms"`, parsed: the slow-call WARN threshold in nanoseconds.
    pub(crate) slow_nanos: Option<u64>,
    /// `span`: enter a `tracing` span around the call (around each poll when async).
    pub(crate) span: bool,
    /// `buckets = [...]`: Prometheus bucket bounds in seconds, strictly increasing.
    pub(crate) buckets: Option<Vec<f64>>,
    /// `error_if = path`: a `fn(&T) -> bool` that flags a returned value as an error.
    pub(crate) error_if: Option<Path>,
    /// `crate = path`: where perf-core is, for crates that re-export it.
    pub(crate) krate: Option<Path>,
    /// `skip`: leave this fn untimed (inside a timed impl block).
    pub(crate) skip: bool,
    /// The span of each option key given, for "duplicate" and "not here" errors.
    pub(crate) given: Given,
}

impl TimedArgs {
    /// Parses the attribute's arguments. Always returns the options that did parse, plus
    /// every error found, combined.
    pub(crate) fn parse(tokens: TokenStream) -> (TimedArgs, Option<syn::Error>) {
        let mut args = TimedArgs::default();
        let errors = args::parse_options(tokens, "timed", OPTIONS, |input, errors| {
            args.parse_option(input, errors)
        });
        (args, errors.into_error())
    }

    /// The options of a method inside a timed impl block: the block's, overridden by the
    /// method's own where it gives them.
    pub(crate) fn overridden_by(&self, method: TimedArgs) -> TimedArgs {
        let mut out = self.clone();
        out.skip = method.skip;
        if method.name.is_some() {
            out.name = method.name;
        }
        if !method.labels.is_empty() {
            out.labels = method.labels;
        }
        if method.slow_nanos.is_some() {
            out.slow_nanos = method.slow_nanos;
        }
        out.span |= method.span;
        if method.buckets.is_some() {
            out.buckets = method.buckets;
        }
        if method.error_if.is_some() {
            out.error_if = method.error_if;
        }
        if method.krate.is_some() {
            out.krate = method.krate;
        }
        out.given.extend(method.given);
        out
    }

    /// Reads the option whose keyword is next in `input`; `Ok(false)` when there is none.
    fn parse_option(&mut self, input: ParseStream, errors: &mut Errors) -> syn::Result<bool> {
        let given = &mut self.given;
        if input.peek(kw::span) {
            self.span = flag(&key::<kw::span>(input, given)?, input)?;
        } else if input.peek(kw::skip) {
            self.skip = flag(&key::<kw::skip>(input, given)?, input)?;
        } else if input.peek(kw::labels) {
            let key = key::<kw::labels>(input, given)?;
            self.labels = labels(&key, input, errors)?;
        } else if input.peek(kw::name) {
            let value = key_value::<kw::name>(input, given)?;
            errors.check(lit_str(&value, "name = \"checkout\"").and_then(|s| {
                if s.value().is_empty() {
                    Err(syn::Error::new(s.span(), "`name` cannot be empty"))
                } else {
                    self.name = Some(s);
                    Ok(())
                }
            }));
        } else if input.peek(kw::slow) {
            let value = key_value::<kw::slow>(input, given)?;
            let slow = lit_str(&value, "slow = \"250ms\"").and_then(|s| parse_slow(&s));
            errors.check(slow.map(|n| self.slow_nanos = Some(n)));
        } else if input.peek(kw::buckets) {
            let value = key_value::<kw::buckets>(input, given)?;
            errors.check(parse_buckets(&value).map(|b| self.buckets = Some(b)));
        } else if input.peek(kw::error_if) {
            let value = key_value::<kw::error_if>(input, given)?;
            let what = "the path of a `fn(&T) -> bool`";
            let error_if = path(&value, "error_if = is_error", what);
            errors.check(error_if.map(|p| self.error_if = Some(p)));
        } else if input.peek(Token![crate]) {
            let value = key_value::<Token![crate]>(input, given)?;
            let krate = path(&value, "crate = my_crate::perf_core", "a path to perf-core");
            errors.check(krate.map(|p| self.krate = Some(p)));
        } else {
            return Ok(false);
        }
        Ok(true)
    }
}

/// The value of `span` or `skip`: none, so `true` once given.
fn flag(key: &Key, input: ParseStream) -> syn::Result<bool> {
    if input.peek(Token![,]) || input.is_empty() {
        Ok(true)
    } else {
        let name = &key.name;
        Err(syn::Error::new(
            input.span(),
            format!("`{name}` takes no value: write `#[timed({name})]`"),
        ))
    }
}

/// The list after `labels`, each label checked in turn.
fn labels(
    key: &Key,
    input: ParseStream,
    errors: &mut Errors,
) -> syn::Result<Vec<(LitStr, LitStr)>> {
    let group = input.peek(syn::token::Paren).then(|| {
        let content;
        syn::parenthesized!(content in input);
        Ok(content)
    });
    match group {
        Some(Ok::<_, syn::Error>(content)) => Ok(parse_labels(&content, errors)),
        _ => Err(syn::Error::new(
            key.span,
            "`labels` takes a list: `labels(key = \"value\", ...)`",
        )),
    }
}

fn parse_slow(s: &LitStr) -> syn::Result<u64> {
    let d = humantime::parse_duration(&s.value()).map_err(|e| {
        syn::Error::new(
            s.span(),
            format!(
                "`slow` is not a duration ({e}); write it like \"250ms\", \"2s\" or \"1m 30s\""
            ),
        )
    })?;
    match u64::try_from(d.as_nanos()) {
        Ok(0) => Err(syn::Error::new(
            s.span(),
            "`slow` must be longer than zero; remove it to never warn",
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(syn::Error::new(
            s.span(),
            "`slow` is too long: at most about 584 years",
        )),
    }
}

fn parse_buckets(value: &Expr) -> syn::Result<Vec<f64>> {
    let Expr::Array(array) = value else {
        return Err(syn::Error::new(
            value.span(),
            "expected a list of bucket bounds in seconds, as in `buckets = [0.001, 0.01, 0.1]`",
        ));
    };
    if array.elems.is_empty() {
        return Err(syn::Error::new(
            array.span(),
            "`buckets` needs at least one bound",
        ));
    }
    let mut out: Vec<f64> = Vec::with_capacity(array.elems.len());
    for elem in &array.elems {
        let bound = match elem {
            Expr::Lit(ExprLit {
                lit: Lit::Float(f), ..
            }) => f.base10_parse::<f64>()?,
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_parse::<u64>()? as f64,
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "a bucket bound is a number of seconds, such as `0.25` or `1`",
                ))
            }
        };
        if !(bound.is_finite() && bound > 0.0) {
            return Err(syn::Error::new(
                elem.span(),
                "a bucket bound must be a positive, finite number of seconds",
            ));
        }
        if out.last().is_some_and(|last| bound <= *last) {
            return Err(syn::Error::new(
                elem.span(),
                "bucket bounds must be strictly increasing",
            ));
        }
        out.push(bound);
    }
    Ok(out)
}

fn parse_labels(input: ParseStream, errors: &mut Errors) -> Vec<(LitStr, LitStr)> {
    let mut labels: Vec<(LitStr, LitStr)> = Vec::new();
    while !input.is_empty() {
        let key = match input.call(Ident::parse_any) {
            Ok(k) => k,
            Err(_) => {
                errors.push(syn::Error::new(
                    input.span(),
                    "expected a label key, as in `labels(tier = \"gold\")`",
                ));
                return labels;
            }
        };
        let key_str = key.unraw().to_string();
        let label = Key {
            name: key_str.clone(),
            span: key.span(),
        };
        let value = value_of(&label, input).and_then(|v| lit_str(&v, "tier = \"gold\""));
        match value {
            Ok(value) => {
                let refused = refused_label_key(&key_str).or_else(|| {
                    labels
                        .iter()
                        .any(|(k, _)| k.value() == key_str)
                        .then(|| format!("duplicate label `{key_str}`"))
                });
                match refused {
                    Some(message) => errors.push(syn::Error::new(key.span(), message)),
                    None => labels.push((LitStr::new(&key_str, key.span()), value)),
                }
            }
            Err(e) => {
                errors.push(e);
                skip_to_comma(input);
            }
        }
        if let Err(e) = comma_or_end(input) {
            errors.push(e);
            return labels;
        }
    }
    labels
}

/// Why `key` cannot be a static label key, if it cannot: a label `#[timed]` or Prometheus
/// sets itself, or a name Prometheus does not accept (`[a-zA-Z_][a-zA-Z0-9_]*`; a Rust
/// identifier may be any Unicode word).
fn refused_label_key(key: &str) -> Option<String> {
    if RESERVED_LABELS.contains(&key) {
        return Some(format!(
            "`{key}` is set by `#[timed]` itself; choose another label key"
        ));
    }
    if let Some((_, what)) = PROMETHEUS_LABELS.iter().find(|(k, _)| *k == key) {
        return Some(format!(
            "`{key}` is reserved by Prometheus ({what}); choose another label key"
        ));
    }
    if key.starts_with("__") {
        return Some("label keys starting with `__` are reserved by Prometheus".into());
    }
    let valid = key
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit()));
    (!valid || key.is_empty()).then(|| {
        format!(
            "`{key}` is not a Prometheus label name: use ASCII letters, digits and `_`, \
             not starting with a digit"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn ok(tokens: TokenStream) -> TimedArgs {
        let (args, err) = TimedArgs::parse(tokens);
        assert!(err.is_none(), "{}", err.unwrap());
        args
    }

    fn messages(tokens: TokenStream) -> Vec<String> {
        let (_, err) = TimedArgs::parse(tokens);
        err.expect("an error")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn parses_every_option() {
        let a = ok(quote!(
            name = "checkout",
            labels(tier = "gold", region = "eu"),
            slow = "250ms",
            span,
            buckets = [0.001, 0.01, 1],
            error_if = is_bad,
            crate = my::perf_core
        ));
        assert_eq!(a.name.unwrap().value(), "checkout");
        let labels: Vec<_> = a
            .labels
            .iter()
            .map(|(k, v)| (k.value(), v.value()))
            .collect();
        assert_eq!(
            labels,
            [
                ("tier".into(), "gold".into()),
                ("region".into(), "eu".into())
            ]
        );
        assert_eq!(a.slow_nanos, Some(250_000_000));
        assert!(a.span);
        assert_eq!(a.buckets.unwrap(), [0.001, 0.01, 1.0]);
        assert!(a.error_if.unwrap().is_ident("is_bad"));
        assert_eq!(a.krate.unwrap().segments.len(), 2);
        assert!(!a.skip);
    }

    #[test]
    fn empty_arguments_are_the_defaults() {
        let a = ok(quote!());
        assert!(a.name.is_none() && a.slow_nanos.is_none() && !a.span && !a.skip);
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let msgs = messages(quote!(
            nmae = "x",
            name = 5,
            slow = "fast",
            span = true,
            buckets = [0.1, 0.01],
            labels(result = "x")
        ));
        assert_eq!(msgs.len(), 6, "{msgs:?}");
        assert!(msgs[0].contains("unknown option `nmae`"));
        assert!(msgs[1].contains("expected a string literal"));
        assert!(msgs[2].contains("`slow` is not a duration"));
        assert!(msgs[3].contains("`span` takes no value"));
        assert!(msgs[4].contains("strictly increasing"));
        assert!(msgs[5].contains("`result` is set by `#[timed]`"));
    }

    #[test]
    fn duplicates_are_errors() {
        let msgs = messages(quote!(span, span));
        assert_eq!(msgs, ["duplicate option `span`: give it once"]);
        let msgs = messages(quote!(labels(a = "1", a = "2")));
        assert_eq!(msgs, ["duplicate label `a`"]);
    }

    #[test]
    fn reserved_and_invalid_label_keys_are_errors_at_the_key() {
        let msgs = messages(quote!(labels(
            tier = "gold",
            le = "x",
            quantile = "0.5",
            function = "f",
            module = "m",
            __name__ = "n",
            région = "eu",
            r#type = "batch"
        )));
        assert_eq!(msgs.len(), 6, "{msgs:?}");
        assert!(
            msgs[0].starts_with("`le` is reserved by Prometheus"),
            "{msgs:?}"
        );
        assert!(msgs[1].starts_with("`quantile` is reserved by Prometheus"));
        assert!(msgs[2].starts_with("`function` is set by `#[timed]`"));
        assert!(msgs[3].starts_with("`module` is set by `#[timed]`"));
        assert!(msgs[4].contains("starting with `__`"));
        assert!(msgs[5].starts_with("`région` is not a Prometheus label name"));
        let (args, _) = TimedArgs::parse(quote!(labels(tier = "gold", r#type = "batch")));
        let keys: Vec<_> = args.labels.iter().map(|(k, _)| k.value()).collect();
        assert_eq!(keys, ["tier", "type"]);
    }

    #[test]
    fn zero_slow_and_bad_buckets_are_errors() {
        assert!(messages(quote!(slow = "0s"))[0].contains("longer than zero"));
        assert!(messages(quote!(buckets = []))[0].contains("at least one"));
        assert!(messages(quote!(buckets = [0.0]))[0].contains("positive"));
        assert!(messages(quote!(buckets = 0.1))[0].contains("list of bucket bounds"));
        assert!(messages(quote!(error_if = "f"))[0].contains("fn(&T) -> bool"));
    }

    #[test]
    fn method_options_override_the_impl_block() {
        let block = ok(quote!(slow = "1s", labels(a = "1")));
        let method = ok(quote!(slow = "2s", span));
        let merged = block.overridden_by(method);
        assert_eq!(merged.slow_nanos, Some(2_000_000_000));
        assert!(merged.span);
        assert_eq!(merged.labels.len(), 1);
    }
}
