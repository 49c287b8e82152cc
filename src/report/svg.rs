//! Small inline-SVG charts for the HTML reports: bar charts, line charts with fault markers, and record
//! swimlanes. Plain strings, no external assets, deterministic output (fixed number formatting).

use std::fmt::Write;

/// Chart width and height in SVG user units.
const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 240.0;
/// Margins: left, right, top, bottom.
const MARGIN: (f64, f64, f64, f64) = (56.0, 16.0, 28.0, 36.0);

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn open(svg: &mut String, title: &str, height: f64) {
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"><title>{}</title><text x="{}" y="16" class="chart-title">{}</text>"#,
        escape(title),
        MARGIN.0,
        escape(title)
    );
}

fn nice_max(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if value <= step * magnitude {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn y_axis(svg: &mut String, max: f64, height: f64) {
    let bottom = height - MARGIN.3;
    let plot_height = bottom - MARGIN.2;
    for tick in 0..=4 {
        let value = max * f64::from(tick) / 4.0;
        let y = bottom - plot_height * f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"##,
            MARGIN.0,
            WIDTH - MARGIN.1,
            MARGIN.0 - 4.0,
            y + 4.0,
            format_number(value)
        );
    }
}

/// A number as a short label.
pub fn format_number(value: f64) -> String {
    if value.abs() >= 10_000.0 {
        format!("{:.0}k", value / 1000.0)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// A bar chart of `values` labelled `labels`.
pub fn bar_chart(title: &str, x_label: &str, labels: &[String], values: &[f64]) -> String {
    let mut svg = String::new();
    open(&mut svg, title, HEIGHT);
    let max = nice_max(values.iter().copied().fold(0.0, f64::max));
    y_axis(&mut svg, max, HEIGHT);
    let bottom = HEIGHT - MARGIN.3;
    let plot_width = WIDTH - MARGIN.0 - MARGIN.1;
    let plot_height = bottom - MARGIN.2;
    let slot = plot_width / values.len().max(1) as f64;
    for (index, (label, value)) in labels.iter().zip(values).enumerate() {
        let height = plot_height * value / max;
        let x = MARGIN.0 + slot * index as f64 + slot * 0.15;
        let _ = write!(
            svg,
            r##"<rect class="bar" x="{x:.1}" y="{:.1}" width="{:.1}" height="{height:.1}" fill="#3b82f6"><title>{}: {}</title></rect>"##,
            bottom - height,
            slot * 0.7,
            escape(label),
            format_number(*value)
        );
        if values.len() <= 24 || index % (values.len() / 12).max(1) == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"#,
                x + slot * 0.35,
                bottom + 14.0,
                escape(label)
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{}</text></svg>"#,
        MARGIN.0 + plot_width / 2.0,
        HEIGHT - 4.0,
        escape(x_label)
    );
    svg
}

/// A heat map of a two-key sweep: one row per value of the first key (`y_labels`), one column per value
/// of the second (`x_labels`), each cell shaded by its value against the largest (log scale) and labelled
/// with it.
/// `cells[row][column]` is `None` where a point was not run.
pub fn heat_map(
    title: &str,
    axes: (&str, &str),
    x_labels: &[String],
    y_labels: &[String],
    cells: &[Vec<Option<f64>>],
) -> String {
    const CELL_HEIGHT: f64 = 28.0;
    const ROW_LABEL_WIDTH: f64 = 130.0;
    let (x_axis, y_axis_label) = axes;
    let height = MARGIN.2 + 18.0 + CELL_HEIGHT * y_labels.len() as f64 + MARGIN.3;
    let mut svg = String::new();
    open(&mut svg, title, height);
    let left = MARGIN.0 + ROW_LABEL_WIDTH;
    let cell_width = (WIDTH - left - MARGIN.1) / x_labels.len().max(1) as f64;
    let top = MARGIN.2 + 18.0;
    let max = cells
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(0.0, f64::max);
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="start">{} ↓</text>"#,
        8.0,
        top - 6.0,
        escape(y_axis_label)
    );
    for (column, label) in x_labels.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"#,
            left + cell_width * (column as f64 + 0.5),
            top - 6.0,
            escape(label)
        );
    }
    for (row, label) in y_labels.iter().enumerate() {
        let y = top + CELL_HEIGHT * row as f64;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + CELL_HEIGHT / 2.0 + 4.0,
            escape(label)
        );
        for (column, value) in cells.get(row).into_iter().flatten().enumerate() {
            let x = left + cell_width * column as f64;
            let (fill, text) = match value {
                Some(value) => (heat_color(log_share(*value, max)), format_number(*value)),
                None => ("#f3f4f6".to_string(), "–".to_string()),
            };
            let ink = if value.is_some_and(|value| log_share(value, max) > 0.6) {
                "#ffffff"
            } else {
                "#111827"
            };
            let _ = write!(
                svg,
                r##"<rect class="cell" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="#ffffff"><title>{} · {}: {text}</title></rect><text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle" style="fill:{ink}">{text}</text>"##,
                cell_width,
                CELL_HEIGHT,
                escape(label),
                escape(&x_labels[column.min(x_labels.len().saturating_sub(1))]),
                x + cell_width / 2.0,
                y + CELL_HEIGHT / 2.0 + 4.0
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{} →</text></svg>"#,
        left + cell_width * x_labels.len() as f64 / 2.0,
        height - 8.0,
        escape(x_axis)
    );
    svg
}

/// Where `value` sits between 0 and `max` on a logarithmic scale: sweeps like lock duration span orders of
/// magnitude (1,139 redeliveries next to 7), and a linear shade would leave every cell but one white.
fn log_share(value: f64, max: f64) -> f64 {
    if max <= 0.0 || value <= 0.0 {
        return 0.0;
    }
    value.ln_1p() / max.ln_1p()
}

/// White (0) to deep blue (1).
fn heat_color(share: f64) -> String {
    let share = share.clamp(0.0, 1.0);
    let channel = |from: f64, to: f64| (from + (to - from) * share).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        channel(255.0, 30.0),
        channel(255.0, 64.0),
        channel(255.0, 175.0)
    )
}

