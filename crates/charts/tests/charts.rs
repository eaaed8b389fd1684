//! The charts end to end: every output parsed as XML and checked for what WCAG and the page
//! rely on (accessible name, escaping, contrast, one-decimal coordinates, staying inside the
//! viewBox), plus hostile and huge inputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_charts::{bars, format_value, time_series, Bar, Bars, Series, TimeSeries, Unit};
use proptest::prelude::*;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

const NO_DATA: &str = "Нет данных за выбранный период";

#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// This element and all below it, in document order.
    fn all(&self) -> Vec<&El> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.all());
        }
        out
    }

    fn named(&self, name: &str) -> Vec<&El> {
        self.all().into_iter().filter(|e| e.name == name).collect()
    }

    fn child_title(&self) -> Option<&str> {
        self.children
            .iter()
            .find(|c| c.name == "title")
            .map(|c| c.text.as_str())
    }
}

fn element(e: &BytesStart) -> El {
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("malformed attribute");
            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
            (
                key,
                a.normalized_value(XmlVersion::Implicit1_0)
                    .expect("bad escape")
                    .into_owned(),
            )
        })
        .collect();
    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
    El {
        name,
        attrs,
        ..El::default()
    }
}

/// Parses with quick-xml into a tree, failing on anything not well-formed.
fn parse(svg: &str) -> El {
    for c in svg.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}';
        assert!(allowed, "character {c:?} not allowed in XML");
    }
    let mut reader = Reader::from_str(svg);
    let mut stack = vec![El::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(element(&e)),
            Ok(Event::Empty(e)) => stack.last_mut().unwrap().children.push(element(&e)),
            Ok(Event::End(_)) => {
                let el = stack.pop().unwrap();
                stack.last_mut().expect("unbalanced end").children.push(el);
            }
            Ok(Event::Text(t)) => stack
                .last_mut()
                .unwrap()
                .text
                .push_str(&t.decode().unwrap()),
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().unwrap();
                let resolved = quick_xml::escape::resolve_predefined_entity(&name);
                let resolved = resolved.unwrap_or_else(|| panic!("unknown entity {name}"));
                stack.last_mut().unwrap().text.push_str(resolved);
            }
            Ok(Event::Eof) => break,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => panic!("not well-formed: {e}\n{svg}"),
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements\n{svg}");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "exactly one root");
    assert!(doc.text.is_empty());
    doc.children.pop().unwrap()
}

fn contrast_on_white(colour: &str) -> f64 {
    let hex = colour.strip_prefix('#').expect("#rrggbb colour");
    assert_eq!(hex.len(), 6, "{colour}");
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    1.05 / (luminance + 0.05)
}

