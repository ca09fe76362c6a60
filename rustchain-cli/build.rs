//! How the program is linked on Linux, to start sooner and keep fewer pages
//! of itself in memory. The stock `rustchain` binary uses this file, and so
//! does the MCP fixture (a user's own binary); a user's agent can use it
//! as its own `build.rs`, with `hot-text.ld` beside it.
//!
//! - Packed relative relocations (`-z pack-relative-relocs`, DT_RELR) with
//!   glibc: the dynamic loader's table of pointers to fix up at start
//!   shrinks from megabytes (24 bytes per pointer) to kilobytes, so start-up
//!   reads and keeps far fewer pages of the file (D-45). Such a program
//!   needs glibc 2.36 or later to run; set `RUSTCHAIN_NO_RELR=1` when
//!   building for an older one.
//! - The code `mcp serve` runs, laid out together (`hot-text.ld`, D-52): the
//!   kernel maps a program's code 64 KiB around each page it runs, so code
//!   spread over the whole `.text` keeps most of it resident; gathered in
//!   one section before `.text`, it keeps about a megabyte. The script only
//!   orders functions (any linker that reads GNU linker scripts with
//!   `INSERT`: lld, rustc's default on x86-64 Linux, and GNU ld); set
//!   `RUSTCHAIN_NO_HOT_TEXT=1` to link without it (mold does not read it).
//!   `benches/hot-text/run.sh` regenerates it from a profile.
//!
//! The MCP fixture builds with this file (`build =` in its manifest), so it
//! names no file of its own package: Cargo reruns a build script whose
//! source changed anyway (and `include_str!` makes `hot-text.ld` part of
//! that source), and the `rerun-if-env-changed` lines alone keep it from
//! rerunning whenever any file of the package changes.

use std::path::PathBuf;

/// The layout, read at the build script's compile time, so a new layout
/// rebuilds and reruns this script.
const HOT_TEXT: &str = include_str!("hot-text.ld");

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTCHAIN_NO_RELR");
    println!("cargo:rerun-if-env-changed=RUSTCHAIN_NO_HOT_TEXT");
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") != "linux" {
        return;
    }
    if target("CARGO_CFG_TARGET_ENV") == "gnu" && std::env::var_os("RUSTCHAIN_NO_RELR").is_none() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if std::env::var_os("RUSTCHAIN_NO_HOT_TEXT").is_none() {
        let script = PathBuf::from(target("OUT_DIR")).join("hot-text.ld");
        std::fs::write(&script, HOT_TEXT).expect("the build directory is writable");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
}
