//! The address-space system calls through the Rust API (spec/zircon.md section 6): a snapshot
//! tree mapped into processes and written through `zx_process_write_memory` in all 24 orders,
//! map checks in their documented order, ZX_VMO_ZERO_CHILDREN held off by a mapped child, and
//! processes releasing their mappings when they go.

use std::sync::Arc;

use zircon::engine::FrameSource;
use zircon::kernel::signals::VMO_ZERO_CHILDREN;
use zircon::kernel::status::*;
use zircon::kernel::zircon::*;
use zircon::kernel::{HandleValue, Kernel, Name, Process, Rights, Syscalls, UserBuffer, UserBytes};
use zircon::HostPlatform;
use zircon::MemfdFrames;

type TestKernel = Kernel<HostPlatform>;
type Sys<'a> = Syscalls<'a, HostPlatform>;

const PAGE: u64 = 4096;
const RW: u32 = ZX_VM_PERM_READ | ZX_VM_PERM_WRITE;

fn new_kernel() -> (Arc<MemfdFrames>, TestKernel) {
    let frames = Arc::new(MemfdFrames::with_limit(1 << 20).expect("frame file"));
    let kernel = TestKernel::new(frames.clone());
    (frames, kernel)
}

fn boot(kernel: &TestKernel) -> (Arc<Process<HostPlatform>>, HandleValue) {
    let (process, job, _) = kernel.boot_process(Name::new(b"test")).expect("boot");
    (process, job)
}

/// A new empty process: (process handle, root VMAR handle).
fn spawn(sys: &Sys<'_>, job: HandleValue) -> (HandleValue, HandleValue) {
    sys.process_create(job, UserBytes::new(b"child"), 0)
        .expect("process_create")
}

fn peek(sys: &Sys<'_>, process: HandleValue, vaddr: u64) -> u8 {
    let mut byte = [0u8];
    assert_eq!(
        sys.process_read_memory(process, vaddr, UserBuffer::new(&mut byte)),
        Ok(1)
    );
    byte[0]
}

fn poke(sys: &Sys<'_>, process: HandleValue, vaddr: u64, value: u8) {
    assert_eq!(
        sys.process_write_memory(process, vaddr, UserBytes::new(&[value])),
        Ok(1)
    );
}

fn vmo_byte(sys: &Sys<'_>, vmo: HandleValue, offset: u64) -> u8 {
    let mut byte = [0u8];
    sys.vmo_read(vmo, UserBuffer::new(&mut byte), offset)
        .expect("vmo_read");
    byte[0]
}

fn num_mappings(sys: &Sys<'_>, vmo: HandleValue) -> u64 {
    sys.info_record(vmo, ZX_INFO_VMO).expect("info").u64_at(64)
}

fn zero_children(sys: &Sys<'_>, vmo: HandleValue) -> bool {
    let observed = sys
        .object_wait_one(vmo, VMO_ZERO_CHILDREN, i64::MIN)
        .observed
        .expect("a live VMO handle");
    observed & VMO_ZERO_CHILDREN != 0
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            all.push(tail);
        }
    }
    all
}

#[test]
fn a_snapshot_tree_written_through_mappings_of_four_processes_in_all_24_orders() {
    let (frames, kernel) = new_kernel();
    let (me, job) = boot(&kernel);
    let sys = kernel.syscalls(&me);
    for order in permutations(&[0, 1, 2, 3]) {
        let parent = sys.vmo_create(2 * PAGE, 0).unwrap();
        sys.vmo_write(parent, UserBytes::new(&[0x11; 2 * PAGE as usize]), 0)
            .unwrap();
        let a = sys
            .vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE)
            .unwrap();
        let b = sys
            .vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE)
            .unwrap();
        let aa = sys
            .vmo_create_child(a, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE)
            .unwrap();
        let vmos = [parent, a, b, aa];
        let mut places = Vec::new();
        for &vmo in &vmos {
            let (process, vmar) = spawn(&sys, job);
            let addr = sys.vmar_map(vmar, RW, 0, vmo, 0, 2 * PAGE).unwrap();
            assert_eq!(peek(&sys, process, addr), 0x11);
            places.push((process, addr));
        }
        let mut expected = [0x11u8; 4];
        for &writer in &order {
            let (process, addr) = places[writer];
            poke(&sys, process, addr + 9, 0x40 + writer as u8);
            expected[writer] = 0x40 + writer as u8;
            for (i, &(process, addr)) in places.iter().enumerate() {
                assert_eq!(
                    peek(&sys, process, addr + 9),
                    expected[i],
                    "{order:?}: mapping {i}"
                );
                assert_eq!(
                    vmo_byte(&sys, vmos[i], 9),
                    expected[i],
                    "{order:?}: VMO {i}"
                );
                assert_eq!(peek(&sys, process, addr + PAGE + 9), 0x11);
            }
        }
        for (process, _) in places {
            sys.handle_close(process).unwrap();
        }
        for vmo in vmos {
            sys.handle_close(vmo).unwrap();
        }
        assert_eq!(frames.frames_in_use(), 0, "{order:?}: everything released");
    }
}