/// Everything any chart must satisfy; returns the tree for specific checks.
fn check(svg: &str) -> El {
    let root = parse(svg);
    assert_eq!(root.name, "svg");
    assert_eq!(root.attr("xmlns"), Some("http://www.w3.org/2000/svg"));
    assert_eq!(root.attr("role"), Some("img"));
    assert_eq!(root.attr("width"), Some("100%"));
    assert_eq!(root.attr("height"), None, "the height follows the width");
    assert_eq!(root.attr("preserveAspectRatio"), Some("xMinYMin meet"));
    let view_box: Vec<f64> = root
        .attr("viewBox")
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(view_box[..3], [0.0, 0.0, 640.0]);

    let labelled_by: Vec<&str> = root.attr("aria-labelledby").unwrap().split(' ').collect();
    assert_eq!(labelled_by.len(), 2);
    let id = labelled_by[0].strip_suffix("-title").expect("{id}-title");
    assert_eq!(labelled_by[1], format!("{id}-desc"));
    assert!(id.starts_with(|c: char| c.is_ascii_lowercase()));
    assert!(
        id.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "{id}"
    );
    assert_eq!(root.children[0].name, "title");
    assert_eq!(root.children[0].attr("id"), Some(labelled_by[0]));
    assert_eq!(root.children[1].name, "desc");
    assert_eq!(root.children[1].attr("id"), Some(labelled_by[1]));

    for el in root.all() {
        for (key, value) in &el.attrs {
            match key.as_str() {
                "fill" | "stroke" if value == "none" || value == "#fff" => {}
                "fill" | "stroke" => {
                    let needed = if el.name == "text" { 4.5 } else { 3.0 };
                    let ratio = contrast_on_white(value);
                    assert!(
                        ratio >= needed,
                        "{key}={value} on <{}>: {ratio:.2}:1",
                        el.name
                    );
                }
                "x" | "y" | "x1" | "y1" | "x2" | "y2" | "cx" | "cy" | "r" | "width" | "height"
                | "d" | "viewBox" | "stroke-width" | "stroke-dasharray" | "font-size" => {
                    for number in value.split(|c: char| !c.is_ascii_digit() && c != '.') {
                        if number.is_empty() {
                            continue;
                        }
                        assert!(number.parse::<f64>().is_ok(), "{key}={value}");
                        let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
                        assert!(decimals <= 1, "{key}={value} has more than one decimal");
                    }
                }
                _ => {}
            }
        }
        for key in ["x", "x1", "x2", "cx"] {
            if let Some(x) = el.attr(key) {
                let x: f64 = x.parse().unwrap();
                assert!((0.0..=640.0).contains(&x), "{key}={x} outside the viewBox");
            }
        }
        if let (Some(x), Some(w)) = (el.attr("x"), el.attr("width")) {
            let right = x.parse::<f64>().unwrap() + w.parse::<f64>().unwrap();
            assert!(right <= 640.1, "<{}> ends at {right}", el.name);
        }
        if let Some(size) = el.attr("font-size") {
            assert!(size.parse::<f64>().unwrap() >= 12.0);
        }
    }
    root
}

fn texts(root: &El) -> Vec<&str> {
    root.named("text").iter().map(|t| t.text.as_str()).collect()
}

fn months(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{:02}.{}", i % 12 + 1, 2020 + i / 12))
        .collect()
}

fn series_chart(labels: Vec<String>, series: Vec<Series>) -> TimeSeries {
    TimeSeries {
        id: "appeals".into(),
        title: "Обращения по месяцам".into(),
        description: "Поступило и решено обращений за год".into(),
        labels,
        series,
        unit: Unit::Count,
    }
}

fn bars_chart(bars: Vec<Bar>, unit: Unit) -> Bars {
    Bars {
        id: "ratings".into(),
        title: "Оценки".into(),
        description: "Распределение оценок ответов".into(),
        bars,
        unit,
    }
}

fn bar(label: &str, value: Option<f64>) -> Bar {
    Bar {
        label: label.into(),
        value,
    }
}

#[test]
fn formats_values_the_russian_way() {
    assert_eq!(format_value(0.0, Unit::Count), "0");
    assert_eq!(format_value(-0.0, Unit::Count), "0");
    assert_eq!(format_value(-0.04, Unit::Days), "0\u{A0}дн.");
    assert_eq!(format_value(999.0, Unit::Count), "999");
    assert_eq!(format_value(1000.0, Unit::Count), "1\u{202F}000");
    assert_eq!(
        format_value(1234567.0, Unit::Count),
        "1\u{202F}234\u{202F}567"
    );
    assert_eq!(format_value(0.5, Unit::Percent), "0,5\u{A0}%");
    assert_eq!(format_value(87.5, Unit::Percent), "87,5\u{A0}%");
    assert_eq!(format_value(3.24, Unit::Days), "3,2\u{A0}дн.");
    assert_eq!(format_value(5.0, Unit::Hours), "5\u{A0}ч");
    assert_eq!(format_value(4.06, Unit::Score), "4,1");
    assert_eq!(format_value(-1234.5, Unit::Count), "\u{2212}1\u{202F}234,5");
    assert_eq!(format_value(f64::NAN, Unit::Percent), "—");
    assert_eq!(format_value(f64::INFINITY, Unit::Count), "—");
    assert_eq!(format_value(0.3 - 0.1 - 0.2, Unit::Score), "0");
    let max = format_value(f64::MAX, Unit::Count);
    assert!(
        max.starts_with("179\u{202F}769\u{202F}") && !max.contains(','),
        "{max}"
    );
}

