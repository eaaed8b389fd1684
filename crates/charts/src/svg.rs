//! What both charts share: escaping, ids, coordinates, text widths, the value scale, the
//! series styles and the frame of the document.

use std::fmt::{self, Write};

use crate::Unit;

/// Width of the viewBox; the chart itself is as wide as its container.
pub(crate) const WIDTH: f64 = 640.0;
/// Advance of a 13-unit lowercase letter in the widest usual font (Cyrillic in DejaVu Sans):
/// there are no font metrics on the server, and overflow is worse than slack.
const CHAR_W: f64 = 8.5;
/// Beyond this values are clamped, so the arithmetic of the layout stays finite and exact.
const MAX_ABS: f64 = 1e12;

/// Colours, all checked against white: text ≥ 4.5:1, graphics ≥ 3:1 (the tests recompute it).
pub(crate) const TEXT: &str = "#1a1a1a";
pub(crate) const MUTED: &str = "#4d4d4d";
pub(crate) const AXIS: &str = "#595959";
pub(crate) const GRID: &str = "#949494";
pub(crate) const EMPTY_BAR: &str = "#767676";
pub(crate) const COLOURS: [&str; 6] = [
    "#0b5cad", "#c24e00", "#1b7a3e", "#a3266b", "#5b4ba6", "#7a5c00",
];
/// Paired with [`COLOURS`] and the marker shapes, so series differ without colour too.
pub(crate) const DASHES: [&str; 6] = ["", "8 4", "2 3", "10 3 2 3", "5 5", "1 3"];

pub(crate) const NO_DATA: &str = "Нет данных за выбранный период";
pub(crate) const NO_VALUE: &str = "нет данных";

/// A coordinate written with at most one decimal.
pub(crate) struct N(pub f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = (self.0 * 10.0).round() / 10.0;
        if !r.is_finite() {
            f.write_str("0")
        } else if r == r.trunc() {
            write!(f, "{}", r as i64)
        } else {
            write!(f, "{r:.1}")
        }
    }
}

/// A value fit to draw: non-finite ones are missing, the rest clamped.
pub(crate) fn clean(value: Option<f64>) -> Option<f64> {
    value
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(-MAX_ABS, MAX_ABS))
}

/// Escapes text for both element content and attributes, and replaces what XML 1.0 forbids
/// (and other control characters, meaningless in a label) so any input stays well-formed.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Reduces an id to `[a-z0-9-]` starting with a letter, valid in XML, HTML and CSS alike.
pub(crate) fn clean_id(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id
    } else {
        format!("chart-{id}")
    }
}

/// Lowercase letters take one advance, capitals more, digits and spaces less, East Asian
/// wide characters and emoji two.
fn advances(c: char) -> f64 {
    match c as u32 {
        0x20 | 0x2C | 0x2E | 0x3A | 0xA0 | 0x202F => 0.5,
        0x30..=0x39 => 0.95,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF => 2.0,
        0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0x1F300..=0x1FAFF | 0x20000.. => 2.0,
        _ if c.is_uppercase() => 1.15,
        _ => 1.0,
    }
}

/// Estimated drawn width of a 13-unit text.
pub(crate) fn text_width(s: &str) -> f64 {
    s.chars().map(advances).sum::<f64>() * CHAR_W
}

/// Cuts a label to fit `max` units, ending it with an ellipsis; the caller keeps the full
/// text in a `<title>`.
pub(crate) fn truncate(s: &str, max: f64) -> String {
    let s = s.trim();
    if text_width(s) <= max {
        return s.to_string();
    }
    let mut width = CHAR_W;
    let mut out = String::new();
    for c in s.chars() {
        width += advances(c) * CHAR_W;
        if width > max {
            break;
        }
        out.push(c);
    }
    format!("{}…", out.trim_end())
}

/// The value axis: 0 always included (bars and counts must start at zero to be honest),
/// a handful of ticks 1, 2 or 5 × 10ⁿ apart.
pub(crate) struct Scale {
    lo: f64,
    hi: f64,
    pub ticks: Vec<f64>,
}

impl Scale {
    pub fn new(values: impl IntoIterator<Item = f64>, unit: Unit) -> Scale {
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for v in values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let raw = ((hi - lo) / 5.0).max(1e-3);
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = magnitude
            * match raw / magnitude {
                n if n <= 1.0 + 1e-9 => 1.0,
                n if n <= 2.0 + 1e-9 => 2.0,
                n if n <= 5.0 + 1e-9 => 5.0,
                _ => 10.0,
            };
        // Formatted values keep one decimal; counts are whole.
        let step = step.max(if unit == Unit::Count { 1.0 } else { 0.1 });
        let first = (lo / step + 1e-9).floor() as i64;
        let last = ((hi / step - 1e-9).ceil() as i64).max(first + 1);
        Scale {
            lo: first as f64 * step,
            hi: last as f64 * step,
            ticks: (first..=last).map(|i| i as f64 * step).collect(),
        }
    }

    /// Where `v` lies between the ends of the axis, from 0 to 1.
    pub fn frac(&self, v: f64) -> f64 {
        ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }
}

