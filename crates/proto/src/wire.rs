//! Bounds-checked, zero-copy reading of wire data, shared by every dissector.
//!
//! Every read returns `None` instead of panicking when the input is short, so a
//! dissector written with [`Cursor`] cannot index out of bounds.

/// A forward-only reader over a byte slice.
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    #[inline]
    pub fn u8(&mut self) -> Option<u8> {
        let v = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    #[inline]
    pub fn be16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    #[inline]
    pub fn le16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    #[inline]
    pub fn le24(&mut self) -> Option<u32> {
        let b = self.take(3)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }
    #[inline]
    pub fn le32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    #[inline]
    pub fn be32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    #[inline]
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    #[inline]
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
}

/// Big-endian u16 at `off`, if present.
#[inline]
pub fn be16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(off)?, *b.get(off + 1)?]))
}

/// Little-endian u16 at `off`, if present.
#[inline]
pub fn le16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(off)?, *b.get(off + 1)?]))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn short_reads_are_none() {
        let mut c = Cursor::new(&[1, 2, 3]);
        assert_eq!(c.be16(), Some(0x0102));
        assert_eq!(c.be16(), None);
        assert_eq!(c.u8(), Some(3));
        assert_eq!(c.u8(), None);
        assert_eq!(c.take(usize::MAX), None);
        assert_eq!(be16_at(&[1], 0), None);
        assert_eq!(le16_at(&[1, 2], 0), Some(0x0201));
    }
}