#[test]
fn a_time_series_has_lines_markers_legend_and_axes() {
    let chart = series_chart(
        months(12),
        vec![
            Series {
                name: "Поступило".into(),
                values: (0..12).map(|i| Some(1000.0 + 37.0 * i as f64)).collect(),
            },
            Series {
                name: "Решено".into(),
                values: vec![Some(900.0), None, Some(1234.0), Some(1100.0)],
            },
        ],
    );
    let svg = time_series(&chart);
    assert_eq!(svg, time_series(&chart), "deterministic");
    let root = check(&svg);
    assert_eq!(root.children[0].text, "Обращения по месяцам");
    assert_eq!(root.children[1].text, "Поступило и решено обращений за год");

    let lines: Vec<&El> = root
        .named("path")
        .into_iter()
        .filter(|p| p.attr("fill") == Some("none"))
        .collect();
    // Two in the legend, two in the plot; the second line breaks at its gap.
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3].attr("d").unwrap().matches('M').count(), 2);
    assert_ne!(
        lines[2].attr("stroke-dasharray"),
        lines[3].attr("stroke-dasharray")
    );

    let tips: Vec<&str> = root
        .all()
        .iter()
        .filter_map(|e| match e.name.as_str() {
            "circle" | "path" if e.attr("fill") != Some("none") => e.child_title(),
            _ => None,
        })
        .collect();
    assert_eq!(tips.len(), 12 + 3, "one marker per known value");
    assert!(tips.contains(&"Решено, 03.2020: 1\u{202F}234"), "{tips:?}");

    let texts = texts(&root);
    for expected in [
        "Поступило",
        "Решено",
        "0",
        "1\u{202F}500",
        "01.2020",
        "11.2020",
    ] {
        assert!(
            texts.contains(&expected),
            "{expected} missing from {texts:?}"
        );
    }
}

#[test]
fn one_period_draws_columns_with_markers() {
    let chart = series_chart(
        vec!["2026".into()],
        vec![
            Series {
                name: "Москва".into(),
                values: vec![Some(120.0)],
            },
            Series {
                name: "Казань".into(),
                values: vec![None],
            },
            Series {
                name: "Пермь".into(),
                values: vec![Some(-30.0)],
            },
        ],
    );
    let root = check(&time_series(&chart));
    let columns: Vec<&El> = root.named("rect").into_iter().skip(1).collect();
    assert_eq!(columns.len(), 2);
    let texts = texts(&root);
    for expected in ["120", "нет данных", "\u{2212}30", "2026"] {
        assert!(
            texts.contains(&expected),
            "{expected} missing from {texts:?}"
        );
    }
}

#[test]
fn six_series_differ_without_colour() {
    let series = (0..6)
        .map(|i| Series {
            name: format!("Серия {i}"),
            values: vec![Some(i as f64), Some(2.0)],
        })
        .collect();
    let root = check(&time_series(&series_chart(months(2), series)));
    let mut styles: Vec<String> = root
        .children
        .iter()
        .filter(|g| g.name == "g")
        .take(6)
        .map(|legend| {
            let shapes: Vec<&El> = legend
                .children
                .iter()
                .filter(|c| c.name == "path" || c.name == "circle")
                .collect();
            let [line, marker] = shapes[..] else {
                panic!("legend item {legend:?}")
            };
            let shape = marker.attr("d").map(|d| {
                d.trim_start_matches(|c: char| {
                    c == 'M' || c.is_ascii_digit() || c == '.' || c == ' '
                })
            });
            format!(
                "{:?} {} {:?} {:?}",
                line.attr("stroke-dasharray"),
                marker.name,
                shape,
                marker.attr("fill") == Some("#fff")
            )
        })
        .collect();
    styles.sort();
    styles.dedup();
    assert_eq!(styles.len(), 6, "{styles:?}");
}

