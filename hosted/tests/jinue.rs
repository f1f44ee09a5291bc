//! The Jinue personality through the kernel's Rust API (spec/jinue.md): descriptor errors in
//! the spec's order, DESTROY and EIO, DUP and MINT, and MCLONE sharing memory between address
//! spaces page for page (holes included), checked through the address spaces' own accesses.

use std::sync::Arc;

use zircon::engine::AccessError;
use zircon::kernel::jinue::descriptors::{perm, DESCRIPTORS};
use zircon::kernel::jinue::{Errno, MCloneArgs, MintArgs};
use zircon::kernel::status::ZX_OK;
use zircon::kernel::zircon::*;
use zircon::kernel::{Kernel, Name, Process, Rights, UserBuffer, UserBytes};
use zircon::{HostPlatform, MemfdFrames};

type TestKernel = Kernel<HostPlatform>;

const PAGE: u64 = 4096;
const SELF: usize = 0;
const READ: i32 = 1;
const WRITE: i32 = 2;
const EXEC: i32 = 4;

fn kernel() -> TestKernel {
    TestKernel::new(Arc::new(
        MemfdFrames::with_limit(1 << 16).expect("frame file"),
    ))
}

fn boot(kernel: &TestKernel) -> Arc<Process<HostPlatform>> {
    kernel.boot_process(Name::new(b"jinue")).expect("boot").0
}

fn args(src: u64, dest: u64, length: u64, prot: i32) -> Option<MCloneArgs> {
    Some(MCloneArgs {
        src_addr: src,
        dest_addr: dest,
        length,
        prot,
    })
}

/// Maps a new VMO of `pages` pages, filled with `fill`, into `process` read/write; returns its
/// address and handle (of the kernel's boot process).
fn map_vmo(
    kernel: &TestKernel,
    me: &Arc<Process<HostPlatform>>,
    pages: u64,
    fill: u8,
) -> (u64, zircon::kernel::HandleValue) {
    let sys = kernel.syscalls(me);
    let vmo = sys.vmo_create(pages * PAGE, 0).unwrap();
    sys.vmo_write(vmo, UserBytes::new(&vec![fill; (pages * PAGE) as usize]), 0)
        .unwrap();
    let root = sys
        .vmar_map(
            sys.lookup_root_vmar(),
            ZX_VM_PERM_READ | ZX_VM_PERM_WRITE,
            0,
            vmo,
            0,
            pages * PAGE,
        )
        .unwrap();
    (root, vmo)
}

trait RootVmar {
    fn lookup_root_vmar(&self) -> zircon::kernel::HandleValue;
}

impl RootVmar for zircon::kernel::Syscalls<'_, HostPlatform> {
    /// A handle to the calling process's root VMAR (a fresh one each time).
    fn lookup_root_vmar(&self) -> zircon::kernel::HandleValue {
        let vmar = self.process().root_vmar().clone();
        self.kernel()
            .handles()
            .add(
                self.process(),
                zircon::kernel::Object::Vmar(vmar),
                Rights::DEFAULT_VMAR,
            )
            .unwrap()
    }
}

