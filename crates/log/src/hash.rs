//! Hash algorithms and the RFC 9162 §2.1.1 leaf/node/empty hashes.

use sha2::{Digest, Sha256};
use streebog::Streebog256;

use crate::error::FormatError;

/// A 256-bit tree hash. Both supported algorithms produce 32 bytes.
pub type Hash = [u8; 32];

/// The tree's hash function. A log uses one algorithm for its whole life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum HashAlg {
    #[default]
    Sha256,
    /// GOST R 34.11-2012, 256-bit output, as computed by the `streebog` crate (bytes in the
    /// order the crate outputs them, i.e. the reverse of the standard's printed numbers).
    Streebog256,
}

impl HashAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Streebog256 => "streebog256",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FormatError> {
        match s {
            "sha256" => Ok(Self::Sha256),
            "streebog256" => Ok(Self::Streebog256),
            _ => Err(FormatError::UnknownAlg),
        }
    }

    /// Hashes the concatenation of `parts` (avoids building a temporary buffer).
    pub fn digest(self, parts: &[&[u8]]) -> Hash {
        match self {
            Self::Sha256 => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
            Self::Streebog256 => {
                let mut h = Streebog256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }
}

impl std::fmt::Display for HashAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for HashAlg {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for HashAlg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for HashAlg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `H(0x00 || data)`: the hash of one leaf's canonical bytes.
pub fn leaf_hash(alg: HashAlg, data: &[u8]) -> Hash {
    alg.digest(&[&[0x00], data])
}

/// `H(0x01 || left || right)`: an interior node. The prefixes keep leaves and nodes apart
/// (second-preimage resistance).
pub fn node_hash(alg: HashAlg, left: &Hash, right: &Hash) -> Hash {
    alg.digest(&[&[0x01], left, right])
}

/// `H("")`: the root of the empty tree.
pub fn empty_root(alg: HashAlg) -> Hash {
    alg.digest(&[])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn hex(h: &[u8]) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_empty_root_is_the_known_digest() {
        assert_eq!(
            hex(&empty_root(HashAlg::Sha256)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn sha256_leaf_and_node_use_rfc_prefixes() {
        // RFC 6962 test tree: the leaf hash of the empty string.
        assert_eq!(
            hex(&leaf_hash(HashAlg::Sha256, b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let l = [1u8; 32];
        let r = [2u8; 32];
        let mut buf = vec![1u8];
        buf.extend_from_slice(&l);
        buf.extend_from_slice(&r);
        let direct: Hash = Sha256::digest(&buf).into();
        assert_eq!(node_hash(HashAlg::Sha256, &l, &r), direct);
        assert_ne!(node_hash(HashAlg::Sha256, &r, &l), direct);
    }

    /// GOST R 34.11-2012, Appendix A, example 1. The standard writes both the message and the
    /// digest as big numbers, i.e. byte strings printed last byte first. The message
    /// 0x323130...3130 is therefore the ASCII text below, and the crate's digest bytes are the
    /// printed number reversed.
    #[test]
    fn streebog256_matches_gost_example_1() {
        let m1 = b"012345678901234567890123456789012345678901234567890123456789012";
        assert_eq!(m1.len(), 63);
        let got = HashAlg::Streebog256.digest(&[m1]);
        assert_eq!(
            hex(&got),
            "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"
        );
        let mut printed = got;
        printed.reverse();
        assert_eq!(
            hex(&printed),
            "00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d"
        );
    }

    #[test]
    fn algorithms_differ_and_names_round_trip() {
        assert_ne!(
            empty_root(HashAlg::Sha256),
            empty_root(HashAlg::Streebog256)
        );
        for alg in [HashAlg::Sha256, HashAlg::Streebog256] {
            assert_eq!(HashAlg::parse(alg.as_str()).unwrap(), alg);
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(serde_json::from_str::<HashAlg>(&json).unwrap(), alg);
        }
        assert_eq!(HashAlg::parse("SHA256").unwrap_err().code(), "unknown_alg");
        assert_eq!(HashAlg::default(), HashAlg::Sha256);
    }
}