#[test]
fn hostile_labels_are_escaped_and_long_ones_truncated() {
    let hostile = "<script>alert(\"x\")</script> & 'quotes' in a very long label";
    let chart = Bars {
        id: "Rating <1> & \"2\"".into(),
        title: hostile.into(),
        description: hostile.into(),
        bars: vec![bar(hostile, Some(87.5)), bar("Короткая", Some(12.0))],
        unit: Unit::Percent,
    };
    let svg = bars(&chart);
    assert!(!svg.contains("<script"), "{svg}");
    assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)"));
    let root = check(&svg);
    assert_eq!(
        root.attr("aria-labelledby"),
        Some("rating--1-----2--title rating--1-----2--desc")
    );
    assert_eq!(root.children[0].text, hostile);
    let groups: Vec<&El> = root.named("g");
    assert_eq!(groups.len(), 2);
    assert_eq!(
        groups[0].child_title(),
        Some(format!("{hostile}: 87,5\u{A0}%").as_str())
    );
    let drawn = &groups[0].named("text")[0].text;
    assert!(
        drawn.ends_with('…') && hostile.starts_with(drawn.trim_end_matches('…')),
        "{drawn}"
    );
    assert_eq!(groups[1].named("text")[0].text, "Короткая");

    let series = series_chart(
        vec![hostile.into(); 2],
        vec![Series {
            name: hostile.into(),
            values: vec![Some(1.0), Some(2.0)],
        }],
    );
    let svg = time_series(&series);
    assert!(!svg.contains("<script"));
    check(&svg);
}

#[test]
fn bars_show_values_and_missing_ones() {
    let chart = bars_chart(
        vec![
            bar("5", Some(412.0)),
            bar("4", Some(1210.0)),
            bar("3", None),
            bar("2", Some(-5.0)),
        ],
        Unit::Count,
    );
    let root = check(&bars(&chart));
    let groups = root.named("g");
    assert_eq!(groups.len(), 4);
    let rect = |g: &El| g.named("rect")[0].attrs.clone();
    let empty = rect(groups[2]);
    assert!(empty.contains(&("fill".into(), "none".into())), "{empty:?}");
    assert!(empty.iter().any(|(k, _)| k == "stroke-dasharray"));
    assert_eq!(groups[2].named("text")[1].text, "нет данных");
    assert_eq!(groups[2].child_title(), Some("3: нет данных"));
    assert_eq!(groups[1].named("text")[1].text, "1\u{202F}210");
    // The negative bar ends where the positive ones start.
    let x = |g: &El, k: &str| g.named("rect")[0].attr(k).unwrap().parse::<f64>().unwrap();
    assert!((x(groups[3], "x") + x(groups[3], "width") - x(groups[0], "x")).abs() < 0.2);
    let texts = texts(&root);
    assert!(
        texts.contains(&"0") && texts.contains(&"1\u{202F}500"),
        "{texts:?}"
    );
}

#[test]
fn nothing_to_show_says_so() {
    let no_data = |svg: String| {
        let root = check(&svg);
        assert_eq!(texts(&root), [NO_DATA]);
    };
    no_data(bars(&bars_chart(vec![], Unit::Count)));
    no_data(bars(&bars_chart(
        vec![
            bar("a", None),
            bar("b", Some(f64::NAN)),
            bar("c", Some(f64::INFINITY)),
        ],
        Unit::Days,
    )));
    no_data(time_series(&series_chart(vec![], vec![])));
    no_data(time_series(&series_chart(months(3), vec![])));
    no_data(time_series(&series_chart(
        months(3),
        vec![Series {
            name: "x".into(),
            values: vec![None, Some(f64::NEG_INFINITY)],
        }],
    )));
}

