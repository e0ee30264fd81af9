//! The order in which an epoch visits the training images, and where the next batch comes
//! from: one rule, followed by both engines and by the page's mirror of a worker's position.

use vae_reference::SplitMix64;

/// Where training stands in the data: the epoch (0 before the first) and the position of the
/// next batch in that epoch's order (`u32::MAX` before the first step). A checkpoint records
/// both; every engine moves it by [`BatchCursor::advance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchCursor {
    pub epoch: u64,
    pub position: u32,
}

impl Default for BatchCursor {
    fn default() -> Self {
        Self::START
    }
}

impl BatchCursor {
    /// Before the first step: the first batch starts epoch 1.
    pub const START: Self = Self {
        epoch: 0,
        position: u32::MAX,
    };

    /// Partway through an epoch (a resumed run): that epoch's order is needed before the next
    /// batch.
    pub fn is_mid_epoch(&self) -> bool {
        self.epoch > 0 && self.position != u32::MAX
    }

    /// Whether the next batch of `batch` images starts a new epoch: there has been none, or
    /// fewer than a batch of this epoch's `count` images are left (the remainder of an epoch's
    /// shuffle is left out, as in the Flax example).
    pub fn starts_epoch(&self, batch: u32, count: usize) -> bool {
        self.position == u32::MAX || self.position as usize + batch as usize > count
    }

    /// Takes the next batch: where it starts in its epoch's order, and whether it starts a new
    /// epoch (whose order, `epoch_order(seed, self.epoch, count)`, the caller then needs).
    pub fn advance(&mut self, batch: u32, count: usize) -> (u32, bool) {
        let new_epoch = self.starts_epoch(batch, count);
        if new_epoch {
            self.epoch += 1;
            self.position = 0;
        }
        let first = self.position;
        self.position += batch;
        (first, new_epoch)
    }

    /// The epoch the next step belongs to (1 for the first) and how many of its steps are done.
    pub fn progress(&self, batch: u32, steps_per_epoch: u64) -> (u64, u64) {
        if self.position == u32::MAX {
            return (1, 0);
        }
        let done = u64::from(self.position / batch);
        if done >= steps_per_epoch {
            (self.epoch + 1, 0)
        } else {
            (self.epoch, done)
        }
    }
}

/// The order in which epoch `epoch` visits `count` images: a Fisher–Yates shuffle seeded by
/// (`seed`, `epoch`), so a run is reproducible and any epoch can be recomputed alone.
pub fn epoch_order(seed: u64, epoch: u64, count: usize) -> Vec<u32> {
    // Distinct, well-mixed streams per epoch: SplitMix64 scrambles the combined seed itself.
    let mut rng = SplitMix64::new(seed ^ epoch.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut order: Vec<u32> = (0..count as u32).collect();
    for i in (1..count).rev() {
        // Lemire's multiply-shift maps 64 random bits to 0..=i with negligible bias.
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::{epoch_order, BatchCursor};

    #[test]
    fn the_cursor_takes_whole_batches_and_starts_an_epoch_when_fewer_are_left() {
        // 10 images, batches of 4: two batches an epoch, the remainder of 2 left out.
        let mut cursor = BatchCursor::START;
        assert!(!cursor.is_mid_epoch());
        assert_eq!(cursor.progress(4, 2), (1, 0));
        let taken: Vec<(u32, bool, u64)> = (0..5)
            .map(|_| {
                let (first, new_epoch) = cursor.advance(4, 10);
                (first, new_epoch, cursor.epoch)
            })
            .collect();
        assert_eq!(
            taken,
            [
                (0, true, 1),
                (4, false, 1),
                (0, true, 2),
                (4, false, 2),
                (0, true, 3)
            ]
        );
        assert!(cursor.is_mid_epoch());
        assert_eq!(cursor.progress(4, 2), (3, 1));
        cursor.advance(4, 10);
        // Both of epoch 3's batches done: the next step is epoch 4's first.
        assert_eq!(cursor.progress(4, 2), (4, 0));
        assert!(cursor.starts_epoch(4, 10));
    }

    #[test]
    fn an_epoch_order_is_a_seeded_permutation_that_changes_every_epoch() {
        let order = epoch_order(7, 0, 1000);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<u32>>());
        assert_eq!(order, epoch_order(7, 0, 1000));
        assert_ne!(order, epoch_order(7, 1, 1000));
        assert_ne!(order, epoch_order(8, 0, 1000));
        assert_ne!(order, sorted);
        assert!(epoch_order(1, 0, 0).is_empty());
        assert_eq!(epoch_order(1, 0, 1), vec![0]);
    }

    #[test]
    fn every_image_is_equally_likely_in_every_position() {
        // 3 images, 6000 epochs: each of the 6 permutations ~1000 times.
        let mut counts = std::collections::HashMap::new();
        for epoch in 0..6000 {
            *counts.entry(epoch_order(3, epoch, 3)).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 6);
        // Binomial sd ≈ 29: ±150 is over 5 sd, and the seed is fixed, so this cannot flake.
        assert!(
            counts.values().all(|&n| (850..=1150).contains(&n)),
            "{counts:?}"
        );
    }
}
