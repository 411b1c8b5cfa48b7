use faceid_vision::transform::*;
fn hx(v: f64) -> String {
    format!("{:016x}", v.to_bits())
}
fn main() {
    let parts = [
        [1076.0, 216.0],
        [1034.0, 215.0],
        [929.0, 217.0],
        [968.0, 216.0],
        [999.0, 295.0],
    ];
    let t: [[f64; 2]; 5] = [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ];
    let inv = 1.0 / 1.5;
    let from: Vec<DPoint> = t
        .iter()
        .map(|p| [(p[0] + 0.25) * inv * 150.0, (p[1] + 0.25) * inv * 150.0])
        .collect();
    let tf = find_similarity_transform(&from, &parts);
    println!(
        "m {} {} {} {} b {} {}",
        hx(tf.m[0][0]),
        hx(tf.m[0][1]),
        hx(tf.m[1][0]),
        hx(tf.m[1][1]),
        hx(tf.b[0]),
        hx(tf.b[1])
    );
    let c = tf.apply([75.0, 75.0]);
    println!("c {} {}", hx(c[0]), hx(c[1]));
}
