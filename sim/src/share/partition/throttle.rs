//! Delivery throttling (KAFKA-17541, 4.2+; spec 1.3): records that keep coming back are handed out in
//! ever smaller pieces, so a poison record inside a batch does not archive the whole batch.

use super::in_flight_batch::InFlightBatch;

/// How a throttled batch is acquired in this fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Throttle {
    /// At most this many offsets of the batch.
    pub(crate) offsets_max: u64,
}

/// `T = max(2, ceil(L / 2))`.
pub(crate) fn throttle_threshold(delivery_count_limit: u16) -> u16 {
    delivery_count_limit.div_ceil(2).max(2)
}

/// The last attempt: with `L > 2`, a record at `dc == L - 1` is delivered alone.
pub(crate) fn is_last_attempt(delivery_count: u16, delivery_count_limit: u16) -> bool {
    delivery_count_limit > 2 && delivery_count == delivery_count_limit - 1
}

/// `shouldThrottleRecordsDelivery`: looks at the first acquirable offset of `batch` inside
/// `[request_first, request_last]`; with `dc >= T` the batch is throttled to `max(1, n >> (dc - T + 1))`
/// offsets (n = the batch's offset count), or to one on the last attempt.
pub(crate) fn throttle_for(
    batch: &InFlightBatch,
    request_first: i64,
    request_last: i64,
    delivery_count_limit: u16,
) -> Option<Throttle> {
    let mut first_count = None;
    batch.for_each_unit_in(request_first, request_last, |_, _, state| {
        if first_count.is_none() && state.is_acquirable() {
            first_count = Some(state.delivery_count);
        }
    });
    let delivery_count = first_count?;
    if is_last_attempt(delivery_count, delivery_count_limit) {
        return Some(Throttle { offsets_max: 1 });
    }
    let threshold = throttle_threshold(delivery_count_limit);
    if delivery_count < threshold {
        return None;
    }
    let shift = u32::from(delivery_count - threshold + 1);
    let offsets_max = batch.offset_count().checked_shr(shift).unwrap_or(0).max(1);
    Some(Throttle { offsets_max })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec 1.3: T = max(2, ceil(L/2)).
    #[test]
    fn threshold_is_half_the_limit_rounded_up_at_least_two() {
        assert_eq!(throttle_threshold(2), 2);
        assert_eq!(throttle_threshold(3), 2);
        assert_eq!(throttle_threshold(5), 3);
        assert_eq!(throttle_threshold(10), 5);
        assert_eq!(throttle_threshold(25), 13);
    }

    /// Spec 1.3: the last attempt exists only for L > 2.
    #[test]
    fn last_attempt_needs_a_limit_above_two() {
        assert!(is_last_attempt(4, 5));
        assert!(!is_last_attempt(3, 5));
        assert!(!is_last_attempt(1, 2));
    }
}
