//! Small groups withheld from aggregate figures, with complementary suppression.
//!
//! Withholding each small group on its own is not enough where the groups of a breakdown
//! add up to a total that is shown (the report's totals, or the sum of another
//! breakdown): the total minus the groups still shown gives back a single withheld group.
//! [`withheld`] therefore also withholds the smallest group still shown whenever the
//! withheld ones could be worked out, so that subtraction only ever yields the sum of two
//! or more of them, and that sum is itself not small.

/// Which groups of one breakdown to withhold (`true`), given each group's size (the count
/// the minimum applies to, in the caller's order) and the minimum group (at least 1).
///
/// The groups are taken to add up to a total that is shown. The rule:
/// 1. every group smaller than `min_group` is withheld (primary suppression);
/// 2. if then exactly one group is withheld, or the withheld groups together hold fewer
///    than `min_group`, the smallest group still shown is withheld too (complementary
///    suppression; among equal sizes the first in order).
///
/// One complementary group is always enough: a shown group holds at least `min_group`,
/// so afterwards two or more groups are withheld and together they hold at least the
/// minimum. Everything is withheld exactly when the groups together hold fewer than
/// `min_group` — then the total is small as well and is withheld by its own primary rule.
pub fn withheld(sizes: &[i64], min_group: i64) -> Vec<bool> {
    let mut hidden: Vec<bool> = sizes.iter().map(|&size| size < min_group).collect();
    if derivable(sizes, &hidden, min_group) {
        if let Some(next) = smallest_shown(sizes, &hidden) {
            hidden[next] = true;
        }
    }
    hidden
}

/// Whether the total minus the shown groups would give away a withheld group: one alone,
/// or several that together are still a small group.
fn derivable(sizes: &[i64], hidden: &[bool], min_group: i64) -> bool {
    let (count, sum) = sizes
        .iter()
        .zip(hidden)
        .filter(|(_, hidden)| **hidden)
        .fold((0usize, 0i64), |(count, sum), (size, _)| {
            (count + 1, sum.saturating_add(*size))
        });
    count == 1 || (count > 1 && sum < min_group)
}

