//! Deterministic pseudo-randomness for generated data and template UUIDs:
//! the same seed always gives the same values, so runs can be replayed.

/// A tiny, fast, well-distributed PRNG; determinism is what matters here.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next value of the sequence, advancing the state: the same seed gives the same sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A UUID shaped as version 4 (RFC 4122 variant) from the next 128 bits.
    pub fn uuid(&mut self) -> String {
        let a = (self.next_u64() & 0xffff_ffff_ffff_0fff) | 0x4000;
        let b = (self.next_u64() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_have_the_version_4_shape_and_differ() {
        let mut random = SplitMix64(1);
        let (first, second) = (random.uuid(), random.uuid());
        assert_ne!(first, second);
        for uuid in [first, second] {
            let parts: Vec<&str> = uuid.split('-').collect();
            assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
            assert!(parts[2].starts_with('4'), "{uuid}");
            assert!("89ab".contains(&parts[3][..1]), "{uuid}");
        }
    }
}
