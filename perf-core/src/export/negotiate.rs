//! Content negotiation of a scrape: the protobuf exposition when the scraper's `Accept`
//! prefers it, else the text exposition (also for a missing or unreadable `Accept`, so a
//! text-only scraper gets what it always got).

use super::protobuf::PROTOBUF_CONTENT_TYPE;

/// The text exposition's `Content-Type`.
pub(crate) const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The two forms a scrape can be served in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exposition {
    Text,
    Protobuf,
}

impl Exposition {
    /// The form an `Accept` header asks for: protobuf when a media range for
    /// `application/vnd.google.protobuf` (with `proto=io.prometheus.client.MetricFamily`
    /// and `encoding=delimited`, when given) has a quality above zero and at least that of
    /// every range text satisfies (`text/plain`, `text/*`, `*/*`); text otherwise.
    pub(crate) fn from_accept(accept: Option<&str>) -> Exposition {
        let (mut protobuf, mut text) = (0.0f64, 0.0f64);
        for range in accept.unwrap_or("").split(',') {
            let Ok(mime) = range.trim().parse::<mime::Mime>() else {
                continue;
            };
            let param = |key: &str| mime.get_param(key).map(|v| v.as_str().to_owned());
            // A range with an unreadable quality is ill-formed: it asks for nothing.
            let q = match param("q").map(|q| q.parse::<f64>()) {
                None => 1.0,
                Some(Ok(q)) if q.is_finite() => q.clamp(0.0, 1.0),
                Some(_) => continue,
            };
            let (kind, sub) = (mime.type_().as_str(), mime.subtype().as_str());
            let is_protobuf = kind == "application"
                && sub == "vnd.google.protobuf"
                && param("proto").is_none_or(|p| p == "io.prometheus.client.MetricFamily")
                && param("encoding").is_none_or(|e| e == "delimited");
            if is_protobuf {
                protobuf = protobuf.max(q);
            } else if (kind == "text" && (sub == "plain" || sub == "*")) || kind == "*" {
                text = text.max(q);
            }
        }
        if protobuf > 0.0 && protobuf >= text {
            Exposition::Protobuf
        } else {
            Exposition::Text
        }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Exposition::Text => TEXT_CONTENT_TYPE,
            Exposition::Protobuf => PROTOBUF_CONTENT_TYPE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Exposition::{self, *};

    fn of(accept: &str) -> Exposition {
        Exposition::from_accept(Some(accept))
    }

    #[test]
    fn prometheus_with_native_histograms_gets_protobuf() {
        // What Prometheus 2.42 sends with --enable-feature=native-histograms.
        let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                      encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1";
        assert_eq!(of(accept), Protobuf);
        assert_eq!(of(super::PROTOBUF_CONTENT_TYPE), Protobuf);
    }

    #[test]
    fn prometheus_without_the_feature_gets_text() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                      version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(of(accept), Text);
    }

    #[test]
    fn text_wins_when_preferred_and_protobuf_needs_the_right_message() {
        assert_eq!(
            of("application/vnd.google.protobuf;q=0.2,text/plain;q=0.9"),
            Text
        );
        assert_eq!(
            of("application/vnd.google.protobuf;proto=other.Message;encoding=delimited"),
            Text
        );
        assert_eq!(
            of("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"),
            Text
        );
        assert_eq!(of("application/vnd.google.protobuf;q=0"), Text);
    }

    #[test]
    fn garbage_or_nothing_gets_text() {
        assert_eq!(of("\u{1}garbage;;;==,,"), Text);
        assert_eq!(of("application/vnd.google.protobuf;q=high"), Text);
        assert_eq!(of(""), Text);
        assert_eq!(of("application/json"), Text);
        assert_eq!(Exposition::from_accept(None), Text);
    }
}
