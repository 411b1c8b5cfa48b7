//! The figures in `docs/figures`, drawn with plotters' SVG backend (no font files: the
//! viewer renders the text, plotters only estimates its size).

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

const OURS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const REFERENCE: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const TARGET: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e}")
}

/// One row of the latency chart: a label and the two medians in ms (`None`: not measured).
pub struct LatencyRow {
    pub label: String,
    pub ours: Option<f64>,
    pub reference: Option<f64>,
}

/// Horizontal bars, log-scale milliseconds, ours above the reference for each row.
pub fn latency(path: &Path, title: &str, rows: &[LatencyRow]) -> Result<()> {
    let height = 120 + 44 * rows.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let values = rows.iter().flat_map(|r| [r.ours, r.reference]).flatten();
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo > hi {
        (0.1, 10.0)
    } else {
        (lo / 2.0, hi * 3.0)
    };
    let n = rows.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(230)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..n)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len() * 2 + 1)
        .y_label_formatter(&|y| {
            // Label at each row's centre only.
            let i = y.floor();
            if (y - i - 0.5).abs() < 1e-6 && i >= 0.0 && (i as usize) < rows.len() {
                rows[rows.len() - 1 - i as usize].label.clone()
            } else {
                String::new()
            }
        })
        .x_desc("median milliseconds (log scale)")
        .draw()
        .map_err(err)?;
    // Row 0 at the top: plotters' y grows upwards.
    let y_of = |i: usize| n - 1.0 - i as f64;
    let bar = |i: usize, v: f64, lo_off: f64, color: RGBColor| {
        Rectangle::new(
            [(lo, y_of(i) + lo_off), (v, y_of(i) + lo_off + 0.38)],
            color.filled(),
        )
    };
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .filter_map(|(i, r)| r.ours.map(|v| bar(i, v, 0.52, OURS))),
        )
        .map_err(err)?
        .label("faceid (Rust)")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], OURS.filled()));
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .filter_map(|(i, r)| r.reference.map(|v| bar(i, v, 0.1, REFERENCE))),
        )
        .map_err(err)?
        .label("face_recognition 1.3 / dlib 20.0.1")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], REFERENCE.filled()));
    let text = |i: usize, v: f64, off: f64| {
        Text::new(
            format!("{} ms", fmt_ms(v)),
            (v * 1.08, y_of(i) + off),
            ("sans-serif", 12),
        )
    };
    chart
        .draw_series(rows.iter().enumerate().flat_map(|(i, r)| {
            r.ours
                .map(|v| text(i, v, 0.82))
                .into_iter()
                .chain(r.reference.map(|v| text(i, v, 0.40)))
        }))
        .map_err(err)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// 1:N search time per probe against gallery size, log-log, with the 20 ms target.
pub fn search(path: &Path, points: &[(usize, f64, f64)], target_ms: f64) -> Result<()> {
    let root = SVGBackend::new(path, (800, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let xmax = points.iter().map(|p| p.0).max().unwrap_or(1_000_000) as f64 * 2.0;
    let ymax = points
        .iter()
        .map(|p| p.2)
        .fold(target_ms, f64::max)
        .max(1.0)
        * 3.0;
    let ymin = points
        .iter()
        .map(|p| p.1)
        .fold(f64::MAX, f64::min)
        .min(target_ms)
        / 3.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "1:N search, exact (Gallery::nearest), per probe",
            ("sans-serif", 20),
        )
        .margin(14)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((500f64..xmax).log_scale(), (ymin..ymax).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("templates in the gallery (log scale)")
        .y_desc("ms per probe (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| fmt_ms(*y))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            [(500.0, target_ms), (xmax, target_ms)],
            TARGET.stroke_width(2),
        ))
        .map_err(err)?
        .label(format!("target {target_ms} ms at 100k"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], TARGET.stroke_width(2)));
    let med: Vec<(f64, f64)> = points.iter().map(|p| (p.0 as f64, p.1)).collect();
    let p90: Vec<(f64, f64)> = points.iter().map(|p| (p.0 as f64, p.2)).collect();
    chart
        .draw_series(LineSeries::new(med.clone(), OURS.stroke_width(2)))
        .map_err(err)?
        .label("median")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], OURS.stroke_width(2)));
    chart
        .draw_series(med.iter().map(|p| Circle::new(*p, 4, OURS.filled())))
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(p90, REFERENCE.stroke_width(1)))
        .map_err(err)?
        .label("p90")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], REFERENCE));
    chart
        .draw_series(med.iter().map(|p| {
            Text::new(
                format!("{} ms", fmt_ms(p.1)),
                (p.0 * 1.1, p.1 * 0.7),
                ("sans-serif", 13),
            )
        }))
        .map_err(err)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// One implementation's scores on one pair set: (same person, distance).
