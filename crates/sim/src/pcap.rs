//! Classic pcap output (the 24-byte global header and 16-byte record headers).

use std::io::Write;

use crate::Capture;

/// Largest frame recorded whole.
pub(crate) const SNAPLEN: u32 = 65_535;

pub(crate) fn write(cap: &Capture, mut w: impl Write, nanos: bool) -> std::io::Result<()> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&magic.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone and sigfigs stay 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&cap.linktype.to_le_bytes());
    w.write_all(&h)?;
    for (ts, data) in &cap.packets {
        let frac = if nanos {
            ts.subsec_nanos()
        } else {
            ts.subsec_nanos() / 1_000
        };
        let len = u32::try_from(data.len())
            .map_err(|_| std::io::Error::other("frame longer than 4 GiB"))?;
        let secs = u32::try_from(ts.secs())
            .map_err(|_| std::io::Error::other("timestamp outside the pcap range"))?;
        let mut r = [0u8; 16];
        r[0..4].copy_from_slice(&secs.to_le_bytes());
        r[4..8].copy_from_slice(&frac.to_le_bytes());
        r[8..12].copy_from_slice(&len.min(SNAPLEN).to_le_bytes());
        r[12..16].copy_from_slice(&len.to_le_bytes());
        w.write_all(&r)?;
        w.write_all(&data[..data.len().min(SNAPLEN as usize)])?;
    }
    Ok(())
}
