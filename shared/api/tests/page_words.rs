//! Every reason a login can be refused with has words on the web page
//! (`LOGIN_REASONS` in web/js/messages.js): a code without them would show the server's
//! terse message instead.

use faceid_core::capture::TimingFailure;
use faceid_core::liveness::LivenessFailure;
use faceid_core::screen_light::LightFailure;

/// Every liveness failure; the match makes a new variant a compile error here until it is
/// listed (and worded on the page).
fn liveness_failures() -> Vec<LivenessFailure> {
    use LivenessFailure::*;
    let all = vec![
        TooFewFrames,
        TooManyFrames,
        FaceCountInFrame,
        DifferentPeople,
        NoMotion,
        NoHeadTurn,
        WrongTurnOrder,
        FlatFace,
        NoParallax,
        RuledSurface,
    ];
    for f in &all {
        match f {
            TooFewFrames | TooManyFrames | FaceCountInFrame | DifferentPeople | NoMotion
            | NoHeadTurn | WrongTurnOrder | FlatFace | NoParallax | RuledSurface => {}
        }
    }
    all
}

#[test]
fn every_refusal_reason_has_page_words() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/js/messages.js");
    let js = std::fs::read_to_string(path).expect("web/js/messages.js");
    let start = js.find("const LOGIN_REASONS = {").expect("LOGIN_REASONS");
    let end = start + js[start..].find("\n};").expect("end of LOGIN_REASONS");
    let table = &js[start..end];
    let mut codes: Vec<String> = liveness_failures()
        .into_iter()
        .map(|f| format!("liveness_{}", f.code()))
        .collect();
    for f in [TimingFailure::TooFast, TimingFailure::TooSlow] {
        codes.push(format!("liveness_{}", f.code()));
    }
    for f in LightFailure::ALL {
        codes.push(format!("liveness_{}", f.code()));
    }
    codes.extend(
        [
            "liveness_frames_seen",
            "challenge_expired",
            "challenge_used",
            "challenge_unknown",
            "no_match",
            "no_face",
            "several_faces",
            "identification_unavailable",
        ]
        .map(String::from),
    );
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !table.contains(&format!("\n  {c}: ")))
        .collect();
    assert!(missing.is_empty(), "no page words for {missing:?}");
}
