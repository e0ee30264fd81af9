//! A small SVG line chart: axes with ticks, labels and units; lines, faint lines and markers.

use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 42.0;
/// More points than pixels only cost time: long runs are thinned for drawing.
const MAX_DRAWN: usize = 1200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Line,
    Faint,
    Dashed,
    Markers,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: &'static str,
    /// A CSS class giving its colour.
    pub class: &'static str,
    pub style: Style,
    pub points: Vec<(f64, f64)>,
}

/// 1, 2 or 5 times a power of ten, about `count` steps over `span`.
fn tick_step(span: f64, count: f64) -> f64 {
    let raw = (span / count).max(f64::MIN_POSITIVE);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * power)
}

fn ticks(low: f64, high: f64, count: f64) -> Vec<f64> {
    let step = tick_step(high - low, count);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn label(value: f64) -> String {
    if value.abs() >= 1e6 {
        format!("{value:.0e}")
    } else if value.abs() >= 10_000.0 {
        format!("{}k", value / 1000.0)
    } else if value.fract().abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        // Ticks are multiples of 1, 2 or 5 × 10^k: three decimals show them without float noise.
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

struct Scale {
    x: (f64, f64),
    y: (f64, f64),
}

impl Scale {
    fn fit(series: &[Series]) -> Option<Self> {
        let points = series.iter().flat_map(|s| s.points.iter());
        let (mut x, mut y) = ((f64::MAX, f64::MIN), (f64::MAX, f64::MIN));
        let mut values = Vec::new();
        for &(px, py) in points.filter(|(px, py)| px.is_finite() && py.is_finite()) {
            x = (x.0.min(px), x.1.max(px));
            y = (y.0.min(py), y.1.max(py));
            values.push(py);
        }
        if x.0 > x.1 {
            return None;
        }
        // A run blowing up before it diverges would flatten everything else: the axis stops at
        // four times the median and the plot area clips what lies beyond.
        values.sort_by(f64::total_cmp);
        let median = values[values.len() / 2];
        if median > 0.0 {
            y.1 = y.1.min(4.0 * median);
        }
        let pad = ((y.1 - y.0) * 0.06).max(0.5);
        let y_step = tick_step(y.1 - y.0 + 2.0 * pad, 5.0);
        // Quantities that cannot be negative (nats) keep their axis at 0 or above.
        let floor = if y.0 >= 0.0 { 0.0 } else { f64::MIN };
        Some(Self {
            x: (x.0.min(0.0), x.1.max(x.0 + 1.0)),
            y: (
                (((y.0 - pad) / y_step).floor() * y_step).max(floor),
                ((y.1 + pad) / y_step).ceil() * y_step,
            ),
        })
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }
}

fn path(scale: &Scale, points: &[(f64, f64)]) -> String {
    let stride = points.len().div_ceil(MAX_DRAWN).max(1);
    let mut d = String::with_capacity(points.len().min(MAX_DRAWN) * 16);
    for (i, &(x, y)) in points.iter().step_by(stride).enumerate() {
        let command = if i == 0 { 'M' } else { 'L' };
        d.push_str(&format!("{command}{:.1},{:.1}", scale.px(x), scale.py(y)));
    }
    d
}

fn count_points(series: &[Series]) -> usize {
    series.iter().map(|s| s.points.len()).sum()
}

/// A chart of `series` with labelled axes; `id` names the `<svg>` for tests and links.
#[component]
pub fn Chart(
    id: &'static str,
    title: &'static str,
    x_label: &'static str,
    y_label: &'static str,
    #[prop(into)] series: Signal<Vec<Series>>,
) -> impl IntoView {
    view! {
        <figure class="chart">
            <svg
                id=id
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=title
                data-points={move || series.with(|s| count_points(s).to_string())}
            >
                {move || {
                    let series = series.get();
                    let Some(scale) = Scale::fit(&series) else {
                        return view! {
                            <text class="chart-empty" x=WIDTH / 2.0 y=HEIGHT / 2.0 text-anchor="middle">
                                "No data yet: press Train."
                            </text>
                        }
                            .into_any();
                    };
                    let x_ticks = ticks(scale.x.0, scale.x.1, 6.0);
                    let y_ticks = ticks(scale.y.0, scale.y.1, 5.0);
                    let bottom = HEIGHT - BOTTOM;
                    let clip = format!("{id}-plot");
                    let clip_url = format!("url(#{clip})");
                    view! {
                        <defs>
                            <clipPath id=clip>
                                <rect x=LEFT y=TOP width=WIDTH - LEFT - RIGHT height=bottom - TOP></rect>
                            </clipPath>
                        </defs>
                        <g class="axes">
                            {y_ticks
                                .into_iter()
                                .map(|y| {
                                    let py = scale.py(y);
                                    view! {
                                        <line class="grid" x1=LEFT x2=WIDTH - RIGHT y1=py y2=py></line>
                                        <text class="tick" x=LEFT - 6.0 y=py + 4.0 text-anchor="end">
                                            {label(y)}
                                        </text>
                                    }
                                })
                                .collect_view()}
                            {x_ticks
                                .into_iter()
                                .map(|x| {
                                    let px = scale.px(x);
                                    view! {
                                        <line class="axis" x1=px x2=px y1=bottom y2=bottom + 5.0></line>
                                        <text class="tick" x=px y=bottom + 18.0 text-anchor="middle">
                                            {label(x)}
                                        </text>
                                    }
                                })
                                .collect_view()}
                            <line class="axis" x1=LEFT x2=WIDTH - RIGHT y1=bottom y2=bottom></line>
                            <line class="axis" x1=LEFT x2=LEFT y1=TOP y2=bottom></line>
                            <text class="axis-label" x=(LEFT + WIDTH - RIGHT) / 2.0 y=HEIGHT - 6.0 text-anchor="middle">
                                {x_label}
                            </text>
                            <text
                                class="axis-label"
                                transform=format!("translate(14 {}) rotate(-90)", (TOP + bottom) / 2.0)
                                text-anchor="middle"
                            >
                                {y_label}
                            </text>
                        </g>
                        <g clip-path=clip_url>
                        {series
                            .iter()
                            .map(|s| match s.style {
                                Style::Markers => {
                                    s.points
                                        .iter()
                                        .map(|&(x, y)| {
                                            view! {
                                                <circle class=format!("marker {}", s.class) cx=scale.px(x) cy=scale.py(y) r="4">
                                                    <title>{format!("{}: {y:.1} at {}", s.name, label(x))}</title>
                                                </circle>
                                            }
                                        })
                                        .collect_view()
                                        .into_any()
                                }
                                style => {
                                    let kind = match style {
                                        Style::Faint => "faint",
                                        Style::Dashed => "dashed",
                                        _ => "line",
                                    };
                                    view! {
                                        <path class=format!("series {kind} {}", s.class) d=path(&scale, &s.points)>
                                            <title>{s.name}</title>
                                        </path>
                                    }
                                        .into_any()
                                }
                            })
                            .collect_view()}
                        </g>
                    }
                        .into_any()
                }}
            </svg>
            <figcaption class="legend">
                {move || {
                    series
                        .get()
                        .into_iter()
                        .map(|s| {
                            let kind = match s.style {
                                Style::Markers => "key-marker",
                                Style::Faint => "key-faint",
                                Style::Dashed => "key-dashed",
                                Style::Line => "key-line",
                            };
                            view! {
                                <span class="legend-item">
                                    <span class=format!("key {kind} {}", s.class)></span>
                                    {s.name}
                                </span>
                            }
                        })
                        .collect_view()
                }}
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(
            ticks(93.0, 548.0, 5.0),
            vec![100.0, 200.0, 300.0, 400.0, 500.0]
        );
        assert_eq!(tick_step(1.0, 4.0), 0.5);
        assert_eq!(label(1500.0), "1500");
        assert_eq!(label(25000.0), "25k");
        assert_eq!(label(3e12), "3e12");
        assert_eq!(label(0.6000000000000001), "0.6");
        assert_eq!(label(2.5), "2.5");
    }
}
