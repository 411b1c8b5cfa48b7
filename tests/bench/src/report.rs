//! The whole benchmark record (`docs/figures/bench.json`), the comparison table with
//! face_recognition, and the figures drawn from it.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::plots::{self, LatencyRow, RocCurve};
use crate::roc::{Pair, RocSummary, THRESHOLD};
use crate::search::SearchResult;
use crate::stages::{ImageTiming, RssResult};
use crate::timing::Stats;

/// What one implementation measured (ours, or `reference_timing.py`'s output: same shape).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Side {
    #[serde(default)]
    pub model_load: BTreeMap<String, Stats>,
    #[serde(default)]
    pub images: Vec<ImageTiming>,
    #[serde(default)]
    pub rss: Option<RssResult>,
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub logical_cpus: usize,
    /// `/proc/loadavg` before and after the run: other work on the machine skews timings.
    pub loadavg_start: String,
    pub loadavg_end: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PairSet {
    pub summary: RocSummary,
    /// Images our decoder refused (counted as "no face").
    #[serde(default)]
    pub refused_images: Vec<String>,
    pub pairs: Vec<Pair>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub machine: Machine,
    pub notes: Vec<String>,
    pub faceid: Side,
    pub reference: Option<Side>,
    pub search: Vec<SearchResult>,
    pub roc: Vec<PairSet>,
}

pub fn machine(loadavg_start: String) -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    Machine {
        cpu,
        logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        loadavg_start,
        loadavg_end: loadavg(),
    }
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Stage order in tables and the latency figure.
const STAGES: [(&str, &str); 11] = [
    ("decode", "decode JPEG"),
    ("hog_up0", "HOG detect, upsample 0"),
    ("hog_up1", "HOG detect, upsample 1"),
    ("hog_up1_1thread", "HOG upsample 1, 1 thread"),
    ("cnn_up0", "CNN detect, upsample 0"),
    ("cnn_up0_first_call", "CNN first call (plan)"),
    ("landmarks", "5-point landmarks"),
    ("chip", "150x150 chip"),
    ("descriptor", "128-D descriptor"),
    ("end_to_end", "end to end (bytes->desc)"),
    ("", ""),
];

const LOADS: [(&str, &str); 5] = [
    ("load_hog", "load HOG detector"),
    ("load_shape", "load shape predictor"),
    ("load_resnet", "load ResNet descriptor"),
    ("load_mmod", "load MMOD CNN"),
    ("load_pipeline", "load whole pipeline"),
];

fn cell(s: Option<&Stats>) -> String {
    s.map_or("—".into(), |s| {
        format!("{:.2} ({:.2}, {:.2})", s.median_ms, s.p90_ms, s.min_ms)
    })
}

fn ratio(ours: Option<&Stats>, reference: Option<&Stats>) -> String {
    match (ours, reference) {
        (Some(o), Some(r)) if o.median_ms > 0.0 => format!("{:.1}×", r.median_ms / o.median_ms),
        _ => "—".into(),
    }
}

fn find<'a>(side: Option<&'a Side>, image: &str) -> Option<&'a ImageTiming> {
    side?.images.iter().find(|i| i.image == image)
}

