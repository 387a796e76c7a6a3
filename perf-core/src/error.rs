//! Errors of perf-core, each saying what to do next.

use std::net::SocketAddr;

use crate::names::{LABEL_FUNCTION, LABEL_MODULE, LABEL_RESULT};

/// A metric or label name that Prometheus would not accept.
///
/// ```
/// use perf_core::{NameError, Registry};
///
/// let registry = Registry::new();
/// let err = registry.histogram("9lives", &[]).unwrap_err();
/// assert!(matches!(err, NameError::InvalidName(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("metric name is empty: name the histogram, e.g. \"checkout\"")]
    EmptyName,
    /// The name has a character Prometheus does not allow.
    #[error("invalid metric name {0:?}: use ASCII letters, digits, '_' or ':', not starting with a digit")]
    InvalidName(String),
    /// The label key has a character Prometheus does not allow.
    #[error(
        "invalid label key {0:?}: use ASCII letters, digits or '_', not starting with a digit"
    )]
    InvalidLabelKey(String),
    /// The label key is reserved (`le`, `quantile`, or starts with `__`).
    #[error("label key {0:?} is reserved by Prometheus: pick another key")]
    ReservedLabelKey(String),
    /// The same label key is given twice for one series.
    #[error("label key {0:?} is given twice: give each key once")]
    DuplicateLabelKey(String),
    /// A global label may not use a key that perf writes on its own series (`function`,
    /// `module`, `result`).
    #[error("label key {0:?} is one perf writes itself (function, module, result): pick another key, e.g. \"service\"")]
    LabelKeyWrittenByPerf(String),
}

/// Setting up or running the Prometheus export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The HTTP listener could not bind its address.
    #[error("could not listen on {addr}: {source} (is another process using the port? pass port 0 to let the OS pick)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// A global `metrics` recorder is already installed.
    #[error("a global metrics recorder is already installed: install perf's exporter once, early in main, or use build() and your own recorder")]
    RecorderAlreadyInstalled,
    /// A global label's key would break the exposition (see the [`NameError`]).
    #[error("global label refused: {0}")]
    InvalidGlobalLabel(#[source] NameError),
    /// Bucket boundaries are empty, not finite, or not strictly increasing.
    #[error(
        "invalid histogram buckets {0:?}: give finite, strictly increasing upper bounds in seconds"
    )]
    InvalidBuckets(Vec<f64>),
    /// The push gateway configuration is not usable (see the [`PushConfigError`]).
    ///
    /// [`PushConfigError`]: crate::export::PushConfigError
    #[error("push gateway refused: {0}")]
    Push(#[from] crate::export::PushConfigError),
    /// The exporter's background thread could not start.
    #[error("could not start the exporter's thread: {0}")]
    Thread(#[from] std::io::Error),
}

pub(crate) fn check_metric_name(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err(NameError::EmptyName),
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
            if chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                Ok(())
            } else {
                Err(NameError::InvalidName(name.to_owned()))
            }
        }
        Some(_) => Err(NameError::InvalidName(name.to_owned())),
    }
}

pub(crate) fn check_label_key(key: &str) -> Result<(), NameError> {
    let mut chars = key.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    };
    if !ok {
        return Err(NameError::InvalidLabelKey(key.to_owned()));
    }
    if key.starts_with("__") || key == "le" || key == "quantile" {
        return Err(NameError::ReservedLabelKey(key.to_owned()));
    }
    Ok(())
}

/// The keys of one series' labels: each valid and given once.
pub(crate) fn check_label_keys<'a>(
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<(), NameError> {
    let mut seen: Vec<&str> = Vec::new();
    for key in keys {
        check_label_key(key)?;
        if seen.contains(&key) {
            return Err(NameError::DuplicateLabelKey(key.to_owned()));
        }
        seen.push(key);
    }
    Ok(())
}

/// A global label lands on every series, perf's `function_calls_*` ones too, so it may not
/// use their keys either.
pub(crate) fn check_global_label_key(key: &str) -> Result<(), NameError> {
    check_label_key(key)?;
    if [LABEL_FUNCTION, LABEL_MODULE, LABEL_RESULT].contains(&key) {
        return Err(NameError::LabelKeyWrittenByPerf(key.to_owned()));
    }
    Ok(())
}

pub(crate) fn check_buckets(buckets: &[f64]) -> Result<(), ExportError> {
    let ok = !buckets.is_empty()
        && buckets.iter().all(|b| b.is_finite() && *b > 0.0)
        && buckets.windows(2).all(|w| w[0] < w[1]);
    if ok {
        Ok(())
    } else {
        Err(ExportError::InvalidBuckets(buckets.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_metric_name("checkout").is_ok());
        assert!(check_metric_name("a:b_c9").is_ok());
        assert_eq!(check_metric_name(""), Err(NameError::EmptyName));
        assert!(check_metric_name("1x").is_err());
        assert!(check_metric_name("a-b").is_err());
        assert!(check_metric_name("é").is_err());
    }

    #[test]
    fn label_keys() {
        assert!(check_label_key("route").is_ok());
        assert!(matches!(
            check_label_key("le"),
            Err(NameError::ReservedLabelKey(_))
        ));
        assert!(matches!(
            check_label_key("__x"),
            Err(NameError::ReservedLabelKey(_))
        ));
        assert!(matches!(
            check_label_key("a b"),
            Err(NameError::InvalidLabelKey(_))
        ));
        assert!(matches!(
            check_label_key(""),
            Err(NameError::InvalidLabelKey(_))
        ));
    }

    #[test]
    fn buckets() {
        assert!(check_buckets(&[0.1, 1.0]).is_ok());
        assert!(check_buckets(&[]).is_err());
        assert!(check_buckets(&[1.0, 0.5]).is_err());
        assert!(check_buckets(&[f64::NAN]).is_err());
        assert!(check_buckets(&[-1.0]).is_err());
    }
}