fn byte_at(process: &Process<HostPlatform>, vaddr: u64) -> Result<u8, AccessError> {
    let mut byte = [0u8];
    match process.address_space().read(vaddr, &mut byte) {
        (1, None) => Ok(byte[0]),
        (_, Some(error)) => Err(error),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn descriptor_numbers_are_checked_against_the_table_with_greater_or_equal() {
    let kernel = kernel();
    let me = boot(&kernel);
    let jinue = kernel.jinue(&me);
    for bad in [
        DESCRIPTORS,
        DESCRIPTORS + 1,
        usize::MAX,
        1 << 40,
        (-1i64) as usize,
    ] {
        assert_eq!(
            jinue.close(bad),
            Err(Errno::BadDescriptor),
            "close({bad:#x})"
        );
        assert_eq!(jinue.create_process(bad), Err(Errno::BadDescriptor));
        assert_eq!(jinue.destroy(bad), Err(Errno::BadDescriptor));
        assert_eq!(jinue.dup(bad, SELF, 5), Err(Errno::BadDescriptor));
        // MCLONE and MINT look at numbers that do not fit an `int` first, then at their
        // arguments' memory, and only then at the table.
        let fits_int = i32::try_from(bad as isize).is_ok_and(|n| n >= 0);
        let early = if fits_int {
            Errno::Invalid
        } else {
            Errno::BadDescriptor
        };
        assert_eq!(
            jinue.mclone(bad, SELF, None),
            Err(early),
            "mclone({bad:#x})"
        );
        assert_eq!(jinue.mint(bad, None), Err(early));
    }
    assert_eq!(jinue.create_process(DESCRIPTORS - 1), Ok(0));
    assert_eq!(
        jinue.create_process(DESCRIPTORS - 1),
        Err(Errno::BadDescriptor),
        "in use"
    );
    assert_eq!(
        jinue.create_process(SELF),
        Err(Errno::BadDescriptor),
        "self is in use"
    );
    assert_eq!(jinue.close(3), Err(Errno::BadDescriptor), "never opened");
    assert_eq!(
        jinue.call(13, 0, 0, None, None, 0),
        Err(Errno::NoSys),
        "MMAP"
    );
    assert_eq!(jinue.call(0, 0, 0, None, None, 0), Err(Errno::NoSys));
    assert_eq!(
        jinue.call(usize::MAX, 0, 0, None, None, 0),
        Err(Errno::NoSys)
    );
}

#[test]
fn destroy_needs_the_owner_and_leaves_eio_behind() {
    let kernel = kernel();
    let me = boot(&kernel);
    let jinue = kernel.jinue(&me);
    jinue.create_process(1).unwrap();
    // A copy of the owner descriptor cannot be made (DUP of an owner is EBADF); MINT makes a
    // non-owner one.
    assert_eq!(jinue.dup(SELF, 1, 2), Err(Errno::BadDescriptor));
    let mint = |process, fd, perms| {
        Some(MintArgs {
            process,
            fd,
            perms,
            cookie: 7,
        })
    };
    assert_eq!(jinue.mint(1, mint(0, 2, perm::MAP as i32)), Ok(0));
    assert_eq!(
        jinue.mint(1, mint(0, 3, 1 << 0)),
        Err(Errno::Invalid),
        "SEND not for processes"
    );
    assert_eq!(jinue.mint(1, None), Err(Errno::Invalid));
    assert_eq!(
        jinue.mint(2, mint(0, 3, 0)),
        Err(Errno::BadDescriptor),
        "not an owner"
    );
    assert_eq!(jinue.destroy(2), Err(Errno::Permission));
    assert_eq!(jinue.destroy(SELF), Err(Errno::Permission));
    assert_eq!(jinue.destroy(1), Ok(0));
    assert_eq!(jinue.destroy(1), Err(Errno::Io));
    assert_eq!(jinue.destroy(2), Err(Errno::Io));
    assert_eq!(jinue.dup(2, SELF, 4), Err(Errno::Io));
    assert_eq!(jinue.mclone(SELF, 2, args(0, 0, 0, 0)), Err(Errno::Io));
    assert_eq!(jinue.close(2), Ok(0));
    assert_eq!(jinue.close(1), Ok(0));
}

#[test]
fn dup_and_mint_need_open_on_the_target_process() {
    let kernel = kernel();
    let me = boot(&kernel);
    let jinue = kernel.jinue(&me);
    jinue.create_process(1).unwrap();
    jinue.create_process(2).unwrap();
    // A descriptor of process 1 without OPEN.
    let mint = Some(MintArgs {
        process: 0,
        fd: 5,
        perms: perm::MAP as i32,
        cookie: 0,
    });
    jinue.mint(1, mint).unwrap();
    assert_eq!(jinue.dup(5, SELF, 3), Err(Errno::Permission));
    let into_5 = Some(MintArgs {
        process: 5,
        fd: 3,
        perms: 0,
        cookie: 0,
    });
    assert_eq!(jinue.mint(2, into_5), Err(Errno::Permission));
    // With OPEN (the owner descriptor has it): DUP copies the caller's self into process 1,
    // where it names the caller.
    assert_eq!(jinue.dup(1, SELF, 3), Ok(0));
    assert_eq!(
        jinue.dup(1, SELF, 3),
        Err(Errno::BadDescriptor),
        "slot in use"
    );
    assert_eq!(
        jinue.dup(1, 7, 4),
        Err(Errno::BadDescriptor),
        "closed source"
    );
}

#[test]
fn mclone_checks_come_in_the_spec_order() {
    let kernel = kernel();
    let me = boot(&kernel);
    let jinue = kernel.jinue(&me);
    let (base, size) = kernel.user_range();
    jinue.create_process(1).unwrap();
    let ok = args(base, base, PAGE, READ);
    // 1. descriptors before the arguments' memory.
    assert_eq!(jinue.mclone(usize::MAX, 1, None), Err(Errno::BadDescriptor));
    // 2. the arguments' memory before their values.
    assert_eq!(jinue.mclone(9, 9, None), Err(Errno::Invalid));
    // 3. alignment before prot, ranges and descriptors.
    assert_eq!(
        jinue.mclone(9, 9, args(base + 1, base, PAGE, 99)),
        Err(Errno::Invalid)
    );
    assert_eq!(
        jinue.mclone(SELF, 1, args(base, base, 100, READ)),
        Err(Errno::Invalid)
    );
    // 4. prot bits.
    assert_eq!(
        jinue.mclone(9, 9, args(base, base, PAGE, 8)),
        Err(Errno::Invalid)
    );
    assert_eq!(
        jinue.mclone(9, 9, args(base, base, PAGE, -1)),
        Err(Errno::Invalid)
    );
    // 5. ranges that wrap or leave the user range, before descriptors.
    assert_eq!(
        jinue.mclone(9, 9, args(base - PAGE, base, PAGE, READ)),
        Err(Errno::Invalid)
    );
    assert_eq!(
        jinue.mclone(9, 9, args(base, base + size, PAGE, READ)),
        Err(Errno::Invalid)
    );
    assert_eq!(
        jinue.mclone(9, 9, args(u64::MAX - PAGE + 1, base, PAGE, READ)),
        Err(Errno::Invalid)
    );
    // 6. the source, 7. the destination and its MAP permission.
    assert_eq!(jinue.mclone(9, 1, ok), Err(Errno::BadDescriptor));
    assert_eq!(jinue.mclone(SELF, 9, ok), Err(Errno::BadDescriptor));
    let no_map = Some(MintArgs {
        process: 0,
        fd: 4,
        perms: perm::OPEN as i32,
        cookie: 0,
    });
    jinue.mint(1, no_map).unwrap();
    assert_eq!(jinue.mclone(SELF, 4, ok), Err(Errno::Permission));
    // Length 0 succeeds once the descriptors are good.
    assert_eq!(jinue.mclone(SELF, 1, args(base, base, 0, READ)), Ok(0));
    // W|X and NONE are accepted.
    assert_eq!(
        jinue.mclone(SELF, 1, args(base, base, PAGE, WRITE | EXEC)),
        Ok(0)
    );
    assert_eq!(jinue.mclone(SELF, 1, args(base, base, PAGE, 0)), Ok(0));
}

#[test]
fn mclone_shares_memory_page_for_page_and_keeps_holes() {
    let kernel = kernel();
    let me = boot(&kernel);
    let jinue = kernel.jinue(&me);
    let sys = kernel.syscalls(&me);
    let (addr, vmo) = map_vmo(&kernel, &me, 4, 0x11);
    // A hole in the middle of the source range.
    sys.vmar_unmap(sys.lookup_root_vmar(), addr + PAGE, PAGE)
        .unwrap();
    jinue.create_process(1).unwrap();
    let child = {
        // The process the descriptor names (through DUP of self into it and back is not
        // needed: the test reaches it through MCLONE into it and back into the caller).
        let out = addr + (64 << 20);
        jinue
            .mclone(SELF, 1, args(addr, out, 4 * PAGE, READ | WRITE))
            .unwrap();
        out
    };
    let back = addr + (128 << 20);
    jinue
        .mclone(1, SELF, args(child, back, 4 * PAGE, READ | WRITE))
        .unwrap();
    assert_eq!(byte_at(&me, back), Ok(0x11));
    assert_eq!(
        byte_at(&me, back + PAGE),
        Err(AccessError::Unmapped),
        "the hole stays a hole"
    );
    // Writes through either mapping show through the other and in reads of the VMO.
    me.address_space().write(back + 2 * PAGE + 5, b"B");
    me.address_space().write(addr + 3 * PAGE + 5, b"A");
    assert_eq!(byte_at(&me, addr + 2 * PAGE + 5), Ok(b'B'));
    assert_eq!(byte_at(&me, back + 3 * PAGE + 5), Ok(b'A'));
    let mut seen = [0u8; 1];
    sys.vmo_read(vmo, UserBuffer::new(&mut seen), 2 * PAGE + 5)
        .unwrap();
    assert_eq!(seen, *b"B");
    // The VMO counts every mapping: the caller's two pieces, the clone's, and the clone back.
    let mappings = sys.info_record(vmo, ZX_INFO_VMO).unwrap().u64_at(64);
    assert_eq!(mappings, 6);
    // Destroying the process in the middle removes its mappings; the clone back stays.
    jinue.destroy(1).unwrap();
    assert_eq!(sys.info_record(vmo, ZX_INFO_VMO).unwrap().u64_at(64), 4);
    assert_eq!(byte_at(&me, back + 2 * PAGE + 5), Ok(b'B'));
    // A later snapshot keeps its bytes while every sharer sees the new ones.
    let snapshot = sys
        .vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE)
        .unwrap();
    me.address_space().write(back + 5, b"N");
    assert_eq!(byte_at(&me, addr + 5), Ok(b'N'));
    sys.vmo_read(snapshot, UserBuffer::new(&mut seen), 5)
        .unwrap();
    assert_eq!(seen, [0x11]);
    assert_eq!(sys.handle_close(snapshot), Ok(()));
    let _ = ZX_OK;
}

#[test]
fn mclone_never_grants_more_than_the_source_vmo_handle_allowed() {
    let kernel = kernel();
    let me = boot(&kernel);
    let jinue = kernel.jinue(&me);
    let sys = kernel.syscalls(&me);
    let vmo = sys.vmo_create(PAGE, 0).unwrap();
    let read_only = sys
        .handle_duplicate(vmo, (Rights::DEFAULT_VMO - Rights::WRITE).bits())
        .unwrap();
    let addr = sys
        .vmar_map(
            sys.lookup_root_vmar(),
            ZX_VM_PERM_READ,
            0,
            read_only,
            0,
            PAGE,
        )
        .unwrap();
    jinue.create_process(1).unwrap();
    assert_eq!(
        jinue.mclone(SELF, 1, args(addr, addr, PAGE, READ | WRITE)),
        Err(Errno::Permission)
    );
    assert_eq!(jinue.mclone(SELF, 1, args(addr, addr, PAGE, READ)), Ok(0));
    // Replacing what the destination had: a second clone over the same range.
    assert_eq!(jinue.mclone(SELF, 1, args(addr, addr, PAGE, READ)), Ok(0));
    assert_eq!(sys.info_record(vmo, ZX_INFO_VMO).unwrap().u64_at(64), 2);
}

/// The destination runs out of room for mappings halfway through: ENOMEM, the first piece
/// cloned and the rest not, and nothing leaks once the processes are gone.
#[test]
fn mclone_out_of_mapping_room_is_enomem_and_leaks_nothing() {
    use zircon::engine::{FrameSource, MapRequest, Perms, Vmo, VmoOptions, MAX_MAPPINGS};
    use zircon::kernel::jinue::descriptors::Target;
    let frames = Arc::new(MemfdFrames::with_limit(1 << 16).expect("frame file"));
    let kernel = TestKernel::new(frames.clone());
    let me = boot(&kernel);
    let jinue = kernel.jinue(&me);
    let sys = kernel.syscalls(&me);
    // A source of two pieces (a hole between them).
    let (addr, vmo) = map_vmo(&kernel, &me, 3, 0x22);
    sys.vmar_unmap(sys.lookup_root_vmar(), addr + PAGE, PAGE)
        .unwrap();
    // A destination one mapping short of full.
    jinue.create_process(1).unwrap();
    let destination = match &me.descriptors().lock().get(1).expect("open").target {
        Target::Process(process) => process.clone(),
        Target::SelfProcess => unreachable!("a created process"),
    };
    let filler = Arc::new(Vmo::create(frames.clone(), PAGE, VmoOptions::default()).unwrap());
    let root = destination.address_space().root();
    // Specific places far from the clone's destination (each one a separate mapping).
    let first = 1 << 33;
    for i in 0..MAX_MAPPINGS as u64 - 1 {
        root.map(MapRequest {
            offset: Some(first + 2 * i * PAGE),
            overwrite: false,
            vmo: filler.clone(),
            vmo_offset: 0,
            len: PAGE,
            perms: Perms::READ,
            max_perms: Perms::READ,
            align: PAGE,
            populate: false,
            keep_alive: None,
        })
        .unwrap();
    }
    let far = addr + (256 << 20);
    assert_eq!(
        jinue.mclone(SELF, 1, args(addr, far, 3 * PAGE, READ)),
        Err(Errno::NoMemory)
    );
    let mappings = |sys: &zircon::kernel::Syscalls<'_, HostPlatform>| {
        sys.info_record(vmo, ZX_INFO_VMO).unwrap().u64_at(64)
    };
    assert_eq!(
        mappings(&sys),
        3,
        "the caller's two pieces and the first clone"
    );
    destination.address_space().check_translations().unwrap();
    jinue.destroy(1).unwrap();
    assert_eq!(mappings(&sys), 2);
    assert_eq!(
        Arc::strong_count(&filler),
        1,
        "the filler's mappings are gone"
    );
    drop(destination);
    drop(filler);
    sys.vmar_unmap(sys.lookup_root_vmar(), addr, 3 * PAGE)
        .unwrap();
    sys.handle_close(vmo).unwrap();
    assert_eq!(frames.frames_in_use(), 0);
}
