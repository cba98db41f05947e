//! The bureau's spot-check draw (抽查复核): a configurable share of a period's decided
//! cases, drawn at random from a recorded seed so that anyone can re-run and audit it.
//!
//! Rules (the draw is a pure function of its inputs):
//! 1. The candidate case ids are sorted and duplicates removed, so the order in which a
//!    caller lists them does not matter.
//! 2. The number drawn is `round(share × n)` with `share = share_permille / 1000` (half
//!    rounds up; a share above 1000‰ counts as 1000‰), and at least one case when the
//!    share and `n` are both above zero.
//! 3. The cases are chosen by a partial Fisher–Yates shuffle of the sorted list driven by
//!    [`SplitMix64`] seeded with `seed`; each index is drawn without modulo bias
//!    (rejection sampling). Every case is equally likely to be drawn.
//! 4. The drawn ids are returned sorted.
//!
//! The seed is recorded with the draw (the caller picks it, e.g. from the OS's randomness
//! at the moment of the draw); re-running `draw` with the same cases, share and seed
//! gives the same cases. Changing this algorithm changes past draws: don't, or version it.

use crate::ids::CaseId;

/// SplitMix64 (Steele, Lea and Flood, 2014; the reference C code by Sebastiano Vigna):
/// a 64-bit state advanced by the golden-ratio constant and mixed by two
/// multiply-xorshift rounds. Small, fast, well distributed, fully determined by its seed.
/// Not for secrets.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (`bound` > 0), without modulo bias: outputs below
    /// `2^64 mod bound` are rejected so that every residue is equally likely.
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        let bound = bound.max(1);
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let r = self.next_u64();
            if r >= threshold {
                return r % bound;
            }
        }
    }
}

/// How many of `n` cases a share of `share_permille` ‰ draws (rule 2 above).
pub fn draw_count(n: usize, share_permille: u32) -> usize {
    let share = u64::from(share_permille.min(1000));
    let n64 = n as u64;
    let count = (share * n64 + 500) / 1000;
    let count = if share > 0 && n > 0 {
        count.max(1)
    } else {
        count
    };
    usize::try_from(count).unwrap_or(n).min(n)
}

/// Draws `round(share × n)` distinct cases from `cases`, reproducibly from `seed`.
pub fn draw(cases: &[CaseId], share_permille: u32, seed: u64) -> Vec<CaseId> {
    let mut pool: Vec<CaseId> = cases.to_vec();
    pool.sort();
    pool.dedup();
    let count = draw_count(pool.len(), share_permille);
    let mut rng = SplitMix64::new(seed);
    for i in 0..count {
        let remaining = (pool.len() - i) as u64;
        let j = i + rng.below(remaining) as usize;
        pool.swap(i, j);
    }
    pool.truncate(count);
    pool.sort();
    pool
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn ids(n: usize) -> Vec<CaseId> {
        (0..n)
            .map(|i| {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&(i as u64 * 2_654_435_761).to_be_bytes());
                bytes[8..].copy_from_slice(&(i as u64).to_le_bytes());
                CaseId::from_random_bytes(bytes)
            })
            .collect()
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First outputs of the reference splitmix64.c seeded with 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
    }

    #[test]
    fn bounded_draws_stay_in_range_and_cover_it() {
        let mut rng = SplitMix64::new(42);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let v = rng.below(7);
            seen[v as usize] += 1;
        }
        for count in seen {
            assert!((850..1150).contains(&count), "{seen:?}");
        }
        assert_eq!(rng.below(1), 0);
    }

    #[test]
    fn the_count_is_the_rounded_share() {
        assert_eq!(draw_count(200, 100), 20);
        assert_eq!(draw_count(200, 50), 10);
        assert_eq!(draw_count(15, 100), 2); // 1.5 rounds up
        assert_eq!(draw_count(14, 100), 1); // 1.4 rounds down
        assert_eq!(draw_count(3, 10), 1); // 0.03 → at least one
        assert_eq!(draw_count(0, 100), 0);
        assert_eq!(draw_count(50, 0), 0);
        assert_eq!(draw_count(50, 1000), 50);
        assert_eq!(draw_count(50, 5000), 50);
    }

    #[test]
    fn the_same_seed_draws_the_same_cases_whatever_the_input_order() {
        let cases = ids(200);
        let first = draw(&cases, 100, 20_261_128);
        let mut reversed = cases.clone();
        reversed.reverse();
        assert_eq!(draw(&reversed, 100, 20_261_128), first);
        let mut rotated = cases.clone();
        rotated.rotate_left(77);
        assert_eq!(draw(&rotated, 100, 20_261_128), first);
        assert_eq!(first.len(), 20);
    }

    #[test]
    fn different_seeds_draw_different_cases() {
        let cases = ids(200);
        let draws: BTreeSet<Vec<CaseId>> = (0..50).map(|seed| draw(&cases, 100, seed)).collect();
        assert_eq!(draws.len(), 50, "50 seeds must give 50 different draws");
        assert_ne!(draw(&cases, 100, 1), draw(&cases, 100, 2));
    }

    #[test]
    fn draws_have_no_duplicates_come_from_the_input_and_respect_the_share() {
        let cases = ids(137);
        let all: BTreeSet<CaseId> = cases.iter().copied().collect();
        for (share, expected) in [(1, 1), (50, 7), (100, 14), (333, 46), (1000, 137)] {
            let drawn = draw(&cases, share, 9);
            assert_eq!(drawn.len(), expected, "share {share}‰");
            let unique: BTreeSet<CaseId> = drawn.iter().copied().collect();
            assert_eq!(unique.len(), drawn.len());
            assert!(unique.is_subset(&all));
        }
        // Duplicates in the input count once.
        let mut doubled = cases.clone();
        doubled.extend(cases.iter().copied());
        assert_eq!(draw(&doubled, 100, 9), draw(&cases, 100, 9));
        assert!(draw(&[], 100, 9).is_empty());
        assert!(draw(&cases, 0, 9).is_empty());
    }

    #[test]
    fn every_case_is_equally_likely_to_be_drawn() {
        // 40 cases, 25 % share → 10 drawn; over 4000 seeds each case should be drawn
        // about 1000 times.
        let cases = ids(40);
        let mut hits = vec![0u32; cases.len()];
        for seed in 0..4000 {
            for id in draw(&cases, 250, seed) {
                let i = cases.iter().position(|c| *c == id).unwrap();
                hits[i] += 1;
            }
        }
        assert_eq!(hits.iter().sum::<u32>(), 4000 * 10);
        for h in &hits {
            assert!((880..1120).contains(h), "{hits:?}");
        }
    }
}
