//! `zxctl`: shows the memory system at work. Without arguments it runs the tour: each engine
//! operation on a VMO, its result, and the VMO's accounting afterwards, then a family of clones,
//! then a VMO mapped into an address space and the translations its MMU holds.

use std::process::ExitCode;
use std::sync::Arc;

use vm_engine::{
    AddressSpace, ChildKind, FrameSource, InMemoryFrames, InMemoryPlatform, MapRequest, PageTarget,
    Perms, SoftwareMmu, VmResult, Vmo, VmoOptions,
};
use vm_kernel::status::from_vm_error;

const PAGE: u64 = vm_engine::PAGE_SIZE as u64;

/// Prints one step of the tour: the call, its outcome, and the VMO's state afterwards.
fn step<T>(vmo: &Vmo<InMemoryPlatform>, call: &str, outcome: VmResult<T>) {
    let result = match outcome {
        Ok(_) => "ok".to_string(),
        Err(error) => format!("{error} (status {})", from_vm_error(error)),
    };
    let info = vmo.info();
    println!(
        "  {call:<44} -> {result:<40} size {:>6}  committed {:>6}  frames in use {}",
        info.size,
        info.committed_bytes,
        vmo.frames().frames_in_use()
    );
}

fn tour() -> VmResult<()> {
    println!("A VMO is a resizable, sparse array of pages; pages are committed on first write.\n");
    let frames = Arc::new(InMemoryFrames::with_limit(6));
    let vmo = Vmo::<InMemoryPlatform>::create(
        frames.clone(),
        3 * PAGE + 1,
        VmoOptions { resizable: true },
    )?;
    step(&vmo, "create(3 pages + 1 byte, resizable)", Ok(()));
    step(
        &vmo,
        "write(page 1 + 10, \"hello\")",
        vmo.write(PAGE + 10, b"hello"),
    );
    let mut back = [0u8; 5];
    let read = vmo.read(PAGE + 10, &mut back);
    step(&vmo, "read(page 1 + 10, 5 bytes)", read);
    println!("      read back {:?}", String::from_utf8_lossy(&back));
    step(&vmo, "commit(whole VMO)", vmo.commit(0, 4 * PAGE));
    step(&vmo, "zero(page 1 + 10, 5 bytes)", vmo.zero(PAGE + 10, 5));
    step(&vmo, "decommit(page 0, 2 pages)", vmo.decommit(0, 2 * PAGE));
    step(
        &vmo,
        "decommit(page 0 + 1, 1 page)  misaligned",
        vmo.decommit(1, PAGE),
    );
    step(
        &vmo,
        "write(page 4, 1 byte)  past the end",
        vmo.write(4 * PAGE, &[1]),
    );
    step(&vmo, "set_size(64 pages)", vmo.set_size(64 * PAGE));
    step(
        &vmo,
        "commit(64 pages)  limit of 6 frames",
        vmo.commit(0, 64 * PAGE),
    );
    step(&vmo, "set_size(1 page)  frees the rest", vmo.set_size(PAGE));
    drop(vmo);
    println!(
        "\nAfter the VMO is dropped: frames in use {}",
        frames.frames_in_use()
    );
    clones()
}

