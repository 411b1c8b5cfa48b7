//! Property tests: arbitrary and mutated bytes never panic the decoder, and whatever it
//! returns respects the limits.

use std::path::Path;

use faceid_mutate::Mutations;
use faceid_vision::decode::{decode_image, DecodeLimits};
use proptest::prelude::*;

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images");
    ["face_recognition/obama_small.jpg", "pypi/horse.png"]
        .iter()
        .map(|p| std::fs::read(dir.join(p)).expect("fixture"))
        .collect()
}

fn limits() -> DecodeLimits {
    // Small pixel limit so mutated headers claiming big images stay cheap.
    DecodeLimits {
        max_pixels: 1_000_000,
        ..DecodeLimits::default()
    }
}

fn check(bytes: &[u8]) {
    let l = limits();
    if let Ok(img) = decode_image(bytes, &l) {
        assert!(u64::from(img.width()) * u64::from(img.height()) <= l.max_pixels);
        assert_eq!(
            img.as_raw().len(),
            img.width() as usize * img.height() as usize * 3
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Integration tests have no lib.rs for proptest to store regressions next to.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn random_bytes_after_a_magic_never_panic(
        png in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = if png { b"\x89PNG\r\n\x1a\n".to_vec() } else { vec![0xff, 0xd8, 0xff] };
        bytes.extend(tail);
        check(&bytes);
    }

    #[test]
    fn mutated_images_never_panic(
        which in 0usize..2,
        edits in Mutations::new().edits(1..16),
    ) {
        check(&Mutations::new().apply(&seeds()[which], &edits));
    }
}
