//! The snapshot-and-restore loop of the benchmarks through the Rust API, alone in its process:
//! frames are placed where the runtime's userfaultfd window shows them only if no other thread
//! took those frames first, so nothing else may allocate meanwhile.

use zircon::zx::{self, Mapping, Vmar, VmarFlags, Vmo};

const PAGE: usize = 4096;
const RW: VmarFlags = VmarFlags::PERM_READ.union(VmarFlags::PERM_WRITE);

fn mapped_bytes(mapping: &Mapping, offset: usize, len: usize) -> zx::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    mapping.read_at(offset, &mut bytes)?;
    Ok(bytes)
}

/// Whether the runtime shows the page at `addr` through a userfaultfd window, or `None` when it
/// uses no windows (`ZIRCON_HOST_WINDOWS=0`, or a host without userfaultfd).
fn windowed(addr: usize) -> Option<bool> {
    let runtime = zircon::runtime::Runtime::get();
    runtime.process().address_space().with_mmu(|mmu| {
        let host = mmu.as_any().downcast_ref::<zircon::host_mmu::HostMmu>()?;
        host.uses_windows().then(|| host.is_windowed(addr as u64))
    })
}

#[test]
fn a_snapshot_restored_in_place_round_after_round_stays_private_and_in_its_window() -> zx::Result<()>
{
    // The snapshot-and-restore loop of the benchmarks: the dirty pages of every round must stay
    // private to the mapped snapshot, and keep being shown through the window (each write
    // fault gets its frame where the window shows it), never as host mappings of their own.
    let pages = 64;
    let len = pages * PAGE;
    let base = Vmo::create(len as u64)?;
    base.write(&vec![0x5a; len], 0)?;
    let root = Vmar::root_self();
    let mut snapshot = base.snapshot(0, len as u64)?;
    let mut mapping = root.map(RW, 0, &snapshot, 0, len)?;
    let offset = mapping.addr() - root.info()?.base;
    for round in 1..=4u8 {
        for page in [3, 17, 40, 63] {
            mapping.write_at(page * PAGE + 8, &[round])?;
        }
        for page in [3, 17, 40, 63] {
            let at = mapping.addr() + page * PAGE;
            assert_ne!(
                windowed(at),
                Some(false),
                "round {round}: page {page} is an island"
            );
            assert_eq!(mapped_bytes(&mapping, page * PAGE + 7, 2)?, [0x5a, round]);
            assert_eq!(base.read_to_vec((page * PAGE + 8) as u64, 1)?, [0x5a]);
        }
        assert_eq!(mapped_bytes(&mapping, 5 * PAGE + 8, 1)?, [0x5a]);
        // Restore: unmap, close the dirty snapshot, map a fresh one in the same place.
        mapping.unmap()?;
        drop(snapshot);
        snapshot = base.snapshot(0, len as u64)?;
        mapping = root.map(RW | VmarFlags::SPECIFIC, offset, &snapshot, 0, len)?;
        assert_eq!(mapped_bytes(&mapping, 3 * PAGE + 8, 1)?, [0x5a], "restored");
    }
    assert_eq!(base.info()?.committed_bytes, len as u64);
    assert_eq!(snapshot.info()?.committed_bytes, 0);
    Ok(())
}
