//! A read buffer that refuses implausible collection sizes before kafka-protocol allocates them.
//!
//! kafka-protocol sizes a `Vec` from the wire count before reading its elements, so a malformed count
//! (2^31 elements of 100 bytes) makes the allocator abort the process. Kafka's generated readers refuse
//! such a frame: "Tried to allocate a collection of size N, but there are only M bytes remaining". This
//! buffer applies the same rule where it can see it: an `INT32` (array counts of non-flexible versions) or
//! a multi-byte `UNSIGNED_VARINT` (compact counts) larger than both the bytes remaining and
//! [`COUNT_GUARD`] fails the read. A legitimate int32 field above 2^26 that exceeds the rest of the frame
//! (none of Kafka's defaults: `fetch.max.bytes` is 52428800) would be refused too; that is the price of
//! not patching the crate.

use bytes::{Buf, Bytes, TryGetError};
use kafka_protocol::protocol::buf::ByteBuf;

/// Counts above this many elements are checked against the bytes remaining (2^26: at most a few GiB of
/// untouched virtual memory even for the largest element types).
pub const COUNT_GUARD: u64 = 1 << 26;

/// `Bytes` with the collection-size guard.
pub struct GuardedBuf {
    inner: Bytes,
    /// A varint being read byte by byte: (value so far, shift).
    varint: Option<(u64, u32)>,
}

impl GuardedBuf {
    /// Wraps the bytes to decode.
    pub fn new(inner: Bytes) -> Self {
        GuardedBuf {
            inner,
            varint: None,
        }
    }

    fn refuse(&self, requested: u64) -> TryGetError {
        TryGetError {
            requested: requested.min(usize::MAX as u64) as usize,
            available: self.inner.remaining(),
        }
    }
}

impl Buf for GuardedBuf {
    fn remaining(&self) -> usize {
        self.inner.remaining()
    }

    fn chunk(&self) -> &[u8] {
        self.inner.chunk()
    }

    fn advance(&mut self, cnt: usize) {
        self.varint = None;
        self.inner.advance(cnt)
    }

    fn try_get_i32(&mut self) -> Result<i32, TryGetError> {
        self.varint = None;
        let value = self.inner.try_get_i32()?;
        if value as i64 > COUNT_GUARD as i64 && value as usize > self.inner.remaining() {
            return Err(self.refuse(value as u64));
        }
        Ok(value)
    }

    fn try_get_u8(&mut self) -> Result<u8, TryGetError> {
        let byte = self.inner.try_get_u8()?;
        let (value, shift) = self.varint.take().unwrap_or((0, 0));
        let value = value | (((byte & 0x7F) as u64) << shift.min(63));
        if byte & 0x80 != 0 {
            self.varint = (shift < 35).then_some((value, shift + 7));
        } else if shift > 0 && value > COUNT_GUARD && value as usize > self.inner.remaining() + 1 {
            return Err(self.refuse(value));
        }
        Ok(byte)
    }
}

impl ByteBuf for GuardedBuf {
    fn peek_bytes(&mut self, r: std::ops::Range<usize>) -> Bytes {
        self.inner.slice(r)
    }

    fn get_bytes(&mut self, size: usize) -> Bytes {
        self.varint = None;
        self.inner.split_to(size)
    }
}
