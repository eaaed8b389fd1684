//! Proof verification exactly as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).
//!
//! Before running the RFC algorithm the proof length is compared with the length derived
//! in closed form (as in transparency-dev/merkle), only so that the error says
//! `wrong_proof_length`; the RFC algorithm alone would also reject such proofs.

use crate::error::VerifyError;
use crate::hash::{node_hash, Hash, HashAlg};

/// The number of inclusion-proof entries for `index < size`: `inner` siblings below the
/// point where the path to `index` leaves the path to `size - 1`, plus one per set bit above.
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The number of consistency-proof entries for `0 < size1 < size2`.
fn consistency_len(size1: u64, size2: u64) -> usize {
    let shift = size1.trailing_zeros() as usize;
    let seed = usize::from(!size1.is_power_of_two());
    // The proof is the inclusion path of the old tree's last perfect subtree, which starts
    // `shift` levels above the leaves.
    seed + inclusion_len(size1 - 1, size2) - shift
}

/// Checks that `leaf_hash` is the leaf at `index` of the tree of `size` leaves whose root is
/// `root`. A tree of size 0 contains nothing: `size_zero`.
pub fn verify_inclusion(
    alg: HashAlg,
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if size == 0 {
        return Err(VerifyError::SizeZero);
    }
    // Step 1.
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    // Steps 2-3.
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    // Step 4.
    for p in proof {
        if s_n == 0 {
            return Err(VerifyError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(alg, p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(alg, &r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 5.
    if s_n != 0 {
        return Err(VerifyError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if r != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of
/// `size2` leaves with root `root2`.
///
/// `size1 = 0` is refused (`size_zero`): the empty tree is a prefix of every tree, so there
/// is nothing to prove. Equal sizes need an empty proof and equal roots.
pub fn verify_consistency(
    alg: HashAlg,
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), VerifyError> {
    if size1 == 0 {
        return Err(VerifyError::SizeZero);
    }
    if size1 > size2 {
        return Err(VerifyError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(VerifyError::NonEmptyProofForEqualSizes);
        }
        if root1 != root2 {
            return Err(VerifyError::RootMismatch);
        }
        return Ok(());
    }
    let expected = consistency_len(size1, size2);
    let wrong_length = VerifyError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    // Step 1.
    if proof.is_empty() || proof.len() != expected {
        return Err(wrong_length);
    }
    // Step 2: a power-of-two old tree is a subtree of the new one; its root seeds the path.
    let path: Vec<&Hash> = if size1.is_power_of_two() {
        std::iter::once(root1).chain(proof).collect()
    } else {
        proof.iter().collect()
    };
    // Step 3.
    let (mut f_n, mut s_n) = (size1 - 1, size2 - 1);
    // Step 4.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 5.
    let (first, rest) = match path.split_first() {
        Some(split) => split,
        None => return Err(wrong_length),
    };
    let (mut f_r, mut s_r) = (**first, **first);
    // Step 6.
    for c in rest {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(alg, c, &f_r);
            s_r = node_hash(alg, c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(alg, &s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if s_n != 0 {
        return Err(wrong_length);
    }
    if f_r != *root1 {
        return Err(VerifyError::FirstRootMismatch);
    }
    if s_r != *root2 {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::proof::{consistency_nodes, inclusion_nodes};

    #[test]
    fn closed_form_lengths_match_the_planned_proofs() {
        for size in 1..200u64 {
            for index in 0..size {
                let planned = inclusion_nodes(index, size);
                // Right-edge subtrees fold into one entry, so count folded entries.
                let entries = crate::proof::tests_support::inclusion_entries(index, size);
                assert!(entries <= planned.len());
                assert_eq!(inclusion_len(index, size), entries, "{index} {size}");
            }
            for size1 in 1..size {
                let entries = crate::proof::tests_support::consistency_entries(size1, size);
                assert!(entries <= consistency_nodes(size1, size).len());
                assert_eq!(consistency_len(size1, size), entries, "{size1} {size}");
            }
        }
    }

    #[test]
    fn size_policy() {
        let alg = HashAlg::Sha256;
        let h = [7u8; 32];
        let e = verify_inclusion(alg, &h, 0, 0, &[], &h).unwrap_err();
        assert_eq!(e.code(), "size_zero");
        let e = verify_consistency(alg, 0, 0, &[], &h, &h).unwrap_err();
        assert_eq!(e.code(), "size_zero");
        let e = verify_consistency(alg, 0, 3, &[h], &h, &h).unwrap_err();
        assert_eq!(e.code(), "size_zero");
        let e = verify_consistency(alg, 3, 2, &[], &h, &h).unwrap_err();
        assert_eq!(e.code(), "sizes_out_of_order");
        verify_consistency(alg, 3, 3, &[], &h, &h).unwrap();
        let e = verify_consistency(alg, 3, 3, &[h], &h, &h).unwrap_err();
        assert_eq!(e.code(), "non_empty_proof_for_equal_sizes");
        let e = verify_consistency(alg, 3, 3, &[], &h, &[8; 32]).unwrap_err();
        assert_eq!(e.code(), "root_mismatch");
        let e = verify_consistency(alg, 3, 5, &[], &h, &h).unwrap_err();
        assert_eq!(e.code(), "wrong_proof_length");
        // A one-leaf tree: the leaf hash is the root and the proof is empty.
        verify_inclusion(alg, &h, 0, 1, &[], &h).unwrap();
        let e = verify_inclusion(alg, &h, 1, 1, &[], &h).unwrap_err();
        assert_eq!(e.code(), "index_out_of_range");
        let e = verify_inclusion(alg, &h, 0, 1, &[h], &h).unwrap_err();
        assert_eq!(e.code(), "wrong_proof_length");
    }
}
