//! Bookkeeping of which bytes of the pool's chunks are free: first fit over
//! each chunk's free ranges, kept sorted and coalesced. Pure arithmetic; it
//! never touches the memory it describes.

use core::ops::Range;

/// A block handed out by [`Arena::allocate`]: `len` bytes at `offset` in
/// chunk number `chunk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    pub chunk: usize,
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug)]
struct Chunk {
    /// Address the chunk's code runs at: alignment is of this address.
    base: u64,
    /// Free ranges of offsets, ascending, disjoint and never touching (two
    /// touching ranges are merged).
    free: Vec<Range<usize>>,
    /// Length of the longest free range: a chunk without room is passed
    /// over without looking at its ranges.
    longest: usize,
}

impl Chunk {
    fn update_longest(&mut self) {
        self.longest = self.free.iter().map(|range| range.len()).max().unwrap_or(0);
    }
}

/// The free space of every chunk, in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    chunks: Vec<Chunk>,
}

impl Arena {
    /// Adds a chunk of `len` bytes, all free, whose code runs at `base`,
    /// and returns its number.
    pub fn add_chunk(&mut self, base: u64, len: usize) -> usize {
        let mut free = Vec::new();
        if len > 0 {
            free.push(0..len);
        }
        self.chunks.push(Chunk {
            base,
            free,
            longest: len,
        });
        self.chunks.len() - 1
    }

    /// The first free block of `len` bytes (at least one) whose address is
    /// a multiple of `align` (a power of two), searching chunks in order.
    pub fn allocate(&mut self, len: usize, align: usize) -> Option<Block> {
        (0..self.chunks.len()).find_map(|chunk| self.allocate_in(chunk, len, align))
    }

    /// As [`Arena::allocate`], in chunk number `chunk` only.
    pub fn allocate_in(&mut self, chunk: usize, len: usize, align: usize) -> Option<Block> {
        let len = len.max(1);
        let this = self.chunks.get_mut(chunk)?;
        if this.longest < len {
            return None;
        }
        let base = this.base;
        let free = &mut this.free;
        let (index, offset) = free.iter().enumerate().find_map(|(index, range)| {
            let offset = aligned_offset(base, range.start, align)?;
            (offset.checked_add(len)? <= range.end).then_some((index, offset))
        })?;
        let range = free[index].clone();
        let before = range.start..offset;
        let after = offset + len..range.end;
        // The alignment gap before the block stays free, as does the rest.
        match (before.is_empty(), after.is_empty()) {
            (true, true) => {
                free.remove(index);
            }
            (true, false) => free[index] = after,
            (false, true) => free[index] = before,
            (false, false) => {
                free[index] = before;
                free.insert(index + 1, after);
            }
        }
        this.update_longest();
        Some(Block { chunk, offset, len })
    }

    /// Makes `block` free again, merging it with the free ranges it
    /// touches.
    ///
    /// # Panics
    ///
    /// If `block` is not one [`Arena::allocate`] handed out and not freed
    /// since: a double free would let two traces share bytes.
    pub fn free(&mut self, block: Block) {
        let this = &mut self.chunks[block.chunk];
        let free = &mut this.free;
        let start = block.offset;
        let end = start + block.len;
        // The first free range after the block.
        let index = free.partition_point(|range| range.start < start);
        let overlaps_before = index > 0 && free[index - 1].end > start;
        let overlaps_after = index < free.len() && free[index].start < end;
        assert!(
            !overlaps_before && !overlaps_after,
            "block {block:?} freed while (partly) free"
        );
        let joins_before = index > 0 && free[index - 1].end == start;
        let joins_after = index < free.len() && free[index].start == end;
        match (joins_before, joins_after) {
            (true, true) => {
                free[index - 1].end = free[index].end;
                free.remove(index);
            }
            (true, false) => free[index - 1].end = end,
            (false, true) => free[index].start = start,
            (false, false) => free.insert(index, start..end),
        }
        this.update_longest();
    }
}

/// The least offset at or after `offset` whose address `base + offset` is a
/// multiple of `align`.
fn aligned_offset(base: u64, offset: usize, align: usize) -> Option<usize> {
    let address = base.checked_add(u64::try_from(offset).ok()?)?;
    let mask = u64::try_from(align).ok()?.checked_sub(1)?;
    let aligned = address.checked_add(mask)? & !mask;
    offset.checked_add(usize::try_from(aligned - address).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_ranges(arena: &Arena, chunk: usize) -> Vec<(usize, usize)> {
        let free = &arena.chunks[chunk].free;
        free.iter().map(|range| (range.start, range.end)).collect()
    }

    #[test]
    fn first_fit_in_address_order() {
        let mut arena = Arena::default();
        arena.add_chunk(0x10000, 256);
        let a = arena.allocate(100, 16).unwrap();
        let b = arena.allocate(100, 16).unwrap();
        assert_eq!((a.offset, b.offset), (0, 112));
        // The alignment gap and 44 bytes at the end are free: a third block
        // of 100 does not fit.
        assert_eq!(free_ranges(&arena, 0), [(100, 112), (212, 256)]);
        assert_eq!(arena.allocate(100, 16), None);
    }

    #[test]
    fn alignment_is_of_the_address() {
        let mut arena = Arena::default();
        arena.add_chunk(0x10008, 64);
        let block = arena.allocate(8, 16).unwrap();
        assert_eq!(block.offset, 8);
        // The gap before the block stays free.
        assert_eq!(free_ranges(&arena, 0), [(0, 8), (16, 64)]);
        assert_eq!(arena.allocate(8, 8).unwrap().offset, 0);
    }

    #[test]
    fn freed_neighbours_coalesce() {
        let mut arena = Arena::default();
        arena.add_chunk(0, 300);
        let blocks: Vec<Block> = (0..3).map(|_| arena.allocate(100, 4).unwrap()).collect();
        assert!(free_ranges(&arena, 0).is_empty());
        arena.free(blocks[0]);
        arena.free(blocks[2]);
        assert_eq!(free_ranges(&arena, 0), [(0, 100), (200, 300)]);
        arena.free(blocks[1]);
        assert_eq!(free_ranges(&arena, 0), [(0, 300)]);
        assert_eq!(arena.allocate(300, 4).unwrap().offset, 0);
    }

    #[test]
    fn later_chunks_are_searched_in_order() {
        let mut arena = Arena::default();
        arena.add_chunk(0x1000, 64);
        arena.add_chunk(0x2000, 256);
        let block = arena.allocate(128, 16).unwrap();
        assert_eq!((block.chunk, block.offset), (1, 0));
        assert_eq!(arena.allocate_in(0, 128, 16), None);
        assert_eq!(arena.allocate_in(7, 1, 1), None);
    }

    #[test]
    #[should_panic(expected = "freed while (partly) free")]
    fn double_free_is_refused() {
        let mut arena = Arena::default();
        arena.add_chunk(0, 64);
        let block = arena.allocate(16, 16).unwrap();
        arena.free(block);
        arena.free(block);
    }
}
