//! The SVG of a run (feature `svg`): latency by percentile on a log axis to p99.99, the way
//! HdrHistogram plots it, and p50/p99 over time. Drawn with plotters' SVG backend, whose text
//! is SVG `<text>`: no font files or system libraries needed.

use std::time::Duration;

use perf_core::LatencySummary;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::report::Report;

/// Width and height of the SVG, in pixels.
pub const SIZE: (u32, u32) = (900, 720);

/// The right end of the percentile axis: p99.99, i.e. log10(1 / (1 - 0.9999)) = 4.
const MAX_NINES: f64 = 4.0;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The latency at `nines` on the log axis: 1 → p90, 2 → p99, 3 → p99.9.
fn at_nines(s: &LatencySummary, nines: f64) -> f64 {
    ms(s.quantile(1.0 - 10f64.powf(-nines)))
}

fn nines_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    format!("{}%", (p * 100.0).round() / 100.0)
}

fn plot_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("drawing the SVG: {e}"))
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    x_end: f64,
    y_top: f64,
) -> Result<Chart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_end, 0.0..y_top)
}

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
}

impl Report {
    /// The report's plots as an SVG document.
    ///
    /// ```
    /// let svg = perf_load::Report::empty().to_svg().unwrap();
    /// assert!(svg.starts_with("<svg"));
    /// ```
    pub fn to_svg(&self) -> std::io::Result<String> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(plot_error)?;
            let (top, bottom) = root.split_vertically(SIZE.1 / 2);
            self.draw_percentiles(&top).map_err(plot_error)?;
            self.draw_timeline(&bottom).map_err(plot_error)?;
            root.present().map_err(plot_error)?;
        }
        Ok(out)
    }

    fn draw_percentiles<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let series = [
            ("latency (from intended start)", &self.latency, RED),
            ("service time (from actual start)", &self.service_time, BLUE),
        ];
        let top = series
            .iter()
            .map(|(_, s, _)| ms(s.max))
            .fold(1.0f64, f64::max)
            * 1.1;
        let mut chart = chart(area, "latency by percentile", MAX_NINES, top)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("ms")
            .x_labels(5)
            .x_label_formatter(&nines_label)
            .draw()?;
        for (name, s, color) in series {
            if s.count == 0 {
                continue;
            }
            let points = (0..=80).map(|i| {
                let x = f64::from(i) * MAX_NINES / 80.0;
                (x, at_nines(s, x))
            });
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        legend(&mut chart)
    }

    fn draw_timeline<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let rows: Vec<_> = self.timeline.iter().filter(|s| s.requests > 0).collect();
        let end = self.timeline.len().max(1) as f64;
        let top = rows.iter().map(|s| ms(s.p99)).fold(1.0f64, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(
                "latency over time (by completion second)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..end, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("second")
            .y_desc("ms")
            .draw()?;
        let lines = [
            (
                "p50",
                RED.mix(0.5),
                rows.iter()
                    .map(|s| (s.second as f64, ms(s.p50)))
                    .collect::<Vec<_>>(),
            ),
            (
                "p99",
                RED.to_rgba(),
                rows.iter().map(|s| (s.second as f64, ms(s.p99))).collect(),
            ),
        ];
        for (name, color, points) in lines {
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        legend(&mut chart)
    }
}
