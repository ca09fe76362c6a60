//! Links the program with packed relative relocations (`-z
//! pack-relative-relocs`, DT_RELR) on Linux with glibc: the dynamic
//! loader's table of pointers to fix up at start shrinks from megabytes
//! (24 bytes per pointer) to kilobytes, so start-up reads and keeps far
//! fewer pages of the file (D-45). Such a program needs glibc 2.36 or later
//! to run; set `RUSTCHAIN_NO_RELR=1` when building for an older one.
//!
//! The MCP fixture server (`tests/fixtures/mcp-server`) builds with this
//! file too, so it names no file of its own package: Cargo reruns a build
//! script whose source changed anyway, and the `rerun-if-env-changed` line
//! alone keeps it from rerunning whenever any file of the package changes.

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTCHAIN_NO_RELR");
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    let linux_gnu =
        target("CARGO_CFG_TARGET_OS") == "linux" && target("CARGO_CFG_TARGET_ENV") == "gnu";
    if linux_gnu && std::env::var_os("RUSTCHAIN_NO_RELR").is_none() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
