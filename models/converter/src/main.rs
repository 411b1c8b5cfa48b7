//! `faceid-model-converter --resnet <dat> --mmod <dat> --out <dir>`: writes
//! `dlib_face_recognition_resnet_model_v1.onnx` and `mmod_human_face_detector.onnx`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use faceid_model_converter::{mmod_onnx, resnet_onnx, sha256_hex, MMOD_ONNX, RESNET_ONNX};

const USAGE: &str =
    "usage: faceid-model-converter --resnet <dlib_face_recognition_resnet_model_v1.dat> \
                     --mmod <mmod_human_face_detector.dat> --out <dir>";

fn main() -> anyhow::Result<()> {
    let mut resnet = None;
    let mut mmod = None;
    let mut out = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.to_str() {
            Some("--resnet") => &mut resnet,
            Some("--mmod") => &mut mmod,
            Some("--out") => &mut out,
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => bail!("unknown argument {flag:?}\n{USAGE}"),
        };
        *slot = Some(PathBuf::from(args.next().context(USAGE)?));
    }
    let (Some(resnet), Some(mmod), Some(out)) = (resnet, mmod, out) else {
        bail!(USAGE);
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (src, name, f) in [
        (
            &resnet,
            RESNET_ONNX,
            resnet_onnx as fn(&[u8]) -> anyhow::Result<Vec<u8>>,
        ),
        (&mmod, MMOD_ONNX, mmod_onnx),
    ] {
        let dat = std::fs::read(src).with_context(|| format!("reading {}", src.display()))?;
        let onnx = f(&dat).with_context(|| format!("converting {}", src.display()))?;
        let dst = out.join(name);
        std::fs::write(&dst, &onnx).with_context(|| format!("writing {}", dst.display()))?;
        println!(
            "{}  {} ({} bytes)",
            sha256_hex(&onnx),
            dst.display(),
            onnx.len()
        );
    }
    Ok(())
}
