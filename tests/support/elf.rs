//! The section headers of a 64-bit little-endian ELF file: enough for tests
//! to check how a binary was linked, without an ELF crate.

/// One section: its name, address and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub addr: u64,
    pub size: u64,
}

fn u16_at(bytes: &[u8], at: usize) -> usize {
    u16::from_le_bytes(bytes[at..at + 2].try_into().expect("two bytes")).into()
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes")) as usize
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// The sections of the ELF file `bytes`, in header order.
///
/// Panics on anything but a 64-bit little-endian ELF file: a test that
/// reads the wrong file should fail loudly.
pub fn sections(bytes: &[u8]) -> Vec<Section> {
    assert!(
        bytes.starts_with(b"\x7fELF\x02\x01"),
        "not a 64-bit little-endian ELF file"
    );
    let table = u64_at(bytes, 0x28) as usize;
    let (entry, count, names) = (
        u16_at(bytes, 0x3a),
        u16_at(bytes, 0x3c),
        u16_at(bytes, 0x3e),
    );
    let header = |index: usize| table + index * entry;
    let strings = u64_at(bytes, header(names) + 0x18) as usize;
    (0..count)
        .map(|index| {
            let at = header(index);
            let start = strings + u32_at(bytes, at);
            let len = bytes[start..]
                .iter()
                .position(|&b| b == 0)
                .expect("a terminated name");
            Section {
                name: String::from_utf8_lossy(&bytes[start..start + len]).into_owned(),
                addr: u64_at(bytes, at + 0x10),
                size: u64_at(bytes, at + 0x20),
            }
        })
        .collect()
}

/// Asserts that `binary` holds the code `mcp serve` runs in a `.text.hot`
/// section placed before `.text`, unless the build opted out.
pub fn assert_hot_text_layout(binary: &std::path::Path) {
    if !cfg!(target_os = "linux") || option_env!("RUSTCHAIN_NO_HOT_TEXT").is_some() {
        return;
    }
    let bytes = std::fs::read(binary).expect("the binary");
    let sections = sections(&bytes);
    let find = |name: &str| sections.iter().find(|s| s.name == name);
    let hot = find(".text.hot").unwrap_or_else(|| panic!("no .text.hot in {}", binary.display()));
    let text = find(".text").expect("a .text section");
    assert!(
        hot.size >= 64 * 1024,
        "the hot section holds only {} bytes",
        hot.size
    );
    assert!(
        hot.addr + hot.size <= text.addr,
        "{hot:?} is not before {text:?}"
    );
}