#[test]
fn map_checks_come_in_the_documented_order() {
    let (_, kernel) = new_kernel();
    let (me, job) = boot(&kernel);
    let sys = kernel.syscalls(&me);
    let (_, vmar) = spawn(&sys, job);
    let vmo = sys.vmo_create(PAGE, 0).unwrap();
    let resizable = sys.vmo_create(PAGE, ZX_VMO_RESIZABLE).unwrap();
    let no_map = sys
        .handle_duplicate(vmo, (Rights::DEFAULT_VMO - Rights::MAP).bits())
        .unwrap();
    let map = |vmar, options, offset, vmo, vmo_offset, len| {
        sys.vmar_map(vmar, options, offset, vmo, vmo_offset, len)
    };
    // Handles first, whatever else is wrong.
    assert_eq!(map(0x7777, 1 << 30, 1, vmo, 1, 0), Err(ZX_ERR_BAD_HANDLE));
    assert_eq!(map(vmo, RW, 0, vmo, 0, PAGE), Err(ZX_ERR_WRONG_TYPE));
    assert_eq!(map(vmar, RW, 0, vmar, 0, PAGE), Err(ZX_ERR_WRONG_TYPE));
    // Options and arguments before rights.
    assert_eq!(
        map(vmar, ZX_VM_PERM_WRITE, 0, no_map, 0, PAGE),
        Err(ZX_ERR_INVALID_ARGS)
    );
    assert_eq!(
        map(vmar, ZX_VM_PERM_EXECUTE, 0, vmo, 0, PAGE),
        Err(ZX_ERR_INVALID_ARGS)
    );
    assert_eq!(
        map(vmar, RW | (1 << 15), 0, vmo, 0, PAGE),
        Err(ZX_ERR_INVALID_ARGS)
    );
    assert_eq!(
        map(vmar, RW | ZX_VM_CAN_MAP_READ, 0, vmo, 0, PAGE),
        Err(ZX_ERR_INVALID_ARGS)
    );
    assert_eq!(
        map(vmar, RW | (5 << 24), 0, vmo, 0, PAGE),
        Err(ZX_ERR_INVALID_ARGS)
    );
    assert_eq!(map(vmar, RW, 0, no_map, 0, 0), Err(ZX_ERR_INVALID_ARGS));
    assert_eq!(map(vmar, RW, 0, no_map, 1, PAGE), Err(ZX_ERR_INVALID_ARGS));
    assert_eq!(
        map(vmar, RW, PAGE, no_map, 0, PAGE),
        Err(ZX_ERR_INVALID_ARGS)
    );
    // MAP even for no permissions, then each permission's right.
    assert_eq!(map(vmar, 0, 0, no_map, 0, PAGE), Err(ZX_ERR_ACCESS_DENIED));
    let read_only = sys
        .handle_duplicate(vmo, (Rights::DEFAULT_VMO - Rights::WRITE).bits())
        .unwrap();
    assert_eq!(
        map(vmar, RW, 0, read_only, 0, PAGE),
        Err(ZX_ERR_ACCESS_DENIED)
    );
    assert_eq!(
        map(
            vmar,
            RW | ZX_VM_REQUIRE_NON_RESIZABLE,
            0,
            resizable,
            0,
            PAGE
        ),
        Err(ZX_ERR_NOT_SUPPORTED)
    );
    assert_eq!(
        map(vmar, RW, 0, vmo, u64::MAX - PAGE + 1, PAGE),
        Err(ZX_ERR_OUT_OF_RANGE)
    );
    assert_eq!(map(vmar, RW, 0, vmo, 0, u64::MAX), Err(ZX_ERR_OUT_OF_RANGE));
    // Placement.
    let specific = RW | ZX_VM_SPECIFIC;
    let at = map(vmar, specific, 0x40000, vmo, 0, 2 * PAGE).unwrap();
    assert_eq!(at, kernel.user_range().0 + 0x40000);
    assert_eq!(
        map(vmar, specific, 0x41000, vmo, 0, PAGE),
        Err(ZX_ERR_ALREADY_EXISTS)
    );
    assert_eq!(
        map(vmar, specific, kernel.user_range().1, vmo, 0, PAGE),
        Err(ZX_ERR_INVALID_ARGS)
    );
    assert_eq!(map(vmar, RW, 0, vmo, 0, 1 << 47), Err(ZX_ERR_NO_RESOURCES));
    assert_eq!(num_mappings(&sys, vmo), 1);
    // A destroyed VMAR is BAD_STATE; the VMAR handle's rights stand in for CAN_MAP_*.
    let (sub, _) = sys
        .vmar_allocate(vmar, ZX_VM_CAN_MAP_READ, 0, 16 * PAGE)
        .unwrap();
    assert_eq!(map(sub, RW, 0, vmo, 0, PAGE), Err(ZX_ERR_ACCESS_DENIED));
    sys.vmar_destroy(sub).unwrap();
    assert_eq!(
        map(sub, ZX_VM_PERM_READ, 0, vmo, 0, PAGE),
        Err(ZX_ERR_BAD_STATE)
    );
    assert_eq!(sys.vmar_destroy(sub), Err(ZX_ERR_BAD_STATE));
    assert_eq!(sys.vmar_destroy(vmar), Err(ZX_ERR_NOT_SUPPORTED));
}

