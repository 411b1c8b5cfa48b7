use faceid_vision::chip::*;
use faceid_vision::Point;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (w, h): (u32, u32) = (a[2].parse().unwrap(), a[3].parse().unwrap());
    let img = image::RgbImage::from_raw(w, h, std::fs::read(&a[1]).unwrap()).unwrap();
    let n: usize = a[4].parse().unwrap();
    let v: Vec<i64> = a[5..5 + n * 10].iter().map(|s| s.parse().unwrap()).collect();
    let dets: Vec<ChipDetails> = (0..n).map(|f| { let p: [Point; 5] = std::array::from_fn(|i| Point { x: v[f*10+2*i], y: v[f*10+2*i+1] }); get_face_chip_details(&p, 150, 0.25) }).collect();
    for (f, c) in extract_image_chips(&img, &dets).iter().enumerate() { std::fs::write(format!("{}_{f}.rgb", a[5 + n * 10]), c.as_raw()).unwrap(); }
}
