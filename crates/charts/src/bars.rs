//! The horizontal bar chart: labels on the left, bars from zero, values after the bars.

use std::fmt::Write;

use crate::svg::{
    clean, clean_id, empty, esc, line, open, text, text_width, truncate, Scale, AXIS, COLOURS,
    EMPTY_BAR, GRID, MUTED, N, NO_VALUE, TEXT, WIDTH,
};
use crate::{format_value, Bars};

/// Room for the labels; longer ones are cut with an ellipsis.
const LABEL_W: f64 = 220.0;
const ROW: f64 = 28.0;
const BAR_H: f64 = 18.0;
const TOP: f64 = 8.0;

/// Renders horizontal bars in the given order; see the crate documentation for the
/// guarantees.
pub fn bars(chart: &Bars) -> String {
    let id = clean_id(&chart.id);
    let values: Vec<Option<f64>> = chart.bars.iter().map(|b| clean(b.value)).collect();
    if values.iter().all(Option::is_none) {
        return empty(&id, &chart.title, &chart.description);
    }
    let scale = Scale::new(values.iter().flatten().copied(), chart.unit);
    let ticks: Vec<String> = scale
        .ticks
        .iter()
        .map(|t| format_value(*t, chart.unit))
        .collect();
    let texts: Vec<String> = values
        .iter()
        .map(|v| v.map_or(NO_VALUE.to_string(), |v| format_value(v, chart.unit)))
        .collect();
    let value_w = values
        .iter()
        .zip(&texts)
        .filter(|(v, _)| v.is_some())
        .map(|(_, t)| text_width(t) + 10.0);
    let last_tick = ticks.last().map_or(0.0, |t| text_width(t) / 2.0 + 4.0);
    // An empty bar may sit at a zero on the right end.
    let no_value = if values.contains(&None) {
        text_width(NO_VALUE) + 14.0
    } else {
        0.0
    };
    let right = value_w.fold(last_tick.max(no_value), f64::max);
    let plot_w = WIDTH - LABEL_W - right;
    let x_at = |v: f64| LABEL_W + scale.frac(v) * plot_w;
    let zero = x_at(0.0);
    let bottom = TOP + ROW * values.len() as f64;

    let mut out = String::new();
    open(
        &mut out,
        &id,
        &chart.title,
        &chart.description,
        bottom + 28.0,
    );
    for (t, label) in scale.ticks.iter().zip(&ticks) {
        let colour = if *t == 0.0 { AXIS } else { GRID };
        line(&mut out, (x_at(*t), TOP), (x_at(*t), bottom), colour);
        text(
            &mut out,
            x_at(*t),
            bottom + 18.0,
            "middle",
            MUTED,
            &esc(label),
        );
    }
    for (i, ((bar, v), value)) in chart.bars.iter().zip(&values).zip(&texts).enumerate() {
        let y = TOP + ROW * i as f64;
        let full = format!("{}: {value}", bar.label.trim());
        let _ = write!(out, "<g><title>{}</title>", esc(&full));
        let label = truncate(&bar.label, LABEL_W - 16.0);
        text(
            &mut out,
            LABEL_W - 8.0,
            y + ROW / 2.0 + 4.5,
            "end",
            TEXT,
            &esc(&label),
        );
        let bar_y = N(y + (ROW - BAR_H) / 2.0);
        match v {
            Some(v) => {
                let _ = write!(
                    out,
                    "<rect x=\"{}\" y=\"{bar_y}\" width=\"{}\" height=\"{BAR_H}\" fill=\"{}\"/>",
                    N(zero.min(x_at(*v))),
                    N((x_at(*v) - zero).abs()),
                    COLOURS[0]
                );
                let after = zero.max(x_at(*v)) + 6.0;
                text(
                    &mut out,
                    after,
                    y + ROW / 2.0 + 4.5,
                    "start",
                    TEXT,
                    &esc(value),
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<rect x=\"{}\" y=\"{bar_y}\" width=\"{}\" height=\"{BAR_H}\" fill=\"none\" \
                     stroke=\"{EMPTY_BAR}\" stroke-dasharray=\"4 3\"/>",
                    N(zero),
                    N(text_width(NO_VALUE) + 12.0)
                );
                text(
                    &mut out,
                    zero + 6.0,
                    y + ROW / 2.0 + 4.5,
                    "start",
                    MUTED,
                    NO_VALUE,
                );
            }
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}
