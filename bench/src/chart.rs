//! The benchmark drawn (SVG, with plotters): added Envoy CPU per request for a fresh token of
//! each algorithm (native jwt_authn, jwt-authz, the card stack), and for the repeated token,
//! each bar the median of the rounds with a line from the lowest round to the highest.

use plotters::prelude::*;

use crate::algorithm::Algorithm;
use crate::envoy_config::Listener;
use crate::report::{Results, median};
use crate::workload::Workload;

const SIZE: (u32, u32) = (960, 480);

/// The charts' files, beside the page the results are written to.
pub const ALGORITHMS_FILE: &str = "bench-algorithms.svg";
pub const REPEATED_FILE: &str = "bench-repeated.svg";

/// One bar: the median of the rounds and their range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Added Envoy CPU µs per request of `listener` on `workload`, round by round, over the
/// no-filter listener's median.
pub fn spread(results: &Results, listener: Listener, workload: Workload) -> Option<Spread> {
    let baseline = results
        .cell(Listener::NoFilter, workload)?
        .median_cpu_us()?;
    let cell = results.cell(listener, workload)?;
    if cell.problem().is_some() {
        return None;
    }
    let added: Vec<f64> = cell
        .rounds
        .iter()
        .filter_map(|r| r.cpu_us_per_request())
        .map(|us| us - baseline)
        .collect();
    Some(Spread {
        median: median(added.clone())?,
        min: added.iter().copied().reduce(f64::min)?,
        max: added.into_iter().reduce(f64::max)?,
    })
}

/// The fresh-token chart, if an algorithm workload was measured.
pub fn algorithms(results: &Results) -> Option<Result<String, String>> {
    let series = [
        (
            Listener::NativeAlgorithms,
            "native jwt_authn",
            RGBColor(90, 90, 90),
        ),
        (
            Listener::OursAlgorithms,
            "jwt-authz",
            RGBColor(31, 119, 180),
        ),
        (
            Listener::CardStack,
            "card stack (jsonwebtoken)",
            RGBColor(214, 97, 38),
        ),
    ];
    let groups: Vec<(String, Vec<Option<Spread>>)> = Algorithm::ALL
        .into_iter()
        .map(Workload::Signed)
        .filter(|w| results.cell(Listener::NoFilter, *w).is_some())
        .map(|w| {
            let name = w.label().trim_start_matches("fresh ").to_string();
            (
                name,
                series.iter().map(|s| spread(results, s.0, w)).collect(),
            )
        })
        .collect();
    (!groups.is_empty()).then(|| {
        grouped_bars(
            "A fresh token of each algorithm: added Envoy CPU per request (one worker)",
            &groups,
            &series.map(|(_, name, color)| (name, color)),
        )
    })
}

/// The repeated-token chart, if a repeated workload was measured.
pub fn repeated(results: &Results) -> Option<Result<String, String>> {
    let series = [
        (Listener::Native, "native jwt_authn", RGBColor(90, 90, 90)),
        (
            Listener::NativeCached,
            "native + cache",
            RGBColor(160, 160, 160),
        ),
        (
            Listener::HostCalls,
            "wasm host calls only",
            RGBColor(44, 160, 44),
        ),
        (Listener::Ours, "jwt-authz", RGBColor(31, 119, 180)),
    ];
    let groups: Vec<(String, Vec<Option<Spread>>)> = [
        Workload::Repeated,
        Workload::RepeatedInQuery,
        Workload::GrpcRepeated,
    ]
    .into_iter()
    .filter(|w| results.cell(Listener::NoFilter, *w).is_some())
    .map(|w| {
        let spreads = series.iter().map(|s| spread(results, s.0, w)).collect();
        (w.label(), spreads)
    })
    .collect();
    (!groups.is_empty()).then(|| {
        grouped_bars(
            "The same token on every request: added Envoy CPU per request (one worker)",
            &groups,
            &series.map(|(_, name, color)| (name, color)),
        )
    })
}

