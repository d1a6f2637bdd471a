// Included by src/ too (see mod.rs), so no inner doc comment here.

use proptest::prelude::*;

/// Mostly visible ASCII, sometimes bytes past it and tabs.
pub fn header_value_bytes() -> BoxedStrategy<Vec<u8>> {
    prop::collection::vec(
        prop_oneof![8 => 0x20u8..0x7f, 1 => 0x80u8..=0xff, 1 => Just(b'\t')],
        0..24,
    )
    .boxed()
}
