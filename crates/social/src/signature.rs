//! Duplicate detection signatures. A repost or a copy-paste campaign must not become a
//! hundred incidents: an **exact** signature catches the same words in the same order
//! (whatever the emoji, links, case and punctuation), and a **MinHash** over word pairs
//! catches near copies (a word changed, a sentence added).
//!
//! The MinHash is b-bit (Li and König): eight minimums of independently seeded hashes of
//! the post's word pairs, one byte of each, packed in a `u64`. Two posts agree on a byte
//! with probability ≈ the Jaccard similarity of their word pairs (plus 1/256), so posts
//! that differ in at most [`NEAR_DISTANCE`] of the eight bytes (about ≥ 60 % of their word
//! pairs shared) are near duplicates. (SimHash was tried first: on posts of 20–40 words one
//! changed word flips about ten of its 64 bits, too many to tell from unrelated posts.)
//!
//! To find them with index lookups the signature is cut into four 16-bit [`bands`] of two
//! bytes: posts differing in at most three bytes share at least one band (pigeonhole), so
//! the store looks up posts sharing a band and checks the distance of those only.

use crate::text::words;

/// Stable 64-bit FNV-1a: the same on every node and release, because signatures are
/// stored and compared across processes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A well-mixed 64-bit hash of a string (FNV-1a then a finaliser, so that neighbouring
/// shingles spread over all bits).
pub fn mix(bytes: &[u8]) -> u64 {
    finish(fnv1a(bytes))
}

/// Most bytes of the MinHash two near duplicates differ in.
pub const NEAR_DISTANCE: u32 = 3;

/// The seeds of the eight hash functions (fixed: signatures are stored).
const SEEDS: [u64; 8] = [
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
    0x4528_21e6_38d0_1377,
    0xbe54_66cf_34e9_0c6c,
    0xc0ac_29b7_c97c_50dd,
    0x3f84_d5b5_b547_0917,
];

/// A post's duplicate signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// Hash of the word sequence: equal for exact copies.
    pub exact: u64,
    /// Eight one-byte minimums (b-bit MinHash) of the word pairs.
    pub minhash: u64,
}

impl Signature {
    pub fn of(text: &str) -> Signature {
        // Each word hashed once; the exact signature chains the word hashes in order, the
        // shingles combine three neighbours' (no strings built).
        let hashes: Vec<u64> = words(text).map(|w| mix(w.as_bytes())).collect();
        let exact = hashes.iter().fold(0x9e37_79b9_7f4a_7c15u64, |acc, h| {
            finish(acc.rotate_left(23) ^ h)
        });
        Signature {
            exact,
            minhash: minhash(&hashes),
        }
    }

    pub fn is_near(&self, other: &Signature) -> bool {
        self.exact == other.exact || distance(self.minhash, other.minhash) <= NEAR_DISTANCE
    }

    /// The four 16-bit bands, for index lookups.
    pub fn bands(&self) -> [u16; 4] {
        bands(self.minhash)
    }
}

/// Number of the eight bytes in which `a` and `b` differ.
pub fn distance(a: u64, b: u64) -> u32 {
    let differ = a ^ b;
    (0..8).filter(|i| (differ >> (i * 8)) & 0xff != 0).count() as u32
}

pub fn bands(hash: u64) -> [u16; 4] {
    [0, 16, 32, 48].map(|shift| (hash >> shift) as u16)
}

/// b-bit MinHash over word pairs (single words for one-word texts).
fn minhash(words: &[u64]) -> u64 {
    let pairs: Vec<u64> = if words.len() < 2 {
        words.to_vec()
    } else {
        words
            .windows(2)
            .map(|w| finish(w[0] ^ w[1].rotate_left(29)))
            .collect()
    };
    SEEDS.iter().enumerate().fold(0u64, |packed, (i, seed)| {
        let least = pairs.iter().map(|p| finish(p ^ seed)).min().unwrap_or(0);
        packed | (least & 0xff) << (i * 8)
    })
}

/// The finaliser of [`mix`]: spreads a combined value over all bits.
fn finish(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POST: &str = "Третью неделю нет горячей воды в доме на улице Ленина 15, управляющая \
        компания не отвечает, в администрации говорят ждите. Сколько можно ждать, у нас \
        маленькие дети и пожилые родители, мыться приходится из тазика";

    #[test]
    fn copies_with_other_case_emoji_and_punctuation_are_exact_duplicates() {
        let copy = format!("{}!!! 😡", POST.to_uppercase().replace(',', ""));
        assert_eq!(Signature::of(POST).exact, Signature::of(&copy).exact);
    }

    #[test]
    fn a_changed_word_is_a_near_duplicate() {
        let edited = POST.replace("Третью", "Вторую");
        let (a, b) = (Signature::of(POST), Signature::of(&edited));
        assert_ne!(a.exact, b.exact);
        assert!(a.is_near(&b), "distance {}", distance(a.minhash, b.minhash));
    }

    #[test]
    fn an_added_sentence_is_a_near_duplicate() {
        let longer = format!("{POST}. Пишите все в администрацию, пусть видят");
        assert!(Signature::of(POST).is_near(&Signature::of(&longer)));
    }

    #[test]
    fn different_posts_are_not_near() {
        let other = "Во дворе на Гагарина 3 сломали качели на детской площадке, дети \
            могут пораниться, просим администрацию района заменить их до лета";
        let (a, b) = (Signature::of(POST), Signature::of(other));
        assert!(!a.is_near(&b));
    }

    proptest! {
        /// The pigeonhole argument the store's band lookup relies on.
        #[test]
        fn near_hashes_share_a_band(hash: u64, flips in proptest::collection::vec(0u32..64, 0..=6)) {
            let other = flips.iter().fold(hash, |h, bit| h ^ (1 << bit));
            prop_assume!(distance(hash, other) <= NEAR_DISTANCE);
            let (a, b) = (bands(hash), bands(other));
            prop_assert!(a.iter().zip(b.iter()).any(|(x, y)| x == y));
        }
    }
}
