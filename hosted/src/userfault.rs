//! [`Userfault`]: the Linux userfaultfd through which the host MMU changes single page-table
//! entries of its windows (see `host_mmu`) without creating, splitting or merging host mappings.
//!
//! A window is a shared mapping of the frame file registered for every kind of userfault:
//! a page with no entry, or a write to an entry marked write-protected, raises SIGBUS in the
//! faulting thread (`UFFD_FEATURE_SIGBUS`) instead of being resolved by the host, so the runtime's
//! handler sees it like a SIGSEGV. Resolving one is a single ioctl on one page table entry:
//! `UFFDIO_CONTINUE` installs the file's page (write-protected for a read-only translation),
//! `UFFDIO_WRITEPROTECT` sets or clears the protection. Only user-mode faults are ours
//! (`UFFD_USER_MODE_ONLY`, which needs no privilege): a system call touching a page with no entry
//! gets `EFAULT`, as it does for the `PROT_NONE` reservation.
//!
//! Needs Linux 6.4 (write-protected `UFFDIO_CONTINUE`); where the host lacks any of it,
//! [`Userfault::open`] returns `None` and the MMU maps every page on its own.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const UFFD_API: u64 = 0xaa;
const UFFD_USER_MODE_ONLY: libc::c_int = 1;
const UFFD_FEATURE_SIGBUS: u64 = 1 << 7;
const UFFD_FEATURE_MINOR_SHMEM: u64 = 1 << 10;
const UFFD_FEATURE_WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
const REGISTER_MODE_MISSING: u64 = 1 << 0;
const REGISTER_MODE_WP: u64 = 1 << 1;
const REGISTER_MODE_MINOR: u64 = 1 << 2;
const WRITEPROTECT_MODE_WP: u64 = 1 << 0;
const CONTINUE_MODE_WP: u64 = 1 << 1;
/// `_IOWR(0xaa, nr, size)` of `<linux/userfaultfd.h>`.
const UFFDIO_API: libc::c_ulong = 0xc018_aa3f;
const UFFDIO_REGISTER: libc::c_ulong = 0xc020_aa00;
const UFFDIO_WRITEPROTECT: libc::c_ulong = 0xc018_aa06;
const UFFDIO_CONTINUE: libc::c_ulong = 0xc020_aa07;

#[repr(C)]
struct Api {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Range {
    start: u64,
    len: u64,
}

#[repr(C)]
struct Register {
    range: Range,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct WriteProtect {
    range: Range,
    mode: u64,
}

#[repr(C)]
struct Continue {
    range: Range,
    mode: u64,
    mapped: i64,
}

/// A userfaultfd of this process, set up for SIGBUS delivery on shared memory.
#[derive(Debug)]
pub struct Userfault {
    fd: OwnedFd,
}

impl Userfault {
    /// A new userfaultfd with the features windows need, or `None` if the host cannot give one
    /// (an older kernel, or a sandbox that forbids the system call).
    pub fn open() -> Option<Userfault> {
        // SAFETY: userfaultfd(2) takes only flags and returns a new descriptor or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_userfaultfd,
                libc::O_CLOEXEC | libc::O_NONBLOCK | UFFD_USER_MODE_ONLY,
            )
        };
        let fd = RawFd::try_from(fd).ok().filter(|&fd| fd >= 0)?;
        // SAFETY: a descriptor just returned to us and owned by nothing else.
        let userfault = Userfault {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        };
        let wanted =
            UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
        let mut api = Api {
            api: UFFD_API,
            features: wanted,
            ioctls: 0,
        };
        // SAFETY: UFFDIO_API reads and writes a `struct uffdio_api`, which `Api` lays out.
        let status = unsafe { libc::ioctl(userfault.fd.as_raw_fd(), UFFDIO_API, &mut api) };
        (status == 0 && api.features & wanted == wanted).then_some(userfault)
    }

    fn ioctl<T>(&self, request: libc::c_ulong, argument: &mut T) -> std::io::Result<()> {
        // SAFETY: each caller passes the request's own argument structure (laid out as in
        // <linux/userfaultfd.h>); the kernel only touches pages of ranges registered by this
        // process's windows.
        let status = unsafe { libc::ioctl(self.fd.as_raw_fd(), request, argument as *mut T) };
        if status == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Registers `[start, start + len)`, a shared mapping of the frame file, for every kind of
    /// fault.
    pub fn register(&self, start: u64, len: u64) -> std::io::Result<()> {
        let mut register = Register {
            range: Range { start, len },
            mode: REGISTER_MODE_MISSING | REGISTER_MODE_WP | REGISTER_MODE_MINOR,
            ioctls: 0,
        };
        self.ioctl(UFFDIO_REGISTER, &mut register)
    }

    /// Installs the file's pages behind `[start, start + len)` (which have no entries),
    /// write-protected unless `writable`.
    pub fn install(&self, start: u64, len: u64, writable: bool) -> std::io::Result<()> {
        let mut install = Continue {
            range: Range { start, len },
            mode: if writable { 0 } else { CONTINUE_MODE_WP },
            mapped: 0,
        };
        self.ioctl(UFFDIO_CONTINUE, &mut install)
    }

    /// Sets (`protect`) or clears the write protection of the entries in `[start, start + len)`.
    pub fn write_protect(&self, start: u64, len: u64, protect: bool) -> std::io::Result<()> {
        let mut change = WriteProtect {
            range: Range { start, len },
            mode: if protect { WRITEPROTECT_MODE_WP } else { 0 },
        };
        self.ioctl(UFFDIO_WRITEPROTECT, &mut change)
    }
}
