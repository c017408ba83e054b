//! Writing tar headers byte by byte, so tests can produce names the `tar`
//! crate's safe setters refuse (`..`, absolute paths).

use std::io::Write;

pub const FILE: u8 = b'0';
pub const HARDLINK: u8 = b'1';
pub const SYMLINK: u8 = b'2';
pub const CHAR: u8 = b'3';
pub const DIR: u8 = b'5';

#[derive(Default)]
pub struct RawTar {
    pub bytes: Vec<u8>,
}

fn octal(field: &mut [u8], value: u64) {
    let s = format!("{:0width$o}\0", value, width = field.len() - 1);
    field.copy_from_slice(s.as_bytes());
}

impl RawTar {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one entry: `link` is the symlink target or hardlink source.
    pub fn entry(&mut self, name: &str, kind: u8, data: &[u8], link: &str) -> &mut Self {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], if kind == DIR { 0o755 } else { 0o644 });
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], data.len() as u64);
        octal(&mut h[136..148], 1_700_000_000);
        h[156] = kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        octal(&mut h[329..337], 0);
        octal(&mut h[337..345], 0);
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        let s = format!("{:06o}\0 ", sum);
        h[148..156].copy_from_slice(s.as_bytes());
        self.bytes.extend_from_slice(&h);
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(name, FILE, data, "")
    }

    /// Appends an entry whose name (any length) is carried in a PAX header.
    pub fn pax_entry(&mut self, name: &str, kind: u8, data: &[u8], link: &str) -> &mut Self {
        let mut records = pax_record("path", name);
        if link.len() > 100 {
            records.extend(pax_record("linkpath", link));
        }
        self.entry("PaxHeader", b'x', &records, "");
        let short_link = if link.len() > 100 { "x" } else { link };
        self.entry("pax-named", kind, data, short_link)
    }

    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = self.bytes.clone();
        out.extend_from_slice(&[0u8; 1024]);
        out
    }
}

/// One PAX record: "LEN KEY=VALUE\n", LEN counting the whole record.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}