/// One line of a line chart.
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Stroke colour.
    pub color: &'static str,
    /// (x, y) points, x ascending.
    pub points: Vec<(f64, f64)>,
}

/// A line chart over virtual time `0..=end_ms`, with faults marked as vertical lines.
pub fn line_chart(title: &str, end_ms: u64, series: &[Series], faults: &[(u64, String)]) -> String {
    let mut svg = String::new();
    open(&mut svg, title, HEIGHT);
    let max_y = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(_, y)| *y))
        .fold(0.0, f64::max);
    let max = nice_max(max_y);
    y_axis(&mut svg, max, HEIGHT);
    let bottom = HEIGHT - MARGIN.3;
    let plot_width = WIDTH - MARGIN.0 - MARGIN.1;
    let plot_height = bottom - MARGIN.2;
    let end = end_ms.max(1) as f64;
    let x_of = |ms: f64| MARGIN.0 + plot_width * ms / end;
    time_axis(&mut svg, end_ms, bottom);
    fault_marks(&mut svg, faults, MARGIN.2, bottom, &x_of);
    for (index, line) in series.iter().enumerate() {
        let mut path = String::new();
        for (x, y) in &line.points {
            let _ = write!(
                path,
                "{:.1},{:.1} ",
                x_of(*x),
                bottom - plot_height * y / max
            );
        }
        let _ = write!(
            svg,
            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="1.6" points="{}"/><text x="{:.1}" y="16" class="legend" fill="{}">{}</text>"#,
            line.color,
            path.trim_end(),
            WIDTH - MARGIN.1 - 150.0 * (series.len() - index) as f64,
            line.color,
            escape(&line.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn time_axis(svg: &mut String, end_ms: u64, bottom: f64) {
    let plot_width = WIDTH - MARGIN.0 - MARGIN.1;
    for tick in 0..=5 {
        let ms = end_ms as f64 * f64::from(tick) / 5.0;
        let x = MARGIN.0 + plot_width * f64::from(tick) / 5.0;
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{:.1} s</text>"#,
            bottom + 14.0,
            ms / 1000.0
        );
    }
}

fn fault_marks(
    svg: &mut String,
    faults: &[(u64, String)],
    top: f64,
    bottom: f64,
    x_of: &dyn Fn(f64) -> f64,
) {
    for (at_ms, label) in faults {
        let x = x_of(*at_ms as f64);
        let _ = write!(
            svg,
            r##"<line class="fault" x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#dc2626" stroke-dasharray="4 3"><title>{} ms: {}</title></line>"##,
            at_ms,
            escape(label)
        );
    }
}

/// One segment of a swimlane: a state held over `[from_ms, to_ms)`.
pub struct Segment {
    /// Start.
    pub from_ms: u64,
    /// End.
    pub to_ms: u64,
    /// The state's name (also the CSS class).
    pub state: &'static str,
}

/// The colour of a record state.
pub fn state_color(state: &str) -> &'static str {
    match state {
        "AVAILABLE" => "#cbd5e1",
        "ACQUIRED" => "#f59e0b",
        "ACKNOWLEDGED" => "#16a34a",
        "ARCHIVING" => "#a855f7",
        "ARCHIVED" => "#dc2626",
        _ => "#94a3b8",
    }
}

/// Swimlanes: one lane per labelled record, its states over time, faults marked.
pub fn swimlanes(
    title: &str,
    end_ms: u64,
    lanes: &[(String, Vec<Segment>)],
    faults: &[(u64, String)],
) -> String {
    let lane_height = if lanes.len() > 60 { 4.0 } else { 9.0 };
    let height = MARGIN.2 + MARGIN.3 + lane_height * lanes.len().max(1) as f64 + 14.0;
    let mut svg = String::new();
    open(&mut svg, title, height);
    let bottom = height - MARGIN.3;
    let plot_width = WIDTH - MARGIN.0 - MARGIN.1;
    let end = end_ms.max(1) as f64;
    let x_of = |ms: f64| MARGIN.0 + plot_width * ms / end;
    for (index, (label, segments)) in lanes.iter().enumerate() {
        let y = MARGIN.2 + lane_height * index as f64;
        if lanes.len() <= 60 || index % 10 == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
                MARGIN.0 - 4.0,
                y + lane_height,
                escape(label)
            );
        }
        for segment in segments {
            let x = x_of(segment.from_ms as f64);
            let width = (x_of(segment.to_ms as f64) - x).max(0.5);
            let _ = write!(
                svg,
                r#"<rect class="lane {}" x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{:.1}" fill="{}"><title>{} {}: {}–{} ms</title></rect>"#,
                segment.state.to_lowercase(),
                lane_height - 1.0,
                state_color(segment.state),
                escape(label),
                segment.state,
                segment.from_ms,
                segment.to_ms
            );
        }
    }
    time_axis(&mut svg, end_ms, bottom);
    fault_marks(&mut svg, faults, MARGIN.2, bottom, &x_of);
    let mut x = WIDTH - MARGIN.1 - 400.0;
    for state in ["AVAILABLE", "ACQUIRED", "ACKNOWLEDGED", "ARCHIVED"] {
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="7" width="10" height="10" fill="{}"/><text x="{:.1}" y="16" class="legend">{state}</text>"#,
            state_color(state),
            x + 13.0
        );
        x += 100.0;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Axis maxima round up to 1, 2, 5 × 10^k.
    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(13.0), 20.0);
        assert_eq!(nice_max(450.0), 500.0);
    }

    /// Charts are well-formed SVG and escape labels.
    #[test]
    fn charts_escape_and_close() {
        let svg = bar_chart("a < b", "x", &["<1>".to_string()], &[3.0]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt; b") && !svg.contains("<1>"));
        let series = [Series {
            name: "n".into(),
            color: "#000",
            points: vec![(0.0, 1.0), (10.0, 2.0)],
        }];
        let svg = line_chart("t", 10, &series, &[(5, "crash".into())]);
        assert!(svg.contains("polyline") && svg.contains("class=\"fault\""));
    }

    /// A heat map has one shaded cell per point, labelled with its value; the largest is the darkest and
    /// a point not run is marked, not drawn as zero.
    #[test]
    fn heat_map_shades_cells_by_value() {
        let labels = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        let svg = heat_map(
            "redeliveries",
            ("lock", "sigma"),
            &labels(&["1000", "5000"]),
            &labels(&["0.5", "1.5"]),
            &[vec![Some(10.0), Some(0.0)], vec![Some(40.0), None]],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="cell""#).count(), 4);
        assert!(svg.contains(&format!("fill=\"{}\"", heat_color(1.0))));
        assert!(svg.contains(">40<") && svg.contains(">–<"));
        assert_eq!(heat_color(0.0), "#ffffff");
    }
}
