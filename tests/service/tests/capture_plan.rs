//! The server's answer window is built on the page's capture plan: `faceid_core::capture`
//! is the Rust twin of `web/js/schedule.js`. Here the page's own `planCapture` runs (in
//! node, as the browser test does) for every step count, frame budget and light phase, and
//! its frames, first and last capture and total time must be the twin's.

use faceid_core::capture::CapturePlan;
use faceid_service_tests::repo;
use serde_json::Value;

#[test]
fn the_rust_plan_is_the_pages_plan() {
    let schedule = repo().join("web/js/schedule.js");
    let script = format!(
        r#"
        const plan = await import({path});
        const out = [];
        for (let n = 1; n <= 4; n++) {{
          for (let max = 3; max <= 16; max++) {{
            for (const phase of [0, 1, 9, 12]) {{
              const steps = Array.from({{ length: n }}, (_, i) => ["left", "up", "right", "down"][i]);
              const p = plan.planCapture(steps, {{ minFrames: 3, maxFrames: max, phaseFrames: phase }});
              const caps = p.events.filter((e) => e.kind === "capture").map((e) => e.t);
              out.push({{ n, max, phase, frames: p.frames, first: Math.min(...caps), last: Math.max(...caps), total: p.totalMs }});
            }}
          }}
        }}
        console.log(JSON.stringify(out));
        "#,
        path = serde_json::to_string(&format!("file://{}", schedule.display())).unwrap()
    );
    let out = std::process::Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .output()
        .expect("node (scripts/test-deps.sh installs it; the browser test needs it too)");
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plans: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON from node");
    assert_eq!(plans.len(), 4 * 14 * 4);
    for p in plans {
        let (n, max) = (p["n"].as_u64().unwrap(), p["max"].as_u64().unwrap());
        let phase = p["phase"].as_u64().unwrap();
        let ours = CapturePlan::new(n as usize, phase as usize, max as usize);
        let theirs = (
            p["frames"].as_u64().unwrap() as usize,
            p["first"].as_u64().unwrap(),
            p["last"].as_u64().unwrap(),
            p["total"].as_u64().unwrap(),
        );
        assert_eq!(
            (
                ours.total_frames(),
                ours.first_capture_ms,
                ours.last_capture_ms,
                ours.total_ms
            ),
            theirs,
            "{n} steps, at most {max} frames, {phase} in the light phase"
        );
    }
}
