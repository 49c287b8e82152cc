//! Kafka's default partitioning (`BuiltInPartitioner`, KIP-794): a keyed record goes to
//! `toPositive(murmur2(key)) % partitions`; a record without a key (or with `partitioner.ignore.keys`)
//! goes to a sticky partition, chosen at random among partitions with a leader, that changes once
//! `batch.size` bytes have been produced to it.

/// Kafka `Utils.murmur2` (seed 0x9747b28c), bit for bit.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    for chunk in data.chunks_exact(4) {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = &data[length & !3..];
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(number: i32) -> i32 {
    number & 0x7fff_ffff
}

/// The partition of a keyed record.
pub fn partition_for_key(key: &[u8], partition_count: i32) -> i32 {
    debug_assert!(partition_count > 0);
    to_positive(murmur2(key)) % partition_count
}

/// The sticky partition of one topic for records without a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StickyPartition {
    partition: i32,
    produced_bytes: usize,
}

/// Chooses sticky partitions with a seeded generator (determinism: no global randomness).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StickyPartitioner {
    rng_state: u64,
}

impl StickyPartitioner {
    /// A partitioner whose random choices follow `seed`.
    pub fn new(seed: u64) -> Self {
        StickyPartitioner {
            rng_state: seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The partition for a record of `record_bytes` without a key. `available` lists the partitions
    /// with a known leader (Kafka prefers them); `current` is the topic's sticky state.
    pub fn partition(
        &mut self,
        current: &mut Option<StickyPartition>,
        partition_count: i32,
        available: &[i32],
        record_bytes: usize,
        batch_size: usize,
    ) -> i32 {
        debug_assert!(partition_count > 0);
        let sticky = match current {
            Some(sticky) if sticky.partition < partition_count => sticky,
            _ => {
                let partition = self.choose(partition_count, available, None);
                current.insert(StickyPartition {
                    partition,
                    produced_bytes: 0,
                })
            }
        };
        let partition = sticky.partition;
        sticky.produced_bytes += record_bytes;
        if sticky.produced_bytes >= batch_size {
            // Kafka switches after the partition received at least batch.size bytes.
            sticky.partition = self.choose(partition_count, available, Some(partition));
            sticky.produced_bytes = 0;
        }
        partition
    }

    fn choose(&mut self, partition_count: i32, available: &[i32], avoid: Option<i32>) -> i32 {
        let candidates: Vec<i32> = if available.is_empty() {
            (0..partition_count).collect()
        } else {
            available.to_vec()
        };
        let others: Vec<i32> = candidates
            .iter()
            .copied()
            .filter(|p| Some(*p) != avoid)
            .collect();
        let pool = if others.is_empty() {
            candidates
        } else {
            others
        };
        pool[(self.next_u64() % pool.len() as u64) as usize]
    }

    /// splitmix64.
    fn next_u64(&mut self) -> u64 {
        self.rng_state = self.rng_state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
