//! Photos lose their metadata before anyone else sees them: a phone's JPEG carries the
//! place it was taken (EXIF GPS), the device, its serial number and the time; XMP, IPTC
//! and comments may carry names. Only the pixels and what is needed to show them stay:
//! the colour profile (ICC) and the EXIF orientation, rewritten as a minimal EXIF block of
//! that one tag so that a portrait photo is not shown sideways.
//!
//! The containers are rewritten without decoding the image (img-parts): no pixel is
//! touched, and an image too damaged to be taken apart is refused.

use crate::attachment::FileType;
use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::png::Png;
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::{WebP, CHUNK_EXIF, CHUNK_VP8X, CHUNK_XMP};
use img_parts::Bytes;

/// PNG chunks that may describe the photo rather than draw it: EXIF, text of any kind,
/// the last-modified time.
const PNG_METADATA: [&[u8; 4]; 5] = [b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"];

/// The image without its metadata; `None` for a file that is not an image (PDF), which is
/// kept as it is. `Err("image_damaged")` when the container cannot be read.
pub fn strip(file_type: FileType, bytes: &[u8]) -> Option<Result<Vec<u8>, &'static str>> {
    match file_type {
        FileType::Jpeg => Some(strip_jpeg(bytes)),
        FileType::Png => Some(strip_png(bytes)),
        FileType::Webp => Some(strip_webp(bytes)),
        FileType::Pdf => None,
    }
}

/// WebP: the `EXIF` and `XMP ` chunks go, and the extended header (`VP8X`) no longer
/// announces them; the ICC profile, animation and pixels stay.
fn strip_webp(bytes: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut webp = WebP::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|_| "image_damaged")?;
    webp.remove_chunks_by_id(CHUNK_EXIF);
    webp.remove_chunks_by_id(CHUNK_XMP);
    for chunk in webp.chunks_mut().iter_mut() {
        let mut header = match chunk.content().data() {
            Some(data) if chunk.id() == CHUNK_VP8X => data.to_vec(),
            _ => continue,
        };
        if let Some(flags) = header.first_mut() {
            // Bit 3: EXIF present; bit 2: XMP present.
            *flags &= !0b0000_1100;
        }
        *chunk = RiffChunk::new(CHUNK_VP8X, RiffContent::Data(Bytes::from(header)));
    }
    Ok(webp.encoder().bytes().to_vec())
}

fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|_| "image_damaged")?;
    let orientation = jpeg
        .segments()
        .iter()
        .filter(|s| s.marker() == markers::APP1)
        .find_map(|s| exif_orientation(s.contents()));
    // APP1: EXIF and XMP; APP12–APP15: vendors' and Photoshop's (IPTC) blocks; COM:
    // comments. APP0 (JFIF), APP2 (ICC profile) and APP14 (Adobe colour transform) are
    // needed to show the image as it is.
    jpeg.segments_mut().retain(|s| {
        !matches!(
            s.marker(),
            markers::APP1 | markers::APP12 | markers::APP13 | markers::APP15 | markers::COM
        )
    });
    if let Some(orientation) = orientation.filter(|o| (2..=8).contains(o)) {
        let segment = JpegSegment::new_with_contents(
            markers::APP1,
            Bytes::from(orientation_only_exif(orientation)),
        );
        // After APP0 (JFIF) when there is one: JFIF readers expect it first.
        let at = usize::from(
            jpeg.segments()
                .first()
                .is_some_and(|s| s.marker() == markers::APP0),
        );
        jpeg.segments_mut().insert(at, segment);
    }
    Ok(jpeg.encoder().bytes().to_vec())
}

fn strip_png(bytes: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|_| "image_damaged")?;
    png.chunks_mut()
        .retain(|c| !PNG_METADATA.contains(&&c.kind()));
    Ok(png.encoder().bytes().to_vec())
}

