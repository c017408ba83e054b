//! Pack or unpack a layer from the command line (used by bench/layers.sh):
//!
//!   layer pack DIR OUT [gzip|zstd|none]   prints digest, diffID and size
//!   layer unpack IN DIR                   prints entries and bytes
use hoist_store::layer::{pack_dir_to, unpack, Compression, PackOptions, UnpackOptions};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["pack", dir, out, rest @ ..] => pack(dir, out, rest.first().copied().unwrap_or("gzip")),
        ["unpack", input, dir] => unpack_to(input, dir),
        _ => Err("usage: layer pack DIR OUT [gzip|zstd|none] | layer unpack IN DIR".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn pack(dir: &str, out: &str, compression: &str) -> Result<(), Box<dyn std::error::Error>> {
    let opts = PackOptions {
        compression: compression.parse::<Compression>()?,
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.parse().ok()),
        overlay_whiteouts: false,
    };
    let out = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let layer = pack_dir_to(Path::new(dir), &opts, out)?;
    println!(
        "digest {}\ndiff_id {}\nsize {}\ntar_size {}",
        layer.digest, layer.diff_id, layer.size, layer.tar_size
    );
    Ok(())
}

fn unpack_to(input: &str, dir: &str) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let stats = unpack(
        File::open(input)?,
        Path::new(dir),
        &UnpackOptions::default(),
    )?;
    println!("entries {}\nbytes {}", stats.entries, stats.bytes);
    Ok(())
}
