//! Base64 (standard alphabet, padded) for hashes, keys and signatures.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::FormatError;
use crate::hash::Hash;

pub fn encode_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn decode_b64(s: &str) -> Result<Vec<u8>, FormatError> {
    STANDARD.decode(s).map_err(|_| FormatError::InvalidBase64)
}

/// Decodes exactly `N` bytes; `what` names the field in the error.
pub fn decode_b64_array<const N: usize>(
    what: &'static str,
    s: &str,
) -> Result<[u8; N], FormatError> {
    let bytes = decode_b64(s)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| FormatError::WrongLength {
        what,
        expected: N,
        got: bytes.len(),
    })
}

pub fn encode_hash(hash: &Hash) -> String {
    encode_b64(hash)
}

/// A hash in base64; anything but exactly 32 bytes is an error.
pub fn decode_hash(s: &str) -> Result<Hash, FormatError> {
    decode_b64_array("hash", s.trim())
}

/// A proof written as comma-separated base64 hashes (the CLI form); "" is the empty proof.
pub fn decode_proof(s: &str) -> Result<Vec<Hash>, FormatError> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',').map(decode_hash).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn hashes_round_trip_and_lengths_are_checked() {
        let h = [0xabu8; 32];
        let s = encode_hash(&h);
        assert_eq!(s.len(), 44);
        assert!(s.ends_with('='));
        assert_eq!(decode_hash(&s).unwrap(), h);
        let short = encode_b64(&[1, 2, 3]);
        assert_eq!(
            decode_hash(&short).unwrap_err(),
            FormatError::WrongLength {
                what: "hash",
                expected: 32,
                got: 3
            }
        );
        assert_eq!(
            decode_hash("not base64!").unwrap_err().code(),
            "invalid_base64"
        );
        // Unpadded input is not the documented form.
        assert_eq!(
            decode_hash(s.trim_end_matches('=')).unwrap_err().code(),
            "invalid_base64"
        );
    }

    #[test]
    fn proofs_parse_from_comma_separated_text() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        let text = format!("{}, {}", encode_hash(&a), encode_hash(&b));
        assert_eq!(decode_proof(&text).unwrap(), vec![a, b]);
        assert_eq!(decode_proof("").unwrap(), Vec::<Hash>::new());
        assert_eq!(
            decode_proof(&format!("{},", encode_hash(&a)))
                .unwrap_err()
                .code(),
            "wrong_length"
        );
    }
}