/// The orientation tag (0x0112) of IFD0 in an APP1 EXIF block, if it has one. Every
/// offset is checked: the block comes from the outside.
fn exif_orientation(app1: &[u8]) -> Option<u16> {
    let tiff = app1.strip_prefix(b"Exif\0\0")?;
    let big_endian = match tiff.get(..4)? {
        [b'M', b'M', 0, 42] => true,
        [b'I', b'I', 42, 0] => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = u16_at(ifd)?;
    (0..usize::from(entries)).find_map(|i| {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        // Tag 0x0112, type SHORT (3), count 1: the value sits in the entry itself.
        (u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3 && u32_at(entry + 4)? == 1)
            .then(|| u16_at(entry + 8))
            .flatten()
    })
}

/// A big-endian EXIF block holding only IFD0 with the orientation tag.
fn orientation_only_exif(orientation: u16) -> Vec<u8> {
    let mut block = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    block.extend_from_slice(&1u16.to_be_bytes()); // one entry
    block.extend_from_slice(&0x0112u16.to_be_bytes()); // orientation
    block.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    block.extend_from_slice(&1u32.to_be_bytes()); // count
    block.extend_from_slice(&orientation.to_be_bytes());
    block.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    block.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    block
}

/// A real 1×1 PNG without metadata, for the tests of this crate.
#[cfg(test)]
pub(crate) const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0xE9, 0xFA, 0xDC, 0xD8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44,
    0xAE, 0x42, 0x60, 0x82,
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// A 1×1 JPEG (baseline, grey) with the given APP segments after SOI.
    fn jpeg_with(segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        for (marker, contents) in segments {
            out.extend_from_slice(&[0xFF, *marker]);
            let len = u16::try_from(contents.len() + 2).unwrap();
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(contents);
        }
        out.extend_from_slice(&tiny_jpeg_body());
        out
    }

    /// DQT, SOF0 (1×1, one component), DHT (DC and AC, one code each), SOS with one
    /// byte of scan data, EOI.
    fn tiny_jpeg_body() -> Vec<u8> {
        let mut body = vec![0xFF, 0xDB, 0x00, 0x43, 0x00];
        body.extend([1u8; 64]);
        body.extend([
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00,
        ]);
        for class in [0x00, 0x10] {
            body.extend([0xFF, 0xC4, 0x00, 0x14, class, 0x01]);
            body.extend([0u8; 15]);
            body.push(0x00);
        }
        body.extend([
            0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x00, 0xFF, 0xD9,
        ]);
        body
    }

    /// An EXIF block, little-endian as phones write it, with orientation 6 and a GPS
    /// pointer whose latitude text we look for after stripping.
    fn phone_exif() -> Vec<u8> {
        let mut tiff = b"II\x2a\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&2u16.to_le_bytes());
        // Orientation = 6 (rotate 90°).
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&[6, 0, 0, 0]);
        // ImageDescription (ASCII) pointing at text after the IFD.
        let text = b"GPS 56.8587N 35.9176E Ivan Petrov\0";
        tiff.extend_from_slice(&0x010Eu16.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&u32::try_from(text.len()).unwrap().to_le_bytes());
        tiff.extend_from_slice(&38u32.to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.extend_from_slice(text);
        [b"Exif\0\0".as_slice(), &tiff].concat()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_phone_photo_loses_gps_and_names_but_keeps_its_orientation_and_pixels() {
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Ivan Petrov</x:xmpmeta>".to_vec();
        let original = jpeg_with(&[
            (0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec()),
            (0xE1, phone_exif()),
            (0xE1, xmp),
            (0xFE, b"taken by Ivan Petrov".to_vec()),
        ]);
        assert!(contains(&original, b"Ivan Petrov"));
        let stripped = strip(FileType::Jpeg, &original).unwrap().unwrap();
        assert!(!contains(&stripped, b"Ivan Petrov"));
        assert!(!contains(&stripped, b"56.8587"));
        assert!(
            stripped.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]),
            "JFIF stays first"
        );
        assert!(
            stripped.ends_with(&tiny_jpeg_body()),
            "the image itself is untouched"
        );
        let jpeg = Jpeg::from_bytes(Bytes::from(stripped)).unwrap();
        let app1: Vec<&JpegSegment> = jpeg
            .segments()
            .iter()
            .filter(|s| s.marker() == markers::APP1)
            .collect();
        assert_eq!(app1.len(), 1);
        assert_eq!(exif_orientation(app1[0].contents()), Some(6));
    }

    #[test]
    fn a_photo_without_orientation_gets_no_exif_at_all() {
        let original = jpeg_with(&[(0xED, b"Photoshop 3.0\0IPTC Ivan".to_vec())]);
        let stripped = strip(FileType::Jpeg, &original).unwrap().unwrap();
        assert_eq!(stripped, [&[0xFF, 0xD8][..], &tiny_jpeg_body()].concat());
    }

    #[test]
    fn png_text_and_exif_chunks_go_and_pixels_stay() {
        let mut png = Png::from_bytes(Bytes::from_static(TINY_PNG)).unwrap();
        let at = png.chunks().len() - 1;
        for (kind, text) in [
            (*b"tEXt", &b"Author\0Ivan Petrov"[..]),
            (*b"eXIf", b"MM\0*GPS"),
        ] {
            png.chunks_mut().insert(
                at,
                img_parts::png::PngChunk::new(kind, Bytes::copy_from_slice(text)),
            );
        }
        let with_metadata = png.encoder().bytes().to_vec();
        assert!(contains(&with_metadata, b"Ivan Petrov"));
        let stripped = strip(FileType::Png, &with_metadata).unwrap().unwrap();
        assert_eq!(stripped, TINY_PNG);
    }

    #[test]
    fn webp_exif_and_xmp_chunks_go_and_the_header_no_longer_announces_them() {
        fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
            let mut out = id.to_vec();
            out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(0);
            }
            out
        }
        // VP8X: flags (EXIF 0x08, XMP 0x04), 3 reserved bytes, width-1 and height-1.
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &[0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(chunk(
            b"VP8L",
            &[0x2F, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88],
        ));
        body.extend(chunk(b"EXIF", b"II*\0GPS 56.8587N 35.9176E"));
        body.extend(chunk(b"XMP ", b"<x:xmpmeta>Ivan Petrov</x:xmpmeta>"));
        let mut webp = b"RIFF".to_vec();
        webp.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        webp.extend(body);
        assert_eq!(FileType::sniff_image(&webp), Some(FileType::Webp));
        assert_eq!(
            FileType::sniff(&webp),
            None,
            "submissions keep JPEG, PNG and PDF"
        );
        let clean = strip(FileType::Webp, &webp).unwrap().unwrap();
        assert!(!contains(&clean, b"GPS"));
        assert!(!contains(&clean, b"Ivan Petrov"));
        assert!(contains(&clean, b"VP8L"));
        let vp8x = clean.windows(4).position(|w| w == b"VP8X").unwrap();
        assert_eq!(clean[vp8x + 8] & 0x0C, 0);
        let size = u32::from_le_bytes(clean[4..8].try_into().unwrap()) as usize;
        assert_eq!(size + 8, clean.len());
        assert_eq!(
            strip(FileType::Webp, b"RIFF\x20\0\0\0WEBPVP8X"),
            Some(Err("image_damaged"))
        );
    }

    #[test]
    fn only_images_are_photos_of_projects() {
        use crate::attachment::Attachment;
        assert_eq!(
            Attachment::parse_image("a.pdf", b"%PDF-1.4".to_vec()).unwrap_err(),
            "not_an_image"
        );
        assert_eq!(
            Attachment::parse_image("a", b"hello".to_vec()).unwrap_err(),
            "not_an_image"
        );
        assert_eq!(
            Attachment::parse_image("a", Vec::new()).unwrap_err(),
            "file_empty"
        );
        let photo =
            Attachment::parse_image("../сквер.JPG", jpeg_with(&[(0xE1, phone_exif())])).unwrap();
        assert_eq!(photo.file_type(), FileType::Jpeg);
        assert_eq!(photo.name(), "сквер.jpg");
        assert!(!contains(photo.bytes(), b"GPS"));
    }

    #[test]
    fn pdfs_are_kept_and_damaged_images_refused() {
        assert!(strip(FileType::Pdf, b"%PDF-1.7").is_none());
        assert_eq!(
            strip(FileType::Png, b"\x89PNG\r\n\x1a\nnot chunks"),
            Some(Err("image_damaged"))
        );
    }

    proptest! {
        /// Whatever follows the signature, stripping answers (an image or a refusal) and
        /// never panics; the orientation reader never reads out of bounds.
        #[test]
        fn hostile_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
            let jpeg = [&[0xFF, 0xD8, 0xFF][..], &tail].concat();
            let _ = strip(FileType::Jpeg, &jpeg);
            let png = [&b"\x89PNG\r\n\x1a\n"[..], &tail].concat();
            let _ = strip(FileType::Png, &png);
            let exif = [&b"Exif\0\0"[..], &tail].concat();
            let _ = exif_orientation(&exif);
        }
    }
}