#[test]
fn a_mapped_child_keeps_zero_children_off_until_unmapped() {
    let (_, kernel) = new_kernel();
    let (me, job) = boot(&kernel);
    let sys = kernel.syscalls(&me);
    let (process, vmar) = spawn(&sys, job);
    let parent = sys.vmo_create(PAGE, 0).unwrap();
    let child = sys
        .vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE)
        .unwrap();
    let addr = sys.vmar_map(vmar, RW, 0, child, 0, PAGE).unwrap();
    poke(&sys, process, addr, 3);
    sys.handle_close(child).unwrap();
    assert!(!zero_children(&sys, parent), "the mapping keeps the child");
    assert_eq!(peek(&sys, process, addr), 3);
    sys.vmar_unmap(vmar, addr, PAGE).unwrap();
    assert!(zero_children(&sys, parent));

    // The same, released by the process going away.
    let child = sys
        .vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE)
        .unwrap();
    sys.vmar_map(vmar, RW, 0, child, 0, PAGE).unwrap();
    sys.handle_close(child).unwrap();
    assert!(!zero_children(&sys, parent));
    sys.handle_close(process).unwrap();
    assert!(
        zero_children(&sys, parent),
        "the process took its mappings with it"
    );
    // Its root VMAR handle outlives it, dead.
    assert_eq!(
        sys.vmar_map(vmar, RW, 0, parent, 0, PAGE),
        Err(ZX_ERR_BAD_STATE)
    );
}

#[test]
fn process_memory_calls_fault_as_a_thread_would() {
    let (_, kernel) = new_kernel();
    let (me, job) = boot(&kernel);
    let sys = kernel.syscalls(&me);
    let (process, vmar) = spawn(&sys, job);
    let vmo = sys.vmo_create(2 * PAGE, ZX_VMO_RESIZABLE).unwrap();
    let addr = sys.vmar_map(vmar, RW, 0, vmo, 0, 4 * PAGE).unwrap();
    let mut buffer = vec![0u8; 8 * PAGE as usize];
    // Stops at the VMO's end, and at the mapping's.
    assert_eq!(
        sys.process_read_memory(process, addr, UserBuffer::new(&mut buffer)),
        Ok(2 * PAGE as usize)
    );
    assert_eq!(
        sys.process_read_memory(process, addr + 2 * PAGE, UserBuffer::new(&mut buffer)),
        Err(ZX_ERR_OUT_OF_RANGE)
    );
    assert_eq!(
        sys.process_read_memory(process, addr + 4 * PAGE, UserBuffer::new(&mut buffer)),
        Err(ZX_ERR_NO_MEMORY)
    );
    assert_eq!(
        sys.process_read_memory(process, addr, UserBuffer::new(&mut [])),
        Err(ZX_ERR_INVALID_ARGS)
    );
    poke(&sys, process, addr + PAGE, 8);
    sys.vmar_protect(vmar, ZX_VM_PERM_READ, addr, PAGE).unwrap();
    assert_eq!(
        sys.process_write_memory(process, addr, UserBytes::new(&[1])),
        Err(ZX_ERR_ACCESS_DENIED)
    );
    // A bad buffer changes nothing: the page is not committed by the attempt.
    let committed = sys.info_record(vmo, ZX_INFO_VMO).unwrap().u64_at(88);
    assert_eq!(
        sys.process_write_memory(process, addr + PAGE * 3 / 2, UserBytes::invalid(4)),
        Err(ZX_ERR_INVALID_ARGS)
    );
    assert_eq!(
        sys.info_record(vmo, ZX_INFO_VMO).unwrap().u64_at(88),
        committed
    );
    // Shrinking removes the page from the mapping; growing shows zeros.
    sys.vmo_set_size(vmo, PAGE).unwrap();
    assert_eq!(
        sys.process_read_memory(process, addr + PAGE, UserBuffer::new(&mut buffer[..1])),
        Err(ZX_ERR_OUT_OF_RANGE)
    );
    sys.vmo_set_size(vmo, 2 * PAGE).unwrap();
    assert_eq!(peek(&sys, process, addr + PAGE), 0);
    let no_read = sys
        .handle_duplicate(process, (Rights::DEFAULT_PROCESS - Rights::READ).bits())
        .unwrap();
    assert_eq!(
        sys.process_read_memory(no_read, addr, UserBuffer::new(&mut buffer[..1])),
        Err(ZX_ERR_ACCESS_DENIED)
    );
    assert_eq!(
        sys.process_read_memory(vmo, addr, UserBuffer::new(&mut buffer[..1])),
        Err(ZX_ERR_WRONG_TYPE)
    );
}
