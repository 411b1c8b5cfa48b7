//! `faceid_vision::pyramid` against dlib 20.0.1 (the reference build): sizes, coordinate
//! mappings and pixels. Expected values were produced by dlib's own Python bindings
//! (`dlib.pyramid_down(N)`, `dlib.resize_image`) or derived by hand from dlib's formulas
//! (noted per test).

use faceid_vision::pyramid::{
    pyramid_down_6, pyramid_up, pyramid_up_size, resize_bilinear_f32_within, resize_bilinear_rgb,
    DPoint, DRect, PlaneWindow, PyramidDown2, PyramidDown6, PyramidMapping, TiledPyramid,
};
use faceid_vision::Rect;
use image::RgbImage;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Deterministic test image (same formula as the script that ran dlib).
fn synth(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = |c: u32| ((x * 37 + y * 91 + c * 53 + (x * y) % 7 * 11) % 256) as u8;
        image::Rgb([v(0), v(1), v(2)])
    })
}

fn fixture(rel: &str) -> RgbImage {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/images")
        .join(rel);
    image::open(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .to_rgb8()
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

const DOWN6_7X5: [u8; 60] = [
    0, 53, 106, 55, 108, 161, 111, 164, 217, 166, 219, 144, 222, 19, 72, 121, 174, 142, 156, 166,
    134, 191, 73, 126, 72, 125, 178, 149, 117, 170, 72, 125, 92, 128, 139, 106, 134, 187, 69, 182,
    64, 117, 85, 53, 106, 108, 161, 214, 191, 244, 41, 18, 71, 124, 62, 115, 168, 107, 160, 213,
];
const UP_7X5: [u8; 528] = [
    0, 53, 106, 14, 67, 120, 29, 82, 135, 44, 97, 150, 59, 112, 165, 74, 127, 180, 88, 141, 194,
    103, 156, 209, 118, 171, 224, 133, 186, 239, 148, 201, 254, 162, 215, 166, 177, 230, 78, 192,
    194, 42, 207, 106, 57, 222, 19, 72, 36, 89, 142, 52, 105, 158, 69, 122, 175, 86, 139, 171, 102,
    155, 147, 119, 172, 122, 135, 147, 139, 152, 123, 155, 148, 119, 172, 124, 136, 189, 99, 152,
    205, 116, 169, 160, 132, 185, 115, 149, 171, 101, 165, 126, 118, 182, 81, 134, 72, 125, 178,
    91, 144, 197, 109, 162, 215, 127, 180, 192, 146, 199, 129, 164, 217, 65, 182, 153, 83, 201, 90,
    102, 178, 67, 120, 114, 85, 138, 51, 104, 157, 69, 122, 155, 87, 140, 152, 106, 148, 160, 124,
    146, 179, 142, 144, 197, 109, 162, 164, 129, 161, 184, 149, 161, 204, 159, 171, 183, 158, 191,
    121, 158, 211, 59, 178, 149, 79, 198, 87, 99, 174, 63, 116, 106, 77, 130, 38, 91, 144, 58, 111,
    164, 78, 131, 184, 98, 141, 194, 118, 141, 194, 139, 140, 193, 145, 198, 98, 167, 159, 119,
    189, 119, 141, 180, 110, 143, 140, 132, 123, 101, 154, 104, 123, 135, 126, 144, 115, 148, 137,
    108, 161, 99, 111, 164, 61, 114, 167, 83, 136, 189, 105, 158, 211, 127, 149, 202, 149, 109,
    162, 171, 70, 123, 182, 235, 32, 205, 156, 55, 229, 77, 79, 201, 49, 102, 122, 73, 126, 44, 97,
    150, 67, 120, 173, 91, 144, 197, 99, 152, 205, 92, 145, 198, 85, 138, 191, 108, 161, 214, 132,
    185, 238, 155, 157, 210, 179, 78, 131, 203, 0, 53, 116, 169, 68, 141, 132, 93, 166, 96, 119,
    161, 91, 124, 125, 116, 108, 89, 142, 92, 102, 155, 105, 115, 168, 118, 125, 157, 128, 132,
    123, 135, 139, 89, 142, 152, 102, 155, 165, 115, 168, 163, 104, 157, 148, 68, 121, 132, 31, 85,
    50, 103, 104, 77, 109, 131, 104, 116, 159, 121, 133, 145, 127, 160, 90, 134, 187, 35, 136, 189,
    38, 139, 192, 40, 151, 163, 52, 172, 102, 73, 193, 41, 94, 195, 43, 96, 197, 46, 99, 171, 50,
    103, 116, 57, 110, 62, 63, 116, 35, 88, 141, 64, 117, 149, 92, 145, 158, 118, 171, 132, 141,
    194, 73, 164, 217, 14, 147, 200, 18, 131, 184, 22, 134, 147, 36, 157, 87, 58, 180, 28, 81, 184,
    32, 85, 188, 37, 90, 161, 50, 103, 102, 73, 126, 42, 95, 148, 71, 124, 177, 102, 155, 146, 132,
    185, 116, 154, 207, 86, 166, 219, 57, 178, 231, 28, 135, 188, 46, 92, 145, 65, 76, 109, 80, 89,
    80, 92, 101, 51, 104, 119, 70, 123, 137, 88, 141, 132, 103, 156, 103, 115, 168, 74, 127, 180,
    108, 161, 214, 140, 193, 144, 172, 225, 74, 189, 242, 39, 191, 244, 41, 193, 246, 43, 122, 175,
    75, 52, 105, 107, 18, 71, 124, 20, 73, 126, 22, 75, 128, 54, 107, 160, 86, 139, 192, 103, 156,
    209, 105, 158, 211, 106, 159, 212,
];
const F32_13X11_TO_10X9: [u32; 90] = [
    3225419776, 1082230298, 1093764632, 1100031122, 1103726105, 1090219424, 1076737756, 1092366535,
    1099332072, 1103027054, 1096024064, 1100936143, 1102808601, 1077636536, 1095337498, 1097784172,
    1101491640, 1101766269, 1093664768, 1093252828, 1093889463, 1099644147, 1096635734, 1100368165,
    1100730172, 1094963004, 1101454190, 1095786889, 1099943742, 1102540215, 1091754861, 1101703851,
    1093265309, 1088871278, 1096361106, 1092141836, 1101416740, 1099631659, 1087722838, 1098945097,
    1103850935, 1076737757, 1085425956, 1100705207, 1102203173, 1103701139, 1075539382, 1084826774,
    1098358395, 1102053376, 1084452279, 1100393131, 1103264233, 1101341842, 1099419451, 1082479960,
    1099900050, 1102771153, 1102446592, 1103719863, 1101716334, 1093839532, 1100617826, 1091642514,
    1099519318, 1101841164, 1092166802, 1099781463, 1096361106, 1098458258, 1092803438, 1094451201,
    1102296796, 1103588791, 1090743736, 1094288920, 1092091904, 1101117150, 1103850934, 1086249838,
    1099581733, 1100180917, 1027804160, 1092316599, 1094763278, 1099981190, 1105049307, 1062157544,
    1088022431, 1091717413,
];

#[test]
fn pyramid_down_6_sizes() {
    // floor(5·n/6) per side (dlib `(N-1)*n/N` in integers).
    assert_eq!(PyramidDown6::output_size(640, 480), (533, 400));
    assert_eq!(PyramidDown6::output_size(6, 6), (5, 5));
    assert_eq!(PyramidDown6::output_size(5, 1), (4, 0));
    assert_eq!(PyramidDown6::output_size(1, 1), (0, 0));
    assert_eq!(pyramid_down_6(&synth(7, 5)).dimensions(), (5, 4));
}

#[test]
fn pyramid_up_sizes() {
    // pyramid_down<2>::rect_up of [0, w-1]×[0, h-1] = (2.5, 1.5)-(2w+0.5, 2h-0.5), rounded
    // with lround → right 2w+1, bottom 2h → (2w+2) × (2h+1).
    assert_eq!(pyramid_up_size(640, 480), (1282, 961));
    assert_eq!(pyramid_up_size(7, 5), (16, 11));
    assert_eq!(pyramid_up_size(1, 1), (4, 3));
    assert_eq!(pyramid_up_size(0, 10), (0, 0));
    assert_eq!(pyramid_up(&synth(3, 2)).dimensions(), (8, 5));
}

#[test]
fn pyramid_down_6_pixels_match_dlib() {
    let out = pyramid_down_6(&synth(7, 5));
    assert_eq!(out.as_raw().as_slice(), &DOWN6_7X5[..]);
}

#[test]
fn pyramid_up_pixels_match_dlib() {
    let out = pyramid_up(&synth(7, 5));
    assert_eq!(out.as_raw().as_slice(), &UP_7X5[..]);
}

#[test]
fn resize_first_pixels_by_hand() {
    // 3×2 → 2×1: x_scale = 2, y_scale = 1/1 = 1. Row 0: y = 0, top 0, bottom 1, tb 0.
    // Column 0 is in dlib's float loop (x = 0, right 1 < 3): value = tl exactly.
    // Column 1: the float group's lane 3 has right 7 ≥ 3 → double tail, x = 2: left 2,
    // right min(3, 2) = 2, lr 0 → value = in[0][2].
    let img = synth(3, 2);
    let out = resize_bilinear_rgb(&img, 2, 1);
    assert_eq!(out.get_pixel(0, 0), img.get_pixel(0, 0));
    assert_eq!(out.get_pixel(1, 0), img.get_pixel(2, 0));
    // 1×1 → 4×3 (pyramid_up of a single pixel): every output pixel is the input pixel.
    let one = RgbImage::from_pixel(1, 1, image::Rgb([7, 200, 255]));
    let up = pyramid_up(&one);
    assert!(up.pixels().all(|p| p.0 == [7, 200, 255]));
}

#[test]
fn resize_truncates_like_dlib() {
    // 2×1 [0, 255] → 3×1: middle column x = 0.5 in float: 0.5·0 + 0.5·255 = 127.5 → 127
    // (dlib truncates with _mm_cvttps_epi32, it does not round).
    let img = RgbImage::from_fn(2, 1, |x, _| image::Rgb([if x == 0 { 0 } else { 255 }; 3]));
    let out = resize_bilinear_rgb(&img, 3, 1);
    assert_eq!(out.get_pixel(1, 0).0, [127, 127, 127]);
    assert_eq!(out.get_pixel(2, 0).0, [255, 255, 255]);
}

#[test]
fn resize_f32_matches_dlib() {
    let src = synth(13, 11);
    let mut buf: Vec<f32> = src
        .pixels()
        .map(|p| f32::from(p.0[0]) / 7.0 - 3.0)
        .collect();
    let n = buf.len();
    buf.resize(n + 10 * 9, f32::NAN);
    let ok = resize_bilinear_f32_within(
        &mut buf,
        PlaneWindow {
            offset: 0,
            stride: 13,
            width: 13,
            height: 11,
        },
        PlaneWindow {
            offset: n,
            stride: 10,
            width: 10,
            height: 9,
        },
    );
    assert!(ok);
    let got: Vec<u32> = buf[n..].iter().map(|v| v.to_bits()).collect();
    assert_eq!(got, F32_13X11_TO_10X9);
}

#[test]
fn resize_f32_rejects_windows_outside_buffer() {
    let mut buf = vec![0.0f32; 10];
    let src = PlaneWindow {
        offset: 0,
        stride: 5,
        width: 5,
        height: 2,
    };
    let dst = PlaneWindow {
        offset: 5,
        stride: 5,
        width: 5,
        height: 2,
    };
    assert!(!resize_bilinear_f32_within(&mut buf, src, dst));
}

#[test]
fn real_images_match_dlib_hashes() {
    // SHA-256 of dlib's outputs on the committed PNG fixtures (PNG: decoding is exact).
    let cases = [
        (
            "pypi/astronaut.png",
            "6b96038ee6e4c469d818ead5be50979bc87c15ace293cfa0af2193b24e8f99ec",
            "d6ad66af529c5cfbb2ed6eb97f6d8d7f68fdd5603c66e586a5a04dcacdbec00e",
            "87c6943b40b11ec391c92452af1d4cd58ccf4eb2adfe4904ca58203854b7b6ee",
        ),
        (
            "pypi/coffee.png",
            "68c24b7e7a156d29aa6d8c2467432242f78cf42943616397335006f1f2a85829",
            "b81b461c6fa1589048960515c331fc220a762550d2a1aecffc6e1554c6459a57",
            "a5e69dce35df4c051db8a4bde2c7e8fb7d7d48f004b8e314e29957ac0f178652",
        ),
    ];
    for (file, down1, down2, up) in cases {
        let img = fixture(file);
        let d1 = pyramid_down_6(&img);
        assert_eq!(sha256_hex(&d1), down1, "{file} pyramid_down<6>");
        assert_eq!(
            sha256_hex(&pyramid_down_6(&d1)),
            down2,
            "{file} pyramid_down<6> ×2"
        );
        assert_eq!(sha256_hex(&pyramid_up(&img)), up, "{file} pyramid_up");
    }
}

#[test]
fn point_mappings_match_dlib() {
    let p = DPoint::new(10.5, 3.25);
    let q = DPoint::new(-7.0, 2.5);
    let d6 = PyramidDown6;
    assert_eq!(d6.point_down(p), DPoint::new(8.5, 2.4583333333333335));
    assert_eq!(d6.point_up(p), DPoint::new(12.9, 4.2));
    assert_eq!(d6.point_up_n(p, 3), DPoint::new(19.236, 6.707999999999999));
    assert_eq!(
        d6.point_down_n(p, 3),
        DPoint::new(5.444444444444445, 1.2488425925925928)
    );
    assert_eq!(
        d6.point_down(q),
        DPoint::new(-6.083333333333333, 1.8333333333333335)
    );
    assert_eq!(
        d6.point_up_n(q, 3),
        DPoint::new(-11.003999999999996, 5.411999999999999)
    );
    assert_eq!(
        d6.point_down_n(q, 3),
        DPoint::new(-4.68287037037037, 0.8148148148148149)
    );
    let d2 = PyramidDown2;
    assert_eq!(d2.point_down(p), DPoint::new(4.0, 0.875));
    assert_eq!(d2.point_up(p), DPoint::new(23.5, 8.0));
    assert_eq!(d2.point_up_n(q, 3), DPoint::new(-38.5, 30.5));
    assert_eq!(d2.point_down_n(q, 3), DPoint::new(-3.0625, -1.0));
}

#[test]
fn rect_mappings_match_dlib() {
    // dlib (Python) rect_down/rect_up of rectangle(10, 20, 110, 140); the Python binding
    // rounds rectangle corners with floor(v + 0.5), equal to lround for these values.
    let r = DRect::from(Rect::new(10, 20, 110, 140));
    assert_eq!(
        PyramidDown2.rect_up(r, 1).to_rect(),
        Rect::new(23, 42, 223, 282)
    );
    assert_eq!(
        PyramidDown2.rect_down(r, 1).to_rect(),
        Rect::new(4, 9, 54, 69)
    );
    assert_eq!(
        PyramidDown2.rect_down(r, 2).to_rect(),
        Rect::new(1, 4, 26, 34)
    );
    assert_eq!(
        PyramidDown6.rect_up(r, 1).to_rect(),
        Rect::new(12, 24, 132, 168)
    );
    assert_eq!(
        PyramidDown6.rect_down(r, 2).to_rect(),
        Rect::new(6, 13, 76, 97)
    );
    assert_eq!(
        PyramidDown6.rect_up(r, 2).to_rect(),
        Rect::new(15, 29, 159, 202)
    );
}

#[test]
fn drect_rounding_is_lround() {
    // std::lround: halves away from zero.
    let r = DRect::new(2.5, -2.5, 0.49999, -0.5).to_rect();
    assert_eq!(r, Rect::new(3, -3, 0, -1));
    assert_eq!(
        DPoint::new(-2.5, 2.5).to_point(),
        faceid_vision::Point { x: -2, y: 3 }
    );
}

#[test]
fn tiled_pyramid_layout_by_hand() {
    // dlib compute_tiled_image_pyramid_details for a 100×80 image, padding 10, outer
    // padding 11 (input_rgb_image_pyramid's defaults), worked by hand:
    // levels (w×h) 100×80, 83×66, 69×55, 57×45, 47×37, 39×30, 32×25, 26×20, 21×16, 17×13,
    // 14×10, 11×8, 9×6, 7×5 (the next, 5×4, is below the minimum height 5): 14 levels.
    // total_height = 416 + 14·10 - 20 = 536. The first column stops before level 5
    // (39 ≤ 100 - 47 - 10 and 2·(333 - 80) ≥ 536 - 80), height 333 - 10 = 323, so the
    // tiled image is (100 + 22) × (323 + 22). Levels 5.. go right-aligned, bottom-up,
    // starting from y = 344 - 10 = 334 (the
    // first column's next y was 297 + 37 + 10).
    let t = TiledPyramid::down6(100, 80, 10, 11);
    assert_eq!((t.width, t.height), (122, 345));
    assert_eq!(t.rects.len(), 14);
    assert_eq!(t.rects[0], Rect::new(11, 11, 110, 90));
    assert_eq!(t.rects[1], Rect::new(11, 101, 93, 166));
    assert_eq!(t.rects[4], Rect::new(11, 297, 57, 333));
    assert_eq!(t.rects[5], Rect::new(72, 304, 110, 333));
    assert_eq!(t.rects[6], Rect::new(79, 269, 110, 293));
    assert_eq!(t.rects[13], Rect::new(104, 121, 110, 125));
    // Empty input: no levels, empty tiled image.
    let e = TiledPyramid::down6(0, 80, 10, 11);
    assert!(e.rects.is_empty() && e.width == 0 && e.height == 0);
}

#[test]
fn tiled_pyramid_maps_back_to_image() {
    let t = TiledPyramid::down6(100, 80, 10, 11);
    // A box on level 0 maps back by removing the tile origin only.
    let r = DRect::new(20.0, 30.0, 40.0, 50.0);
    assert_eq!(t.to_image(r), DRect::new(9.0, 19.0, 29.0, 39.0));
    // On level 1 (origin (11, 101)) the local box is scaled up once: p·1.2 + 0.3.
    let r = DRect::new(21.0, 111.0, 31.0, 121.0);
    let up = t.to_image(r);
    assert_eq!(
        up,
        DRect::new(
            10.0 * 1.2 + 0.3,
            10.0 * 1.2 + 0.3,
            20.0 * 1.2 + 0.3,
            20.0 * 1.2 + 0.3
        )
    );
    // And image_to_tiled_pyramid with scale 5/6 picks level 1 and inverts the mapping up
    // to rounding.
    let back = t.from_image(5.0 / 6.0, up);
    assert!((back.left - 21.0).abs() < 1e-9 && (back.bottom - 121.0).abs() < 1e-9);
}
