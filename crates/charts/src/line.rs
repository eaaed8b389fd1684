//! The time-series chart: one line per series, or columns when there is a single period.

use std::fmt::Write;

use crate::svg::{
    clean, clean_id, empty, esc, line, marker, open, text, text_width, truncate, Scale, AXIS,
    COLOURS, DASHES, GRID, MUTED, N, NO_VALUE, TEXT, WIDTH,
};
use crate::{format_value, TimeSeries};

const PLOT_H: f64 = 220.0;
/// Beyond this many periods markers would merge into a smear; lines carry the series alone.
const MAX_MARKERS: usize = 60;

/// Renders a line chart with markers, or columns if there is only one period; see the crate
/// documentation for the guarantees.
pub fn time_series(chart: &TimeSeries) -> String {
    let id = clean_id(&chart.id);
    let longest = chart.series.iter().map(|s| s.values.len()).max();
    let n = chart.labels.len().max(longest.unwrap_or(0));
    let values: Vec<Vec<Option<f64>>> = chart
        .series
        .iter()
        .map(|s| {
            (0..n)
                .map(|i| clean(s.values.get(i).copied().flatten()))
                .collect()
        })
        .collect();
    if values.iter().flatten().all(Option::is_none) {
        return empty(&id, &chart.title, &chart.description);
    }
    let full_label = |i: usize| chart.labels.get(i).map_or("", |l| l.trim());
    let format = |v: Option<f64>| v.map_or(NO_VALUE.to_string(), |v| format_value(v, chart.unit));

    // Legend, wrapped in rows, each item drawn as its line, marker and name.
    let mut body = String::new();
    let (mut x, mut y) = (8.0, 18.0);
    for (i, s) in chart.series.iter().enumerate() {
        let name = truncate(&s.name, 240.0);
        let width = 36.0 + text_width(&name) + 20.0;
        if x > 8.0 && x + width > WIDTH {
            (x, y) = (8.0, y + 22.0);
        }
        let _ = write!(body, "<g><title>{}</title>", esc(s.name.trim()));
        stroke_path(&mut body, i, &format!("M{} {}h28", N(x), N(y - 4.5)));
        marker(&mut body, i, x + 14.0, y - 4.5, "");
        text(&mut body, x + 36.0, y, "start", TEXT, &esc(&name));
        body.push_str("</g>");
        x += width;
    }

    let scale = Scale::new(values.iter().flatten().flatten().copied(), chart.unit);
    let ticks: Vec<String> = scale
        .ticks
        .iter()
        .map(|t| format_value(*t, chart.unit))
        .collect();
    let tick_w = ticks.iter().map(|t| text_width(t)).fold(0.0, f64::max);
    let labels: Vec<String> = (0..n).map(|i| truncate(full_label(i), 120.0)).collect();
    let label_w = labels.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    let left = (tick_w + 14.0).max(label_w / 2.0 + 4.0);
    let right = (label_w / 2.0).max(12.0);
    // Columns carry their value and marker above them.
    let top = y + 18.0 + if n == 1 { 30.0 } else { 0.0 };
    let bottom = top + PLOT_H;
    let plot_w = WIDTH - left - right;
    let band = plot_w / n as f64;
    let x_at = |i: usize| left + band * (i as f64 + 0.5);
    let y_at = |v: f64| bottom - scale.frac(v) * PLOT_H;

    for (t, label) in scale.ticks.iter().zip(&ticks) {
        let colour = if *t == 0.0 { AXIS } else { GRID };
        line(
            &mut body,
            (left, y_at(*t)),
            (WIDTH - right, y_at(*t)),
            colour,
        );
        text(
            &mut body,
            left - 8.0,
            y_at(*t) + 4.5,
            "end",
            MUTED,
            &esc(label),
        );
    }
    let slots = (plot_w / (label_w + 12.0)).floor().max(1.0) as usize;
    let every = n.div_ceil(slots);
    for (i, label) in labels.iter().enumerate().step_by(every) {
        text(
            &mut body,
            x_at(i),
            bottom + 20.0,
            "middle",
            MUTED,
            &esc(label),
        );
    }

    if n == 1 {
        let slot = (plot_w / values.len() as f64).min(110.0);
        let start = left + (plot_w - slot * values.len() as f64) / 2.0;
        for (i, (s, v)) in chart.series.iter().zip(&values).enumerate() {
            let cx = start + slot * (i as f64 + 0.5);
            let tip = format!("{}, {}: {}", s.name.trim(), full_label(0), format(v[0]));
            let _ = write!(body, "<g><title>{}</title>", esc(&tip));
            let zero = y_at(0.0);
            let mut column_top = zero;
            if let Some(v) = v[0] {
                column_top = zero.min(y_at(v));
                let _ = write!(
                    body,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                    N(cx - slot * 0.3),
                    N(column_top),
                    N(slot * 0.6),
                    N((zero - y_at(v)).abs()),
                    COLOURS[i % COLOURS.len()]
                );
            }
            marker(&mut body, i, cx, column_top - 9.0, "");
            text(
                &mut body,
                cx,
                column_top - 20.0,
                "middle",
                TEXT,
                &esc(&format(v[0])),
            );
            body.push_str("</g>");
        }
    } else {
        for (i, (s, v)) in chart.series.iter().zip(&values).enumerate() {
            let _ = write!(body, "<g><title>{}</title>", esc(s.name.trim()));
            let mut d = String::new();
            for (j, p) in v.iter().enumerate() {
                if let Some(p) = p {
                    let pen = if j > 0 && v[j - 1].is_some() {
                        'L'
                    } else {
                        'M'
                    };
                    let _ = write!(d, "{pen}{} {}", N(x_at(j)), N(y_at(*p)));
                }
            }
            if !d.is_empty() {
                stroke_path(&mut body, i, &d);
            }
            for (j, p) in v.iter().enumerate() {
                let alone =
                    (j == 0 || v[j - 1].is_none()) && v.get(j + 1).is_none_or(Option::is_none);
                if let Some(p) = p.filter(|_| n <= MAX_MARKERS || alone) {
                    let tip = format!("{}, {}: {}", s.name.trim(), full_label(j), format(Some(p)));
                    marker(&mut body, i, x_at(j), y_at(p), &tip);
                }
            }
            body.push_str("</g>");
        }
    }

    let mut out = String::with_capacity(body.len() + 512);
    open(
        &mut out,
        &id,
        &chart.title,
        &chart.description,
        bottom + 32.0,
    );
    out.push_str(&body);
    out.push_str("</svg>");
    out
}

/// The line of series style `style` along the path `d`.
fn stroke_path(out: &mut String, style: usize, d: &str) {
    let dash = DASHES[style % DASHES.len()];
    let _ = write!(
        out,
        "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" \
         stroke-linejoin=\"round\"",
        COLOURS[style % COLOURS.len()]
    );
    if !dash.is_empty() {
        let _ = write!(out, " stroke-dasharray=\"{dash}\"");
    }
    out.push_str("/>");
}
