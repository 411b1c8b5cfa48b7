//! `Gallery::nearest` gives the naive search's answer on a 100k-template gallery
//! (issue 7: "identical results to a naive search"). Timing lives in the bench, not here.

use faceid_bench::search::{agrees, naive_nearest, probe_near, synthetic_gallery, SplitMix64};
use faceid_core::matching::Gallery;

#[test]
fn nearest_equals_naive_search_on_100k_templates() {
    let s = synthetic_gallery(100_000, 2024);
    assert_eq!(s.gallery.len(), 100_000);
    let mut rng = SplitMix64::new(9);
    // Genuine probes (near a template, including the first and last rows, where a
    // chunked or parallel scan has its edges) and impostors.
    let targets = [
        Some(0),
        Some(99_999),
        Some(50_000),
        Some(12_345),
        Some(77_777),
        None,
        None,
        None,
    ];
    for target in targets {
        let probe = probe_near(&s.rows, target, &mut rng);
        let m = s.gallery.nearest(&probe);
        assert!(
            agrees(&s.rows, &s.faces, &probe, m.as_ref()),
            "target {target:?}: gallery {m:?}, naive {:?}",
            naive_nearest(&s.rows, &probe)
        );
        if let Some(t) = target {
            assert_eq!(m.map(|m| m.face_id), Some(s.faces[t]));
        }
    }
}

#[test]
fn ties_go_to_the_first_enrolled_template() {
    // The same descriptor enrolled at both ends of a large gallery: the first wins, as
    // in a naive loop with a strict `<`.
    let mut s = synthetic_gallery(40_000, 5);
    let dup = s.rows[10].clone();
    let user = faceid_core::UserId::parse("late").unwrap();
    let late = faceid_core::FaceId::derived_from("late");
    s.gallery.push(user, late, &dup);
    let m = s.gallery.nearest(&dup).unwrap();
    assert_eq!(m.face_id, s.faces[10]);
    assert_eq!(m.distance, 0.0);
    assert!(Gallery::new().nearest(&dup).is_none());
}