#[test]
fn thousands_of_points_and_bars_stay_readable() {
    let values = (0..5000)
        .map(|i| {
            if i % 97 == 0 {
                None
            } else {
                Some((i % 300) as f64)
            }
        })
        .collect::<Vec<_>>();
    let mut lonely = vec![None; 5000];
    lonely[2500] = Some(7.0);
    let chart = series_chart(
        months(5000),
        vec![
            Series {
                name: "A".into(),
                values,
            },
            Series {
                name: "B".into(),
                values: lonely,
            },
        ],
    );
    let root = check(&time_series(&chart));
    let markers = root
        .all()
        .into_iter()
        .filter(|e| e.name == "circle" || (e.name == "path" && e.attr("fill") != Some("none")))
        .count();
    assert_eq!(markers, 2 + 1, "legend markers and the one isolated point");
    let x_labels = texts(&root).into_iter().filter(|t| t.contains('.')).count();
    assert!((5..=12).contains(&x_labels), "{x_labels} period labels");

    let many = (0..3000)
        .map(|i| {
            bar(
                &"Отказ по основанию 😀 ".repeat(i % 5 + 1),
                Some(i as f64 * 1e9),
            )
        })
        .collect();
    let root = check(&bars(&bars_chart(many, Unit::Hours)));
    assert_eq!(root.named("g").len(), 3000);
}

fn value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        proptest::num::f64::ANY.prop_map(Some),
        prop_oneof![
            Just(1e300),
            Just(-1e300),
            Just(f64::MIN_POSITIVE),
            Just(0.0),
            Just(-0.0)
        ]
        .prop_map(Some),
        (-1e6..1e6f64).prop_map(Some),
    ]
}

/// Any text, weighted towards what XML and layouts trip on (proptest's strings have no
/// control characters).
fn text() -> impl Strategy<Value = String> {
    let nasty = prop::sample::select(vec![
        '<', '>', '&', '"', '\'', '\0', '\n', '\u{7f}', '\u{85}', '\u{FFFE}', '\u{FFFF}', '字',
        '😀',
    ]);
    let chars = prop::collection::vec(prop_oneof![any::<char>(), nasty], 0..40);
    prop_oneof![any::<String>(), chars.prop_map(String::from_iter)]
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        Just(Unit::Count),
        Just(Unit::Percent),
        Just(Unit::Days),
        Just(Unit::Hours),
        Just(Unit::Score)
    ]
}

proptest! {
    #[test]
    fn any_time_series_is_well_formed(
        id in text(),
        title in text(),
        labels in prop::collection::vec(text(), 0..40),
        series in prop::collection::vec((text(), prop::collection::vec(value(), 0..40)), 0..8),
        unit in unit(),
    ) {
        let series: Vec<Series> =
            series.into_iter().map(|(name, values)| Series { name, values }).collect();
        let known = series.iter().flat_map(|s| &s.values).flatten().filter(|v| v.is_finite());
        let known = known.count();
        let chart =
            TimeSeries { id, title: title.clone(), description: title, labels, series, unit };
        let root = check(&time_series(&chart));
        // Escaping and character replacement keep the text, character for character.
        let desc = root.children[1].text.clone();
        prop_assert_eq!(desc.chars().count(), chart.description.chars().count());
        let groups = root.children.iter().filter(|c| c.name == "g").count();
        if known == 0 {
            prop_assert_eq!(texts(&root), [NO_DATA]);
        } else {
            // A legend item and a group of marks per series.
            prop_assert_eq!(groups, 2 * chart.series.len());
        }
    }

    #[test]
    fn any_bars_are_well_formed(
        id in text(),
        bars_in in prop::collection::vec((text(), value()), 0..60),
        unit in unit(),
    ) {
        let shown = bars_in.iter().filter(|(_, v)| v.is_some_and(f64::is_finite)).count();
        let total = bars_in.len();
        let list = bars_in.into_iter().map(|(label, value)| Bar { label, value }).collect();
        let chart = Bars { id, title: "Т".into(), description: "О".into(), bars: list, unit };
        let root = check(&bars(&chart));
        let groups = root.named("g").len();
        if shown == 0 {
            prop_assert_eq!(groups, 0);
            prop_assert_eq!(texts(&root), [NO_DATA]);
        } else {
            prop_assert_eq!(groups, total);
            let drawn = root.named("rect").into_iter();
            let drawn = drawn.filter(|r| r.attr("fill") == Some("#0b5cad")).count();
            prop_assert_eq!(drawn, shown);
        }
    }
}
