//! Uploaded files: at most five per submission or answer, each at most 10 MiB, and only
//! JPEG, PNG or PDF — decided from the bytes, never from the name the browser sent.
//! Photos are stored without their metadata (`image_metadata`); an image whose container
//! cannot be read is refused (`image_damaged`). Archives are never accepted, and images
//! are never decoded, so no decompression bomb can be set off. Photos of a vote's
//! projects take images only — JPEG, PNG or WebP (`Attachment::parse_image`).

pub const MAX_FILES: usize = 5;
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Jpeg,
    Png,
    Pdf,
    /// Accepted only where images alone are (photos of a vote's options,
    /// [`Attachment::parse_image`]); submissions keep JPEG, PNG and PDF.
    Webp,
}

impl FileType {
    /// Recognises the type from the file's leading bytes (its "magic number").
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }

    /// Recognises an image: JPEG, PNG or WebP (a RIFF container of `WEBP`).
    pub fn sniff_image(bytes: &[u8]) -> Option<Self> {
        match Self::sniff(bytes) {
            Some(t) if t.is_image() => Some(t),
            Some(_) => None,
            None if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" => {
                Some(Self::Webp)
            }
            None => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Pdf => "pdf",
            Self::Webp => "webp",
        }
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Pdf, Self::Webp]
            .into_iter()
            .find(|t| t.mime() == mime)
    }

    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png | Self::Webp)
    }
}

/// A checked upload: a safe display name, its real type and its content.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    name: String,
    file_type: FileType,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("file_type", &self.file_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Attachment {
    pub fn parse(name: &str, bytes: Vec<u8>) -> Result<Self, &'static str> {
        if bytes.is_empty() {
            return Err("file_empty");
        }
        if bytes.len() > MAX_FILE_BYTES {
            return Err("file_too_large");
        }
        let file_type = FileType::sniff(&bytes).ok_or("file_type_not_allowed")?;
        // Photos lose their metadata (GPS, device, names) before they are stored.
        let bytes = match crate::image_metadata::strip(file_type, &bytes) {
            Some(stripped) => stripped?,
            None => bytes,
        };
        Ok(Self {
            name: safe_name(name, file_type),
            file_type,
            bytes,
        })
    }

    /// An image only (JPEG, PNG or WebP, ≤ [`MAX_FILE_BYTES`]), its metadata removed as
    /// a submission's photo's is: `file_empty`, `file_too_large`, `not_an_image`,
    /// `image_damaged`.
    pub fn parse_image(name: &str, bytes: Vec<u8>) -> Result<Self, &'static str> {
        if bytes.is_empty() {
            return Err("file_empty");
        }
        if bytes.len() > MAX_FILE_BYTES {
            return Err("file_too_large");
        }
        let file_type = FileType::sniff_image(&bytes).ok_or("not_an_image")?;
        let bytes = match crate::image_metadata::strip(file_type, &bytes) {
            Some(stripped) => stripped?,
            None => return Err("not_an_image"),
        };
        Ok(Self {
            name: safe_name(name, file_type),
            file_type,
            bytes,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Parses up to [`MAX_FILES`] uploads; `field` names the input in error codes.
pub fn parse_all(
    field: &str,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<Attachment>, crate::ValidationErrors> {
    let mut errors = crate::ValidationErrors::default();
    if files.len() > MAX_FILES {
        errors.push(field, "too_many_files");
        return Err(errors);
    }
    let mut parsed = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        if let Some(a) = errors.check(field, Attachment::parse(&name, bytes)) {
            parsed.push(a);
        }
    }
    errors.into_result(|| parsed)
}

/// Keeps the base name's letters, digits and a few separators, and makes the extension
/// match the real type, so a stored name can never be a path or lie about its content.
fn safe_name(raw: &str, file_type: FileType) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let mut clean: String = stem
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '(' | ')'))
        .take(80)
        .collect();
    clean = clean.trim().to_owned();
    if clean.is_empty() {
        clean = "file".to_owned();
    }
    format!("{clean}.{}", file_type.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = crate::image_metadata::TINY_PNG;

    #[test]
    fn type_comes_from_bytes_not_name() {
        let disguised = Attachment::parse("photo.png", b"MZ\x90\0 not an image".to_vec());
        assert_eq!(disguised.err(), Some("file_type_not_allowed"));
        let real = Attachment::parse("scan.exe", PNG.to_vec()).map(|a| a.name().to_owned());
        assert_eq!(real.as_deref(), Ok("scan.png"));
    }

    #[test]
    fn size_limits() {
        assert_eq!(Attachment::parse("a.pdf", vec![]).err(), Some("file_empty"));
        let mut big = b"%PDF-1.7\n".to_vec();
        big.resize(MAX_FILE_BYTES + 1, b' ');
        assert_eq!(
            Attachment::parse("a.pdf", big).err(),
            Some("file_too_large")
        );
        let mut max = b"%PDF-1.7\n".to_vec();
        max.resize(MAX_FILE_BYTES, b' ');
        assert!(Attachment::parse("a.pdf", max).is_ok());
    }

    #[test]
    fn names_cannot_be_paths() {
        let a = Attachment::parse("../../etc/пас<по>рт.png", PNG.to_vec());
        assert_eq!(a.map(|a| a.name().to_owned()).as_deref(), Ok("паспорт.png"));
        let damaged = Attachment::parse("photo.jpg", vec![0xFF, 0xD8, 0xFF, 0xE0]);
        assert_eq!(damaged.err(), Some("image_damaged"));
        let b = Attachment::parse("...", PNG.to_vec());
        assert_eq!(b.map(|a| a.name().to_owned()).as_deref(), Ok("file.png"));
    }

    #[test]
    fn at_most_five_files() {
        let six = (0..6).map(|i| (format!("{i}.png"), PNG.to_vec())).collect();
        let err = parse_all("attachments", six).err().map(|e| e.0[0].code);
        assert_eq!(err, Some("too_many_files"));
        let five = (0..5).map(|i| (format!("{i}.png"), PNG.to_vec())).collect();
        assert_eq!(parse_all("attachments", five).map(|v| v.len()), Ok(5));
    }
}