/// The smallest group still shown; the first of equal ones.
fn smallest_shown(sizes: &[i64], hidden: &[bool]) -> Option<usize> {
    sizes
        .iter()
        .enumerate()
        .filter(|(index, _)| !hidden[*index])
        .min_by_key(|(index, size)| (**size, *index))
        .map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 5;

    fn hidden_at(sizes: &[i64]) -> Vec<usize> {
        withheld(sizes, MIN)
            .iter()
            .enumerate()
            .filter(|(_, hidden)| **hidden)
            .map(|(index, _)| index)
            .collect()
    }

    #[test]
    fn nothing_is_withheld_when_every_group_is_large_enough() {
        assert_eq!(hidden_at(&[5, 6, 120]), Vec::<usize>::new());
        assert_eq!(hidden_at(&[]), Vec::<usize>::new());
    }

    #[test]
    fn one_small_group_takes_the_smallest_shown_one_with_it() {
        // 1 alone would be 132 − (9 + 20 + 100); with 9 hidden too only 10 is known.
        assert_eq!(hidden_at(&[20, 1, 100, 9]), vec![1, 3]);
    }

    #[test]
    fn two_small_groups_that_together_reach_the_minimum_are_enough() {
        assert_eq!(hidden_at(&[3, 4, 10]), vec![0, 1]);
    }

    #[test]
    fn small_groups_that_together_stay_small_take_one_more() {
        assert_eq!(hidden_at(&[1, 2, 10, 8]), vec![0, 1, 3]);
        assert_eq!(hidden_at(&[0, 0, 7, 9]), vec![0, 1, 2]);
    }

    #[test]
    fn a_small_total_withholds_everything() {
        assert_eq!(hidden_at(&[1, 2]), vec![0, 1]);
        assert_eq!(hidden_at(&[4]), vec![0]);
        assert_eq!(
            hidden_at(&[3, 6]),
            vec![0, 1],
            "the only other group goes too"
        );
    }

    #[test]
    fn ties_take_the_first_in_order() {
        assert_eq!(hidden_at(&[9, 6, 2, 6]), vec![1, 2]);
    }

    #[test]
    fn a_minimum_of_one_withholds_only_empty_groups_and_their_complements() {
        assert_eq!(withheld(&[0, 3, 4], 1), vec![true, true, false]);
        assert_eq!(withheld(&[2, 3, 4], 1), vec![false, false, false]);
    }

    proptest! {
        /// What a reader can compute from a table that shows its total: the total minus
        /// the shown groups. It must never be one withheld group, nor a small sum.
        #[test]
        fn no_withheld_group_can_be_worked_out_from_the_total(
            sizes in proptest::collection::vec(0i64..40, 0..14),
            min_group in 1i64..12,
        ) {
            let hidden = withheld(&sizes, min_group);
            prop_assert_eq!(hidden.len(), sizes.len());
            let total: i64 = sizes.iter().sum();
            let shown_sum: i64 = sizes
                .iter()
                .zip(&hidden)
                .filter(|(_, h)| !**h)
                .map(|(s, _)| s)
                .sum();
            let hidden_count = hidden.iter().filter(|h| **h).count();
            for (size, hidden) in sizes.iter().zip(&hidden) {
                prop_assert!(
                    *hidden || *size >= min_group,
                    "a shown group under the minimum: {sizes:?}"
                );
                prop_assert!(
                    !*hidden || hidden_count >= 2 || total < min_group,
                    "{size} = {total} − {shown_sum} is the only one withheld: {sizes:?}"
                );
            }
            if total >= min_group {
                // The total is shown: nothing withheld, or two or more that together
                // hold at least the minimum.
                prop_assert!(hidden_count != 1, "{sizes:?} → {hidden:?}");
                prop_assert!(
                    hidden_count == 0 || total - shown_sum >= min_group,
                    "{sizes:?} → {hidden:?}"
                );
            } else {
                prop_assert!(
                    hidden.iter().all(|h| *h),
                    "a small total hides everything: {sizes:?}"
                );
            }
        }

        /// Only as much is withheld as needed: the small groups, and at most one other,
        /// which is no larger than any group still shown.
        #[test]
        fn at_most_the_smallest_shown_group_is_withheld_besides_the_small_ones(
            sizes in proptest::collection::vec(0i64..40, 0..14),
            min_group in 1i64..12,
        ) {
            let hidden = withheld(&sizes, min_group);
            let complements: Vec<i64> = sizes
                .iter()
                .zip(&hidden)
                .filter(|(s, h)| **h && **s >= min_group)
                .map(|(s, _)| *s)
                .collect();
            prop_assert!(complements.len() <= 1, "{sizes:?} → {hidden:?}");
            let smallest_shown = sizes
                .iter()
                .zip(&hidden)
                .filter(|(_, h)| !**h)
                .map(|(s, _)| *s)
                .min();
            if let (Some(complement), Some(shown)) = (complements.first(), smallest_shown) {
                prop_assert!(*complement <= shown, "{sizes:?} → {hidden:?}");
            }
            if !sizes.iter().any(|s| *s < min_group) {
                prop_assert!(hidden.iter().all(|h| !*h), "nothing small, nothing withheld");
            }
        }

        /// The order of the groups changes which of equal groups goes, never how many.
        #[test]
        fn the_order_of_groups_does_not_change_how_many_are_withheld(
            sizes in proptest::collection::vec(0i64..40, 0..14),
            min_group in 1i64..12,
        ) {
            let mut reversed = sizes.clone();
            reversed.reverse();
            let count = |s: &[i64]| withheld(s, min_group).iter().filter(|h| **h).count();
            prop_assert_eq!(count(&sizes), count(&reversed));
        }
    }
}
