//! Writes the seed corpora, `fuzz/seeds/<target>/`, from the fixture network's valid
//! encodings: `cargo run --release --bin gen_seeds` in `fuzz/` (see docs/FUZZING.md).

use std::{fs, path::Path};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for (target, name, bytes) in greenledger_fuzz::seeds() {
        let dir = root.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(&name), &bytes)?;
        // Every seed passes its own target.
        match target {
            "entry" => greenledger_fuzz::entry(&bytes),
            "bundle" => greenledger_fuzz::bundle(&bytes),
            "http_body" => greenledger_fuzz::http_body(&bytes),
            _ => greenledger_fuzz::sync_message(&bytes),
        }
    }
    println!("seeds written to {}", root.display());
    Ok(())
}
