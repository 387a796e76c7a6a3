//! [`PrometheusExporter`]: the running exporter, what it renders at a scrape, and the
//! listener and upkeep threads it owns.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use prost::Message;

use super::native::NativeOptions;
use super::negotiate::Exposition;
use super::process::ProcessCollector;
use super::push::{PushTarget, Pusher};
use super::server::{Periodic, Route, Server};
use super::text::Renderer;
use super::text_parser;
use crate::error::ExportError;
use crate::registry::Registry;

/// What a scrape renders: perf's registry and the facade recorder's handle.
pub(crate) struct State {
    pub(crate) handle: Option<PrometheusHandle>,
    /// Set by `with_process_metrics`: `/proc` read at each render.
    pub(crate) process: Option<ProcessCollector>,
    pub(crate) registry: &'static Registry,
    /// Kept across scrapes: the bucket sets' text is prepared once, the buffers reused.
    pub(crate) renderer: Mutex<Renderer>,
    /// The form of each histogram in the protobuf exposition.
    pub(crate) native: NativeOptions,
}

impl State {
    fn render(&self) -> String {
        let mut out = self
            .renderer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .render(self.registry);
        if let Some(h) = &self.handle {
            out.push_str(&h.render());
        }
        if let Some(p) = &self.process {
            p.render(&mut out);
        }
        out
    }

    fn render_protobuf(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.renderer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .render_protobuf(self.registry, &self.native, &mut out);
        // The facade's and the process collector's series exist only as text: read back,
        // they follow perf's families (length-delimited messages concatenate).
        let mut text = String::new();
        if let Some(h) = &self.handle {
            text = h.render();
        }
        if let Some(p) = &self.process {
            p.render(&mut text);
        }
        let parsed = text_parser::parse(&text);
        if parsed.skipped > 0 {
            tracing::warn!(
                target: "perf::export",
                skipped = parsed.skipped,
                "lines of the facade's text exposition could not be read and are left out of \
                 this protobuf scrape (the text scrape still has them); please report it"
            );
        }
        for family in &parsed.families {
            // Writing into a Vec grows it; it cannot run out of room.
            let _ = family.encode_length_delimited(&mut out);
        }
        out
    }

    fn render_as(&self, exposition: Exposition) -> Vec<u8> {
        match exposition {
            Exposition::Text => self.render().into_bytes(),
            Exposition::Protobuf => self.render_protobuf(),
        }
    }
}

/// The running exporter. Dropping it stops its listener and upkeep thread; recording goes
/// on unaffected (perf's histograms keep their samples, the facade recorder stays installed).
pub struct PrometheusExporter {
    state: Arc<State>,
    server: Option<Server>,
    _upkeep: Option<Periodic>,
    _push: Option<Pusher>,
}

impl std::fmt::Debug for PrometheusExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusExporter")
            .field("local_addr", &self.local_addr())
            .finish()
    }
}

impl PrometheusExporter {
    /// Starts the upkeep thread and, if `listen` is set, the listener serving `state` with
    /// its header-read timeout, and `routes` before `/metrics`; if `push` is set, the push
    /// thread.
    pub(crate) fn start(
        state: Arc<State>,
        listen: Option<(SocketAddr, Duration)>,
        upkeep: Duration,
        push: Option<PushTarget>,
        routes: Vec<Route>,
    ) -> Result<PrometheusExporter, ExportError> {
        let upkeep = Some(Periodic::spawn("perf-upkeep", upkeep, {
            let state = state.clone();
            move || {
                if let Some(h) = &state.handle {
                    h.run_upkeep();
                }
            }
        })?);
        let server = match listen {
            Some((addr, header_read_timeout)) => {
                let state = state.clone();
                let render = Arc::new(move |exposition| state.render_as(exposition));
                Some(Server::start(addr, header_read_timeout, render, routes)?)
            }
            None => None,
        };
        let push = match push {
            Some(target) => {
                let state = state.clone();
                Some(Pusher::spawn(target, Box::new(move || state.render()))?)
            }
            None => None,
        };
        Ok(PrometheusExporter {
            state,
            server,
            _upkeep: upkeep,
            _push: push,
        })
    }

    /// The whole exposition text: perf's histograms, then the facade's metrics. Serve it
    /// from your own web server if you did not ask for a listener.
    pub fn render(&self) -> String {
        self.state.render()
    }

    /// The whole exposition as protobuf (what a scrape asking for
    /// [`PROTOBUF_CONTENT_TYPE`](super::PROTOBUF_CONTENT_TYPE) gets): perf's histograms with
    /// their native buckets, then the facade's metrics (classic histograms and summaries
    /// stay classic), then the process metrics if asked for.
    ///
    /// ```
    /// let (_recorder, exporter) = perf_core::export::prometheus().build().unwrap();
    /// let bytes = exporter.render_protobuf();
    /// assert!(perf_core::export::client_model::decode_delimited(&bytes).is_ok());
    /// ```
    pub fn render_protobuf(&self) -> Vec<u8> {
        self.state.render_protobuf()
    }

    /// The address the listener is bound to (with the port the OS picked), if any.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(|s| s.local_addr)
    }
}
