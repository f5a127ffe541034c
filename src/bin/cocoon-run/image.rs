//! `cocoon-run image import|ls|rm|gc`: the image store from the shell.

use cocoon::image::{ArchiveFormat, ImageStore, ImportOptions};

use crate::args::{ImageCmd, ImageFormatArg};
use crate::Failure;

fn open(dir: &std::path::Path) -> Result<ImageStore, Failure> {
    ImageStore::open(dir).map_err(|e| Failure::Cocoon(e.to_string()))
}

pub fn run(c: &ImageCmd) -> Result<u8, Failure> {
    let fail = |e: cocoon::image::ImageError| Failure::Cocoon(e.to_string());
    match c {
        ImageCmd::Import(a) => {
            let store = open(&a.store.image_store)?;
            let mut opts = ImportOptions::new();
            if let Some(n) = &a.name {
                opts = opts.name(n);
            }
            if a.no_devices {
                opts = opts.device_nodes(false);
            }
            let format = a.format.map(|f| match f {
                ImageFormatArg::OciLayout => ArchiveFormat::OciLayout,
                ImageFormatArg::OciArchive => ArchiveFormat::OciArchive,
                ImageFormatArg::DockerArchive => ArchiveFormat::DockerArchive,
            });
            let info = store.import(&a.path, format, &opts).map_err(fail)?;
            for n in &info.names {
                println!("{n}");
            }
            if info.names.is_empty() {
                println!("{}", info.manifest_digest);
            }
        }
        ImageCmd::Ls(a) => {
            println!("{:<40} {:<20} IMAGE ID", "NAME", "DIGEST");
            for info in open(&a.image_store)?.list().map_err(fail)? {
                for n in &info.names {
                    println!("{n:<40} {:<20} {}", short(&info.manifest_digest), short(&info.config_digest));
                }
            }
        }
        ImageCmd::Rm(a) => open(&a.store.image_store)?.remove(&a.reference).map_err(fail)?,
        ImageCmd::Gc(a) => {
            let r = open(&a.image_store)?.gc().map_err(fail)?;
            println!("removed {} layers, {} blobs, {} writable layers", r.layers, r.blobs, r.containers);
        }
    }
    Ok(0)
}

/// `sha256:` and the first 12 hex digits.
fn short(d: &str) -> &str {
    &d[..d.len().min(19)]
}