/// Markdown tables of everything measured.
pub fn table(r: &Record) -> String {
    let mut o = String::new();
    let refside = r.reference.as_ref();
    let _ = writeln!(
        o,
        "machine: {} ({} logical CPUs); load average at start {}, at end {}",
        r.machine.cpu, r.machine.logical_cpus, r.machine.loadavg_start, r.machine.loadavg_end
    );
    for n in &r.notes {
        let _ = writeln!(o, "note: {n}");
    }
    let _ = writeln!(
        o,
        "\nms: median (p90, min). ratio = face_recognition median / faceid median (>1: faceid faster)."
    );
    for img in &r.faceid.images {
        let theirs = find(refside, &img.image);
        let _ = writeln!(
            o,
            "\n### {} ({}×{}, {} face(s) HOG up1{})\n",
            img.image,
            img.width,
            img.height,
            img.faces,
            theirs.map_or(String::new(), |t| format!(
                "; face_recognition: {}",
                t.faces
            ))
        );
        let _ = writeln!(o, "| stage | faceid ms | face_recognition ms | ratio |");
        let _ = writeln!(o, "|---|---|---|---|");
        for (key, label) in STAGES.iter().filter(|s| !s.0.is_empty()) {
            let ours = img.stages.get(*key);
            let th = theirs.and_then(|t| t.stages.get(*key));
            if ours.is_none() && th.is_none() {
                continue;
            }
            let _ = writeln!(
                o,
                "| {label} | {} | {} | {} |",
                cell(ours),
                cell(th),
                ratio(ours, th)
            );
        }
    }
    let _ = writeln!(o, "\n### model load\n");
    let _ = writeln!(o, "| model | faceid ms | face_recognition ms | ratio |");
    let _ = writeln!(o, "|---|---|---|---|");
    for (key, label) in LOADS {
        let ours = r.faceid.model_load.get(key);
        let th = refside.and_then(|s| s.model_load.get(key));
        let _ = writeln!(
            o,
            "| {label} | {} | {} | {} |",
            cell(ours),
            cell(th),
            ratio(ours, th)
        );
    }
    if let Some(th) = refside.and_then(|s| s.model_load.get("import_face_recognition")) {
        let _ = writeln!(
            o,
            "| `import face_recognition` (loads 4 models incl. 68-point) | — | {} | — |",
            cell(Some(th))
        );
    }
    let rss = |s: Option<&Side>| {
        s.and_then(|s| s.rss.as_ref())
            .and_then(|r| r.peak_rss_mib)
            .map_or("—".into(), |v| format!("{v:.1} MiB"))
    };
    let _ = writeln!(
        o,
        "\npeak RSS after loading and one frame end to end (fresh process): faceid {}, face_recognition {}",
        rss(Some(&r.faceid)),
        rss(refside)
    );
    if !r.search.is_empty() {
        let _ = writeln!(o, "\n### 1:N search (Gallery::nearest, exact)\n");
        let _ = writeln!(o, "| templates | matrix MiB | probes | ms per probe: median (p90, min) | checked vs naive | mismatches |");
        let _ = writeln!(o, "|---|---|---|---|---|---|");
        for s in &r.search {
            let _ = writeln!(
                o,
                "| {} | {:.1} | {} | {:.3} ({:.3}, {:.3}) | {} | {} |",
                s.gallery_size,
                s.matrix_mib,
                s.probes,
                s.per_probe.median_ms,
                s.per_probe.p90_ms,
                s.per_probe.min_ms,
                s.checked,
                s.mismatches
            );
        }
    }
    for set in &r.roc {
        let s = &set.summary;
        let _ = writeln!(
            o,
            "\n### labelled pairs: {} ({} pairs; no face: ours {}, reference {})\n",
            s.source, s.pairs, s.missing_ours, s.missing_reference
        );
        let _ = writeln!(
            o,
            "| | threshold | FAR | FRR | false accepts | false rejects | AUC |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for (who, rates, auc) in [
            ("faceid", &s.ours, s.auc_ours),
            ("reference", &s.reference, s.auc_reference),
        ] {
            for x in rates {
                let _ = writeln!(
                    o,
                    "| {who} | {} | {:.2} % | {:.2} % | {}/{} | {}/{} | {:.4} |",
                    x.threshold,
                    100.0 * x.far,
                    100.0 * x.frr,
                    x.false_accepts,
                    x.impostor,
                    x.false_rejects,
                    x.genuine,
                    auc
                );
            }
        }
        let _ = writeln!(
            o,
            "\ndecisions at 0.6 that differ from the reference: {} ({} among the {} pairs both scored); |distance − reference|: max {:.2e}, mean {:.2e}",
            s.decisions_differ_at_0_6,
            s.decisions_differ_both_scored,
            s.both_scored,
            s.max_abs_distance_diff, s.mean_abs_distance_diff
        );
        for e in &set.refused_images {
            let _ = writeln!(o, "refused by our decoder (counted as no face): {e}");
        }
    }
    o
}

/// Draws `latency.svg`, `search.svg` and `roc.svg` into `dir`.
pub fn figures(r: &Record, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    if let Some(main) = r.faceid.images.first() {
        let theirs = find(r.reference.as_ref(), &main.image);
        let mut rows: Vec<LatencyRow> = STAGES
            .iter()
            .filter(|s| !s.0.is_empty() && s.0 != "cnn_up0_first_call")
            .filter_map(|(key, label)| {
                let ours = main.stages.get(*key).map(|s| s.median_ms);
                let th = theirs.and_then(|t| t.stages.get(*key)).map(|s| s.median_ms);
                (ours.is_some() || th.is_some()).then(|| LatencyRow {
                    label: label.to_string(),
                    ours,
                    reference: th,
                })
            })
            .collect();
        for img in r.faceid.images.iter().skip(1) {
            let th = find(r.reference.as_ref(), &img.image);
            rows.push(LatencyRow {
                label: format!("end to end, {}×{}", img.width, img.height),
                ours: img.stages.get("end_to_end").map(|s| s.median_ms),
                reference: th
                    .and_then(|t| t.stages.get("end_to_end"))
                    .map(|s| s.median_ms),
            });
        }
        let name = Path::new(&main.image)
            .file_name()
            .map_or(main.image.clone(), |n| n.to_string_lossy().into_owned());
        plots::latency(
            &dir.join("latency.svg"),
            &format!(
                "Per-stage latency, {name} ({}×{}), {} CPUs",
                main.width, main.height, r.machine.logical_cpus
            ),
            &rows,
        )?;
    }
    if !r.search.is_empty() {
        let pts: Vec<(usize, f64, f64)> = r
            .search
            .iter()
            .map(|s| (s.gallery_size, s.per_probe.median_ms, s.per_probe.p90_ms))
            .collect();
        plots::search(&dir.join("search.svg"), &pts, 20.0)?;
    }
    if !r.roc.is_empty() {
        let mut curves = Vec::new();
        for (k, set) in r.roc.iter().enumerate() {
            for (who, dashed, pick) in [
                (
                    "faceid",
                    false,
                    (|p: &Pair| p.ours) as fn(&Pair) -> Option<f64>,
                ),
                ("face_recognition", true, |p: &Pair| p.reference),
            ] {
                let scored: Vec<(bool, f64)> = set
                    .pairs
                    .iter()
                    .filter_map(|p| pick(p).map(|d| (p.same, d)))
                    .collect();
                curves.push(RocCurve {
                    label: format!("{who}, {} ({} pairs)", set.summary.source, scored.len()),
                    scored,
                    dashed,
                    color: 2 * k + usize::from(dashed),
                });
            }
        }
        plots::roc(
            &dir.join("roc.svg"),
            "Labelled pairs: faceid (solid) and face_recognition (dashed), first HOG face per image; circles: threshold 0.6",
            &curves,
            THRESHOLD,
        )?;
    }
    Ok(())
}
