//! Page geometry and checked ranges. Every byte range that enters the engine is proven here once
//! (no overflow, inside the VMO), so the code behind it can index pages without re-checking.

use crate::error::{VmError, VmResult};

/// Bytes in a page (and in a frame).
pub const PAGE_SIZE: usize = 4096;
const PAGE: u64 = PAGE_SIZE as u64;

/// The largest VMO size the engine accepts: 2^48 bytes (256 TiB). Keeping every valid offset
/// below 2^48 means that `offset + len` of any in-range access cannot overflow a `u64`.
pub const MAX_VMO_SIZE: u64 = 1 << 48;

/// Rounds `size` up to a whole number of pages; `None` when that overflows a `u64`.
pub fn round_up_to_page(size: u64) -> Option<u64> {
    size.checked_add(PAGE - 1).map(|s| s & !(PAGE - 1))
}

/// Rounds a requested VMO size up to pages and checks it against [`MAX_VMO_SIZE`].
pub fn checked_vmo_size(size: u64) -> VmResult<u64> {
    match round_up_to_page(size) {
        Some(rounded) if rounded <= MAX_VMO_SIZE => Ok(rounded),
        _ => Err(VmError::OutOfRange),
    }
}

/// Whether `value` is a multiple of the page size.
pub fn is_page_aligned(value: u64) -> bool {
    value % PAGE == 0
}

/// A byte range `[start, end)` proven to lie inside a VMO of the size it was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    start: u64,
    end: u64,
}

/// The part of one page that a byte range covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSpan {
    /// Index of the page in the VMO.
    pub page: u64,
    /// First byte of the span inside the page.
    pub in_page: usize,
    /// Bytes in the span.
    pub len: usize,
    /// Offset of the span from the start of the whole range (an index into the caller's buffer).
    pub in_range: usize,
}

impl ByteRange {
    /// Checks `[offset, offset + len)` against a VMO of `size` bytes: overflow or any byte past
    /// `size` is [`VmError::OutOfRange`]. An empty range at `offset == size` is valid.
    pub fn within(offset: u64, len: u64, size: u64) -> VmResult<ByteRange> {
        match offset.checked_add(len) {
            Some(end) if end <= size => Ok(ByteRange { start: offset, end }),
            _ => Err(VmError::OutOfRange),
        }
    }

    /// First byte.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Whether the range holds no byte.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Indices of every page the range touches, partly or wholly.
    pub fn pages(&self) -> core::ops::Range<u64> {
        if self.is_empty() {
            return 0..0;
        }
        // `end <= MAX_VMO_SIZE`, so rounding up cannot overflow.
        self.start / PAGE..self.end.div_ceil(PAGE)
    }

    /// Indices of the pages the range covers entirely.
    pub fn whole_pages(&self) -> core::ops::Range<u64> {
        let first = self.start.div_ceil(PAGE);
        let last = self.end / PAGE;
        first..last.max(first)
    }

    /// The range as a single span, when it is not empty and lies within one page.
    pub fn single_span(&self) -> Option<PageSpan> {
        let pages = self.pages();
        if pages.end - pages.start == 1 {
            self.spans().next()
        } else {
            None
        }
    }

    /// The span of `page`, one of the pages the range touches.
    pub fn span_of(&self, page: u64) -> PageSpan {
        let page_start = page * PAGE;
        let from = self.start.max(page_start);
        let to = self.end.min(page_start + PAGE);
        PageSpan {
            page,
            in_page: (from - page_start) as usize,
            len: (to - from) as usize,
            in_range: (from - self.start) as usize,
        }
    }

    /// The span of the range's last page, when the range touches more than one page.
    pub fn last_span(&self) -> Option<PageSpan> {
        let pages = self.pages();
        if pages.end - pages.start < 2 {
            return None;
        }
        let page = pages.end - 1;
        let page_start = page * PAGE;
        Some(PageSpan {
            page,
            in_page: 0,
            len: (self.end - page_start) as usize,
            in_range: (page_start - self.start) as usize,
        })
    }

    /// The range split at page boundaries, in order.
    pub fn spans(&self) -> impl Iterator<Item = PageSpan> {
        let (start, end) = (self.start, self.end);
        self.pages().map(move |page| {
            let page_start = page * PAGE;
            let from = start.max(page_start);
            let to = end.min(page_start + PAGE);
            // All three values are below PAGE_SIZE or below the range length, which the caller's
            // buffer (a slice) already proves fits a usize.
            PageSpan {
                page,
                in_page: (from - page_start) as usize,
                len: (to - from) as usize,
                in_range: (from - start) as usize,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn rounding_and_limits() {
        assert_eq!(round_up_to_page(0), Some(0));
        assert_eq!(round_up_to_page(1), Some(PAGE));
        assert_eq!(round_up_to_page(PAGE), Some(PAGE));
        assert_eq!(round_up_to_page(u64::MAX), None);
        assert_eq!(
            round_up_to_page(u64::MAX - PAGE + 1),
            Some(u64::MAX - PAGE + 1)
        );
        assert_eq!(checked_vmo_size(MAX_VMO_SIZE), Ok(MAX_VMO_SIZE));
        assert_eq!(checked_vmo_size(MAX_VMO_SIZE + 1), Err(VmError::OutOfRange));
        assert_eq!(checked_vmo_size(u64::MAX), Err(VmError::OutOfRange));
    }

    #[test]
    fn ranges_reject_overflow_and_overrun() {
        assert_eq!(
            ByteRange::within(u64::MAX, 1, u64::MAX),
            Err(VmError::OutOfRange)
        );
        assert_eq!(
            ByteRange::within(1, u64::MAX, u64::MAX),
            Err(VmError::OutOfRange)
        );
        assert_eq!(ByteRange::within(PAGE, 1, PAGE), Err(VmError::OutOfRange));
        let empty_at_end = ByteRange::within(PAGE, 0, PAGE).unwrap();
        assert!(empty_at_end.is_empty());
        assert_eq!(empty_at_end.pages(), 0..0);
        assert_eq!(empty_at_end.spans().count(), 0);
    }

    #[test]
    fn spans_cover_the_range_exactly() {
        let range = ByteRange::within(PAGE - 10, PAGE + 20, 4 * PAGE).unwrap();
        let spans: Vec<_> = range.spans().collect();
        assert_eq!(spans.len(), 3);
        assert_eq!(
            (spans[0].page, spans[0].in_page, spans[0].len),
            (0, PAGE_SIZE - 10, 10)
        );
        assert_eq!(
            (spans[1].page, spans[1].in_page, spans[1].len),
            (1, 0, PAGE_SIZE)
        );
        assert_eq!((spans[2].page, spans[2].in_page, spans[2].len), (2, 0, 10));
        assert_eq!(spans[2].in_range, PAGE_SIZE + 10);
        assert_eq!(range.whole_pages(), 1..2);
        assert_eq!(range.last_span(), Some(spans[2]));
        assert_eq!(range.span_of(1), spans[1]);
        assert_eq!(range.span_of(0), spans[0]);
        assert_eq!(ByteRange::within(0, 10, PAGE).unwrap().last_span(), None);
        let inside_one_page = ByteRange::within(10, 20, PAGE).unwrap();
        assert_eq!(inside_one_page.whole_pages().count(), 0);
    }
}
