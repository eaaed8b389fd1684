//! Accessible SVG charts rendered on the server, as strings, for analytics dashboards that
//! must work without JavaScript (WCAG 2.1 AA).
//!
//! Two charts: [`time_series`] (lines with markers over periods; columns when there is a
//! single period) and [`bars`] (horizontal bars: rankings and distributions). Both return a
//! standalone `<svg>` meant to be inlined in HTML next to a table of the same numbers, which
//! [`format_value`] formats identically.
//!
//! ```
//! use otklik_charts::{bars, format_value, Bar, Bars, Unit};
//!
//! let svg = bars(&Bars {
//!     id: "ratings".into(),
//!     title: "Оценки ответов".into(),
//!     description: "Сколько ответов получили каждую оценку от 1 до 5".into(),
//!     bars: vec![
//!         Bar { label: "5".into(), value: Some(1210.0) },
//!         Bar { label: "1".into(), value: None },
//!     ],
//!     unit: Unit::Count,
//! });
//! assert!(svg.starts_with("<svg") && svg.contains("1\u{202F}210") && svg.contains("нет данных"));
//! assert_eq!(format_value(87.5, Unit::Percent), "87,5\u{A0}%");
//! ```
//!
//! Invariants:
//! - the `<svg>` has `role="img"`, its first children are `<title id="{id}-title">` and
//!   `<desc id="{id}-desc">`, referenced by `aria-labelledby`; the visible heading belongs to
//!   the page (e.g. a `<figcaption>`), so the title is not drawn;
//! - `width="100%"`, no height and a viewBox 640 units wide: the chart scales with its
//!   container, so zooming never scrolls horizontally; text is 13 units high;
//! - only presentation attributes (no `<style>`, no scripts), so a strict CSP needs nothing;
//! - every drawn colour has at least 3:1 contrast against the white background the chart
//!   paints itself (text at least 4.5:1); series also differ by dash pattern and marker shape
//!   (six styles, then they repeat) and are named in a legend drawn in the SVG;
//! - no data at all draws "Нет данных за выбранный период"; a missing point breaks the line,
//!   a missing bar is a dashed empty bar saying "нет данных";
//! - long labels are cut with an ellipsis, the full text kept in a `<title>` (tooltip);
//!   period labels are thinned so they never overlap; beyond 60 periods only isolated
//!   points keep markers;
//! - never panics: non-finite values count as missing, values are clamped to ±10¹²,
//!   user text is escaped and stripped of characters XML forbids; ids are reduced to
//!   `[a-z0-9-]` and start with a letter (else get a `chart-` prefix);
//! - deterministic, coordinates with at most one decimal.

mod bars;
mod line;
mod svg;

pub use bars::bars;
pub use line::time_series;

/// One line of a [`TimeSeries`]; `None` is a period without data (the line breaks there).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// Values over periods. Point `i` of every series belongs to `labels[i]`; series longer
/// than `labels` get blank labels, shorter ones miss the remaining points.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    /// Prefix of the element ids, unique on the page.
    pub id: String,
    pub title: String,
    pub description: String,
    /// Period labels on the x axis, e.g. "01.2026".
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    pub unit: Unit,
}

/// Horizontal bars, drawn in the given order.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// Prefix of the element ids, unique on the page.
    pub id: String,
    pub title: String,
    pub description: String,
    pub bars: Vec<Bar>,
    pub unit: Unit,
}

/// One bar; `None` (suppressed or missing) is drawn as an empty bar saying "нет данных".
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
}

/// What the values measure, which decides how they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Percentage points: 87.5 means 87,5 %.
    Percent,
    Days,
    Hours,
    /// A mean rating, written without a unit.
    Score,
}

/// Formats a value the Russian way, the same in charts and in the tables beside them:
/// at most one decimal (a trailing ",0" is dropped), decimal comma, thousands separated by a
/// narrow no-break space, minus sign U+2212, unit after a no-break space.
/// `12345.0` → "12 345", `87.5` % → "87,5 %", `3.2` days → "3,2 дн."; NaN and ±∞ → "—".
pub fn format_value(value: f64, unit: Unit) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    let rounded = format!("{:.1}", value.abs());
    let (int, frac) = rounded.split_once('.').unwrap_or((&rounded, "0"));
    let mut out = String::new();
    if value < 0.0 && rounded.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        out.push('\u{2212}');
    }
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('\u{202F}');
        }
        out.push(digit);
    }
    if frac != "0" {
        out.push(',');
        out.push_str(frac);
    }
    let suffix = match unit {
        Unit::Count | Unit::Score => "",
        Unit::Percent => "\u{A0}%",
        Unit::Days => "\u{A0}дн.",
        Unit::Hours => "\u{A0}ч",
    };
    out.push_str(suffix);
    out
}