/// Draws the marker of series style `style` centred on (x, y), with a tooltip.
pub(crate) fn marker(out: &mut String, style: usize, x: f64, y: f64, title: &str) {
    let c = COLOURS[style % COLOURS.len()];
    let (tag, attrs) = match style % COLOURS.len() {
        0 => ("circle", format!("cx=\"{}\" cy=\"{}\" r=\"4\"", N(x), N(y))),
        1 => (
            "path",
            format!("d=\"M{} {}h8v8h-8Z\"", N(x - 4.0), N(y - 4.0)),
        ),
        2 => ("path", format!("d=\"M{} {}l5 8.5h-10Z\"", N(x), N(y - 5.5))),
        3 => (
            "path",
            format!("d=\"M{} {}l5 5-5 5-5-5Z\"", N(x), N(y - 5.0)),
        ),
        4 => ("path", format!("d=\"M{} {}l5-8.5h-10Z\"", N(x), N(y + 5.5))),
        _ => (
            "circle",
            format!(
                "cx=\"{}\" cy=\"{}\" r=\"3.5\" stroke-width=\"2\" stroke=\"{c}\"",
                N(x),
                N(y)
            ),
        ),
    };
    let fill = if style % COLOURS.len() == 5 {
        "#fff"
    } else {
        c
    };
    let _ = write!(out, "<{tag} {attrs} fill=\"{fill}\"");
    if title.is_empty() {
        out.push_str("/>");
    } else {
        let _ = write!(out, "><title>{}</title></{tag}>", esc(title));
    }
}

/// A line of text; `content` must be escaped already.
pub(crate) fn text(out: &mut String, x: f64, y: f64, anchor: &str, fill: &str, content: &str) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"{fill}\">{content}</text>",
        N(x),
        N(y)
    );
}

/// A straight line, one unit wide.
pub(crate) fn line(out: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), colour: &str) {
    let _ = write!(
        out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{colour}\"/>",
        N(x1),
        N(y1),
        N(x2),
        N(y2)
    );
}

/// Opens the document: accessible name and description first, then a white background, so
/// the contrast holds on any page.
pub(crate) fn open(out: &mut String, id: &str, title: &str, desc: &str, height: f64) {
    let h = N(height);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" viewBox=\"0 0 640 {h}\" width=\"100%\" \
         preserveAspectRatio=\"xMinYMin meet\" lang=\"ru\" font-family=\"system-ui, sans-serif\" \
         font-size=\"13\"><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>\
         <rect width=\"640\" height=\"{h}\" fill=\"#fff\"/>",
        esc(title),
        esc(desc)
    );
}

/// The whole chart when there is nothing to draw.
pub(crate) fn empty(id: &str, title: &str, desc: &str) -> String {
    let mut out = String::new();
    open(&mut out, id, title, desc, 80.0);
    text(&mut out, WIDTH / 2.0, 45.0, "middle", MUTED, NO_DATA);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks(values: &[f64], unit: Unit) -> Vec<String> {
        let scale = Scale::new(values.iter().copied(), unit);
        scale
            .ticks
            .iter()
            .map(|t| crate::format_value(*t, unit))
            .collect()
    }

    #[test]
    fn ticks_are_nice_and_start_at_zero() {
        assert_eq!(ticks(&[], Unit::Count), ["0", "1"]);
        assert_eq!(ticks(&[3.0], Unit::Count), ["0", "1", "2", "3"]);
        assert_eq!(
            ticks(&[87.0, 12.0], Unit::Count),
            ["0", "20", "40", "60", "80", "100"]
        );
        assert_eq!(ticks(&[0.04], Unit::Percent), ["0\u{A0}%", "0,1\u{A0}%"]);
        assert_eq!(
            ticks(&[4.2, 3.1], Unit::Score),
            ["0", "1", "2", "3", "4", "5"]
        );
        assert_eq!(
            ticks(&[1.3], Unit::Days)[1..],
            ["0,5\u{A0}дн.", "1\u{A0}дн.", "1,5\u{A0}дн."]
        );
        assert_eq!(ticks(&[-12.0, 30.0], Unit::Count)[0], "\u{2212}20");
        assert_eq!(ticks(&[1e12, -1e12], Unit::Count).len(), 5);
        assert_eq!(ticks(&[1e-300], Unit::Hours), ["0\u{A0}ч", "0,1\u{A0}ч"]);
    }

    #[test]
    fn coordinates_have_one_decimal_at_most() {
        assert_eq!(N(12.345).to_string(), "12.3");
        assert_eq!(N(-0.04).to_string(), "0");
        assert_eq!(N(7.0).to_string(), "7");
        assert_eq!(N(f64::NAN).to_string(), "0");
    }

    #[test]
    fn ids_and_text_are_made_safe() {
        assert_eq!(clean_id("Appeals-2026"), "appeals-2026");
        assert_eq!(clean_id("2026 <x>"), "chart-2026--x-");
        assert_eq!(clean_id(""), "chart-");
        assert_eq!(
            esc("a<b>&\"'\u{0}\u{FFFF}"),
            "a&lt;b&gt;&amp;&quot;&apos; \u{FFFD}"
        );
        assert_eq!(truncate("  short ", 100.0), "short");
        let long = truncate(&"Ж".repeat(100), 75.0);
        assert!(long.ends_with("Ж…") && text_width(&long) <= 75.0, "{long}");
        assert!(text_width(&format!("Ж{long}")) > 75.0, "{long}");
        assert!(text_width(&truncate(&"字".repeat(50), 75.0)) <= 75.0);
    }
}