pub struct RocCurve {
    pub label: String,
    pub scored: Vec<(bool, f64)>,
    pub dashed: bool,
    pub color: usize,
}

/// Two panels: the ROC curve (true against false accept rate, zoomed on the corner that
/// matters) with the operating point at `threshold` circled, and both error rates
/// against the threshold with `threshold` marked.
pub fn roc(path: &Path, title: &str, curves: &[RocCurve], threshold: f64) -> Result<()> {
    use crate::roc::{rates, roc_curve};
    let palette = [OURS, REFERENCE, TARGET, RGBColor(0x94, 0x67, 0xbd)];
    let root = SVGBackend::new(path, (1200, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(err)?;
    let (left, right) = root.split_horizontally(560);
    let style_of =
        |c: &RocCurve| palette[c.color % palette.len()].stroke_width(if c.dashed { 1 } else { 2 });

    // Left: ROC. The largest FAR shown is a bit past the worst operating point.
    let far_max = curves
        .iter()
        .map(|c| rates(&c.scored, threshold).far)
        .fold(0.02, f64::max)
        * 2.5;
    let far_max = far_max.min(1.0);
    let tar_min = curves
        .iter()
        .map(|c| 1.0 - rates(&c.scored, threshold).frr)
        .fold(0.9, f64::min)
        - 0.02;
    let mut chart = ChartBuilder::on(&left)
        .caption("ROC (zoomed)", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-far_max * 0.02..far_max, tar_min..1.002)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("false accept rate")
        .y_desc("true accept rate")
        .x_label_formatter(&|x| format!("{:.1} %", 100.0 * x))
        .y_label_formatter(&|y| format!("{:.0} %", 100.0 * y))
        .draw()
        .map_err(err)?;
    for c in curves {
        let style = style_of(c);
        let pts = roc_curve(&c.scored);
        if c.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts, 6, 4, style))
                .map_err(err)?;
        } else {
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(err)?;
        }
        let at = rates(&c.scored, threshold);
        chart
            .draw_series([Circle::new((at.far, 1.0 - at.frr), 7, style)])
            .map_err(err)?;
    }

    // Right: FAR and FRR against the threshold.
    let mut chart = ChartBuilder::on(&right)
        .caption(
            format!("error rates against the threshold ({threshold} marked)"),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.2f64..0.9, 0f64..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("distance threshold (same person if distance <= threshold)")
        .y_desc("rate")
        .y_label_formatter(&|y| format!("{:.0} %", 100.0 * y))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            [(threshold, 0.0), (threshold, 1.0)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
    let steps: Vec<f64> = (0..=350).map(|i| 0.2 + 0.002 * f64::from(i)).collect();
    for c in curves {
        let style = style_of(c);
        let far: Vec<(f64, f64)> = steps
            .iter()
            .map(|t| (*t, rates(&c.scored, *t).far))
            .collect();
        let frr: Vec<(f64, f64)> = steps
            .iter()
            .map(|t| (*t, rates(&c.scored, *t).frr))
            .collect();
        let legend = move |(x, y): (i32, i32)| PathElement::new([(x, y), (x + 18, y)], style);
        if c.dashed {
            chart
                .draw_series(DashedLineSeries::new(far, 6, 4, style))
                .map_err(err)?
                .label(c.label.clone())
                .legend(legend);
            chart
                .draw_series(DashedLineSeries::new(frr, 6, 4, style))
                .map_err(err)?;
        } else {
            chart
                .draw_series(LineSeries::new(far, style))
                .map_err(err)?
                .label(c.label.clone())
                .legend(legend);
            chart
                .draw_series(LineSeries::new(frr, style))
                .map_err(err)?;
        }
    }
    chart
        .draw_series([
            Text::new(
                "FRR (same person rejected)",
                (0.22, 0.93),
                ("sans-serif", 13),
            ),
            Text::new(
                "FAR (different people accepted)",
                (0.62, 0.93),
                ("sans-serif", 13),
            ),
        ])
        .map_err(err)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// The decision policy in two panels: 1:N strangers accepted against gallery size (the
/// shipped rule and the old 0.6 rule, measured dots and modelled lines, the gallery limit
/// marked), and the 1:1 error rates against the threshold (log scale, the shipped
/// threshold marked).
pub fn policy(
    path: &Path,
    report: &crate::policy::PolicyReport,
    verify_distance: f32,
    max_identify_templates: usize,
) -> Result<()> {
    let root = SVGBackend::new(path, (1200, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(
            "Decision policy on 5,706 US Congress portraits (held-out strangers; zero rates drawn at 1e-5)",
            ("sans-serif", 20),
        )
        .map_err(err)?;
    let (left, right) = root.split_horizontally(600);
    // Log axes cannot show 0: zero rates sit on the floor.
    let floor = 1e-5;
    let lifted = |r: f64| r.max(floor);

    let largest = report
        .galleries
        .iter()
        .map(|g| g.templates)
        .max()
        .unwrap_or(10) as f64;
    let mut chart = ChartBuilder::on(&left)
        .caption("1:N — strangers logged in as somebody", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (8.0f64..largest * 1.2).log_scale(),
            (floor..1.0f64).log_scale(),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("templates in the gallery")
        .y_desc("strangers accepted (per login)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .draw()
        .map_err(err)?;
    let limit = max_identify_templates as f64;
    chart
        .draw_series(DashedLineSeries::new(
            [(limit, floor), (limit, 1.0)],
            4,
            4,
            BLACK.stroke_width(1),
        ))
        .map_err(err)?
        .label(format!(
            "1:N refused above {max_identify_templates} templates"
        ))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    let modelled = |pick: fn(&crate::policy::GalleryRow) -> f64| {
        report
            .galleries
            .iter()
            .map(move |g| (g.templates as f64, lifted(pick(g))))
            .collect::<Vec<_>>()
    };
    for (label, colour, model, measured) in [
        (
            "old rule (nearest ≤ 0.6)",
            REFERENCE,
            modelled(|g| g.modelled_old_0_6),
            report
                .galleries
                .iter()
                .filter_map(|g| {
                    g.measured_old_0_6
                        .map(|r| (g.templates as f64, lifted(r.rate)))
                })
                .collect::<Vec<_>>(),
        ),
        (
            "shipped rule (≤ 0.34, margin 0.05)",
            OURS,
            modelled(|g| g.modelled_shipped),
            report
                .galleries
                .iter()
                .filter_map(|g| {
                    g.measured_shipped
                        .map(|r| (g.templates as f64, lifted(r.rate)))
                })
                .collect::<Vec<_>>(),
        ),
    ] {
        chart
            .draw_series(LineSeries::new(model, colour.stroke_width(1)))
            .map_err(err)?
            .label(format!("{label}: modelled"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
        chart
            .draw_series(
                measured
                    .into_iter()
                    .map(|p| Circle::new(p, 4, colour.filled())),
            )
            .map_err(err)?
            .label(format!("{label}: measured"))
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let mut chart = ChartBuilder::on(&right)
        .caption(
            format!("1:1 — error rates against the threshold ({verify_distance} shipped)"),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.3f64..0.6, (floor..1.0f64).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("distance threshold (same person if distance ≤ threshold)")
        .y_desc("rate")
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .draw()
        .map_err(err)?;
    let at = f64::from(verify_distance);
    chart
        .draw_series(LineSeries::new(
            [(at, floor), (at, 1.0)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
    type Pick = fn(&crate::policy::ThresholdRow) -> f64;
    let curves: [(&str, RGBColor, Pick); 3] = [
        ("FAR per comparison (held-out strangers)", REFERENCE, |r| {
            r.far_held_out.rate
        }),
        ("FRR, one photo enrolled", TARGET, |r| r.frr_one_photo.rate),
        ("FRR, best of 4 photos enrolled", OURS, |r| {
            r.frr_best_of_templates.rate
        }),
    ];
    for (label, colour, pick) in curves {
        let pts: Vec<(f64, f64)> = report
            .thresholds
            .iter()
            .map(|r| (f64::from(r.threshold), lifted(pick(r))))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
