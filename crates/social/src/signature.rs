//! Duplicate detection signatures. A repost or a copy-paste campaign must not become a
//! hundred incidents: an **exact** signature catches the same words in the same order
//! (whatever the emoji, links, case and punctuation), and a 64-bit **SimHash** over
//! word 3-shingles catches near copies (a word changed, a sentence added).
//!
//! Two SimHashes within [`NEAR_DISTANCE`] bits are near duplicates. To find them with
//! index lookups, the hash is cut into four 16-bit [`bands`]: by the pigeonhole principle
//! two hashes that differ in at most 3 bits agree on at least one band, so the store looks
//! up posts sharing a band and checks the distance of those only.

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
    let mut z = fnv1a(bytes);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Most bits two near duplicates differ in.
pub const NEAR_DISTANCE: u32 = 3;

/// A post's duplicate signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// Hash of the word sequence: equal for exact copies.
    pub exact: u64,
    pub simhash: u64,
}

impl Signature {
    pub fn of(text: &str) -> Signature {
        let words: Vec<String> = words(text).collect();
        let joined = words.join(" ");
        Signature {
            exact: mix(joined.as_bytes()),
            simhash: simhash(&words),
        }
    }

    pub fn is_near(&self, other: &Signature) -> bool {
        self.exact == other.exact || distance(self.simhash, other.simhash) <= NEAR_DISTANCE
    }

    /// The four 16-bit bands, for index lookups.
    pub fn bands(&self) -> [u16; 4] {
        bands(self.simhash)
    }
}

/// Number of bits in which `a` and `b` differ.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

pub fn bands(hash: u64) -> [u16; 4] {
    [0, 16, 32, 48].map(|shift| (hash >> shift) as u16)
}

/// SimHash over word 3-shingles (single words for texts shorter than three words).
fn simhash(words: &[String]) -> u64 {
    let mut votes = [0i32; 64];
    let mut vote = |feature: u64| {
        for (bit, v) in votes.iter_mut().enumerate() {
            if feature >> bit & 1 == 1 {
                *v += 1;
            } else {
                *v -= 1;
            }
        }
    };
    if words.len() < 3 {
        words.iter().for_each(|w| vote(mix(w.as_bytes())));
    } else {
        let mut shingle = String::new();
        for window in words.windows(3) {
            shingle.clear();
            for w in window {
                shingle.push_str(w);
                shingle.push(' ');
            }
            vote(mix(shingle.as_bytes()));
        }
    }
    votes
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0)
        .fold(0u64, |hash, (bit, _)| hash | 1 << bit)
}

#[cfg(test)]
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
        assert!(a.is_near(&b), "distance {}", distance(a.simhash, b.simhash));
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
        fn near_hashes_share_a_band(hash: u64, flips in proptest::collection::vec(0u32..64, 0..=3)) {
            let other = flips.iter().fold(hash, |h, bit| h ^ (1 << bit));
            prop_assume!(distance(hash, other) <= NEAR_DISTANCE);
            let (a, b) = (bands(hash), bands(other));
            prop_assert!(a.iter().zip(b.iter()).any(|(x, y)| x == y));
        }
    }
}