/// Bars grouped by `groups` (name, one spread per series), on a logarithmic axis from 1 µs
/// (the figures span three orders of magnitude); a missing spread leaves its place empty.
fn grouped_bars(
    title: &str,
    groups: &[(String, Vec<Option<Spread>>)],
    series: &[(&str, RGBColor)],
) -> Result<String, String> {
    let top = groups
        .iter()
        .flat_map(|(_, spreads)| spreads.iter().flatten().map(|s| s.max))
        .fold(10.0_f64, f64::max);
    let top = 10f64.powf((top * 1.5).log10().ceil());
    let width = 0.8 / series.len() as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let names: Vec<String> = groups.iter().map(|(name, _)| name.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..groups.len() as f64 - 0.5, (1.0..top).log_scale())
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(groups.len())
            .x_label_formatter(&|x| {
                let index = x.round();
                if (x - index).abs() < 0.01 && index >= 0.0 {
                    names.get(index as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc("added µs per request (log scale)")
            .draw()
            .map_err(draw_error)?;
        for (k, &(name, color)) in series.iter().enumerate() {
            let offset = -0.4 + width * (k as f64 + 0.5);
            let bars = groups.iter().enumerate().filter_map(|(i, (_, spreads))| {
                let s = spreads.get(k).copied().flatten()?;
                let x = i as f64 + offset;
                Some((x, s))
            });
            let points: Vec<(f64, Spread)> = bars.collect();
            chart
                .draw_series(points.iter().map(|&(x, s)| {
                    Rectangle::new(
                        [(x - width / 2.0, 1.0), (x + width / 2.0, s.median.max(1.0))],
                        color.filled(),
                    )
                }))
                .map_err(draw_error)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
            chart
                .draw_series(points.iter().map(|&(x, s)| {
                    ErrorBar::new_vertical(
                        x,
                        s.min.max(1.0),
                        s.median.max(1.0),
                        s.max.max(1.0),
                        BLACK.stroke_width(1),
                        6,
                    )
                }))
                .map_err(draw_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

fn draw_error(e: impl std::fmt::Display) -> String {
    format!("cannot draw the chart: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadResult;
    use crate::report::{Cell, Round};
    use std::time::Duration;

    fn cell(listener: Listener, workload: Workload, cpu_us: &[f64]) -> Cell {
        Cell {
            listener,
            workload,
            probe: Ok(200),
            rounds: cpu_us
                .iter()
                .map(|&us| Round {
                    load: LoadResult {
                        rps: 1000.0,
                        total: 10,
                        done: 10,
                        errored: 0,
                        timeout: 0,
                        status_2xx: 10,
                        status_3xx: 0,
                        status_4xx: 0,
                        status_5xx: 0,
                    },
                    envoy_cpu: Duration::from_secs_f64(us * 1000.0 / 1e6),
                    envoy_requests: 1000,
                    wall: Duration::from_secs(1),
                })
                .collect(),
        }
    }

    #[test]
    fn bars_are_the_median_round_with_its_range_over_the_baseline() {
        let rs256 = Workload::Signed(Algorithm::Rs256);
        let cells = vec![
            cell(Listener::NoFilter, rs256, &[10.0, 12.0, 11.0]),
            cell(Listener::OursAlgorithms, rs256, &[81.0, 91.0, 86.0]),
            cell(Listener::CardStack, rs256, &[311.0, 301.0, 321.0]),
        ];
        let results = Results { cells: &cells };
        let ours = spread(&results, Listener::OursAlgorithms, rs256).unwrap();
        assert!((ours.median - 75.0).abs() < 1e-9, "{ours:?}");
        assert!((ours.min - 70.0).abs() < 1e-9 && (ours.max - 80.0).abs() < 1e-9);
        assert_eq!(spread(&results, Listener::NativeAlgorithms, rs256), None);
        let svg = algorithms(&results).unwrap().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        for text in [
            "RS256",
            "jwt-authz",
            "card stack (jsonwebtoken)",
            "log scale",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        assert!(repeated(&results).is_none());
    }
}
