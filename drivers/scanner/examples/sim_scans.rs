//! Writes the simulator's raw scans (PNG) and what the pipeline makes of them (JPEG or PNG,
//! and thumbnail) into a folder, to look at: `cargo run -p scanner --example sim_scans -- DIR`.
//! With `DIR FILE KIND DPI` it runs the pipeline on an image file instead (PNG, PNM, JPEG).

use scanner::{Kind, RawPage, pipeline, sim};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().cloned().unwrap_or_else(|| ".".into());
    let inputs: Vec<(Kind, image::DynamicImage, u32)> = if args.len() == 4 {
        let image = image::open(&args[1]).expect("an image file");
        let kind: Kind = args[2].parse().expect("a kind");
        vec![(kind, image, args[3].parse().expect("dpi"))]
    } else {
        Kind::ALL
            .into_iter()
            .map(|k| (k, sim::render(k, k.dpi(), 1), k.dpi()))
            .collect()
    };
    for (kind, raw, dpi) in inputs {
        let png = pipeline::encode_png(&raw).expect("png");
        std::fs::write(format!("{dir}/{kind}-raw.png"), &png).expect("write");
        let page = RawPage {
            number: 1,
            pnm: pipeline::encode_pnm(&raw),
            dpi,
        };
        let p = pipeline::process(&page, kind).expect("pipeline");
        std::fs::write(format!("{dir}/{kind}.{}", p.extension()), &p.bytes).expect("write");
        std::fs::write(format!("{dir}/{kind}-thumb.jpg"), &p.thumbnail).expect("write");
        println!(
            "{kind}: {} bytes {} (q{:?}), {}x{}, sha256 {}",
            p.bytes.len(),
            p.content_type(),
            p.quality,
            p.width,
            p.height,
            p.sha256
        );
    }
}