fn main() -> ExitCode {
    match tour() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("zxctl: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints each VMO of a family with its committed bytes (pages it pays for) and populated bytes
/// (pages it can see).
fn family(frames: &InMemoryFrames, vmos: &[(&str, &Vmo<InMemoryPlatform>)]) {
    for (name, vmo) in vmos {
        let info = vmo.info();
        println!(
            "      {name:<10} committed {:>2} pages, sees {:>2}",
            info.committed_bytes / PAGE,
            info.populated_bytes / PAGE
        );
    }
    println!("      frames in use: {}", frames.frames_in_use());
}

/// The second part of the tour: a snapshot, a one-way clone, and who pays for what.
fn clones() -> VmResult<()> {
    println!(
        "\nClones share pages until one side writes; each write allocates at most one frame.\n"
    );
    let frames = Arc::new(InMemoryFrames::new());
    let original =
        Vmo::<InMemoryPlatform>::create(frames.clone(), 4 * PAGE, VmoOptions::default())?;
    original.write(0, &[1; 4 * PAGE as usize])?;
    let snapshot =
        original.create_child(ChildKind::Snapshot, 0, 4 * PAGE, VmoOptions::default())?;
    println!("  snapshot of a 4-page VMO: nothing copied");
    family(&frames, &[("original", &original), ("snapshot", &snapshot)]);
    snapshot.write(PAGE, b"mine")?;
    original.write(2 * PAGE, b"also mine")?;
    println!("  snapshot writes page 1, original writes page 2: one new frame each");
    family(&frames, &[("original", &original), ("snapshot", &snapshot)]);
    let legacy = original.create_child(ChildKind::OneWay, 0, 4 * PAGE, VmoOptions::default())?;
    original.write(3 * PAGE, b"seen by the one-way clone")?;
    let mut seen = [0u8; 25];
    legacy.read(3 * PAGE, &mut seen)?;
    println!(
        "  a one-way (legacy) clone reads the original's later write: {:?}",
        String::from_utf8_lossy(&seen)
    );
    drop(legacy);
    drop(original);
    println!("  original closed: the snapshot now pays for every page it still shares");
    family(&frames, &[("snapshot", &snapshot)]);
    drop(snapshot);
    println!("\nAll closed: frames in use {}", frames.frames_in_use());
    mappings()
}

/// Prints what the MMU translates the mapped page to.
fn translation(space: &AddressSpace<InMemoryPlatform>, addr: u64, what: &str) {
    let shown = match space.with_mmu(|mmu| mmu.translation(addr)) {
        None => "no translation (the next access faults)".to_string(),
        Some((PageTarget::Frame(address), perms)) => format!("frame {address:#x}, {perms:?}"),
        Some((PageTarget::Zeros, perms)) => format!("the zero page, {perms:?}"),
    };
    println!("  {what:<52} -> {shown}");
}

/// The third part of the tour: faults fill the MMU; changes to the page empty it again.
fn mappings() -> VmResult<()> {
    println!("\nA mapping shows a VMO in an address space; faults install translations.\n");
    let frames = Arc::new(InMemoryFrames::new());
    let vmo = Arc::new(Vmo::<InMemoryPlatform>::create(
        frames,
        PAGE,
        VmoOptions::default(),
    )?);
    let space =
        AddressSpace::<InMemoryPlatform>::new(1 << 30, 1 << 30, Box::new(SoftwareMmu::new()))?;
    let addr = space.root().map(MapRequest {
        offset: None,
        overwrite: false,
        vmo: vmo.clone(),
        vmo_offset: 0,
        len: PAGE,
        perms: Perms::READ | Perms::WRITE,
        max_perms: Perms::all(),
        align: PAGE,
        populate: false,
        keep_alive: None,
    })?;
    translation(&space, addr, &format!("map 1 page at {addr:#x}"));
    let mut byte = [0u8];
    let _ = space.read(addr, &mut byte);
    translation(&space, addr, "read of a page never written");
    let _ = space.write(addr, b"x");
    translation(&space, addr, "write: a frame of its own, writable");
    let snapshot = vmo.create_child(ChildKind::Snapshot, 0, PAGE, VmoOptions::default())?;
    translation(&space, addr, "snapshot taken: write access removed");
    let _ = space.write(addr, b"y");
    translation(&space, addr, "write again: copied, writable again");
    snapshot.read(0, &mut byte)?;
    println!(
        "      the snapshot still reads {:?}",
        String::from_utf8_lossy(&byte)
    );
    drop(snapshot);
    vmo.decommit(0, PAGE)?;
    translation(&space, addr, "decommit: the stale translation is gone");
    Ok(())
}
