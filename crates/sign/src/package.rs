//! The signed package: one ZIP with the document, its signatures and the verification report.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::SignError;

fn bad_name(name: &str, why: &str) -> SignError {
    SignError::new("bad_entry_name", format!("{name:?}: {why}"))
}

/// A name that unpacks to a file in the current folder on every system.
fn check_name(name: &str) -> Result<(), SignError> {
    if name.is_empty() || name.trim() != name {
        return Err(bad_name(name, "empty, or starts or ends with a space"));
    }
    if name.contains("..") || name == "." {
        return Err(bad_name(name, "must not contain \"..\""));
    }
    if name.chars().any(|c| {
        c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
    }) {
        return Err(bad_name(
            name,
            "must not contain path separators, control or reserved characters",
        ));
    }
    if name.len() > 200 {
        return Err(bad_name(name, "longer than 200 bytes"));
    }
    Ok(())
}

/// The signed package: a ZIP holding `entries` (name, bytes) in the given order — typically
/// the document, each signature (`.p7s`) and the verification report (HTML and JSON).
/// Names must be plain file names (no `/`, `\`, `..`, empty or duplicate); timestamps are
/// fixed (1980-01-01), so the same entries always give the same bytes.
pub fn package(entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>, SignError> {
    let mut seen = std::collections::HashSet::new();
    for (name, _) in entries {
        check_name(name)?;
        if !seen.insert(name.to_lowercase()) {
            return Err(bad_name(name, "appears twice"));
        }
    }
    let failed = |e: zip::result::ZipError| {
        SignError::new("crypto_failure", format!("writing the package: {e}"))
    };
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), options).map_err(failed)?;
        zip.write_all(bytes)
            .map_err(|e| SignError::new("crypto_failure", format!("writing the package: {e}")))?;
    }
    Ok(zip.finish().map_err(failed)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn entries(names: &[&str]) -> Vec<(String, Vec<u8>)> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), n.as_bytes().repeat(10)))
            .collect()
    }

    #[test]
    fn round_trips_deterministically() -> Result<(), Box<dyn std::error::Error>> {
        let e = entries(&[
            "document.pdf",
            "document.pdf.p7s",
            "report.html",
            "report.json",
            "Отчёт.txt",
        ]);
        let a = package(&e)?;
        let b = package(&e)?;
        assert_eq!(a, b);
        let mut archive = zip::ZipArchive::new(Cursor::new(a))?;
        assert_eq!(archive.len(), e.len());
        for (i, (name, bytes)) in e.iter().enumerate() {
            let mut f = archive.by_index(i)?;
            assert_eq!(f.name(), name);
            let mut out = Vec::new();
            f.read_to_end(&mut out)?;
            assert_eq!(&out, bytes);
        }
        Ok(())
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in ["", "a/b", "..", "../x", "a\\b", "x\ny", " x", "C:x", "a..b"] {
            let e = package(&entries(&[bad])).err();
            assert_eq!(e.map(|e| e.code()), Some("bad_entry_name"), "{bad:?}");
        }
        let e = package(&entries(&["a.txt", "A.TXT"])).err();
        assert_eq!(e.map(|e| e.code()), Some("bad_entry_name"));
        assert!(package(&[]).is_ok());
    }
}
