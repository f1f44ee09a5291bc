//! The vocabulary the fuzzer speaks: one [`Call`] per system call, decoded from raw bytes with
//! `arbitrary`, so that every byte string is some sequence of calls and the fuzzer's mutations
//! of bytes become mutations of sequences. Arguments are small choices (which handle, how many
//! pages) that [`crate::world`] turns into concrete values, with a hostile value (an overflowing
//! size, a misaligned offset, a dead handle) among the choices of every argument.

use arbitrary::Arbitrary;

/// Which handle a call names: `choice` picks mostly one of the harness's live handles (by
/// `index`), sometimes one that must be refused: a closed handle's value, a value that never
/// named a handle (`garbage`), or the root VMAR's handle where a VMO is expected.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct HandleArg {
    pub choice: u8,
    pub index: u8,
    pub garbage: u32,
}

/// What a [`HandleArg`] means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleChoice {
    /// A live handle, by index into the live ones.
    Live(u8),
    /// A closed handle's value (`ZX_ERR_BAD_HANDLE`).
    Dead(u8),
    /// A value that never named a handle (`ZX_ERR_BAD_HANDLE`).
    Garbage(u32),
    /// The root VMAR's handle (`ZX_ERR_WRONG_TYPE`).
    WrongType,
}

impl HandleArg {
    /// A live handle `index`.
    pub const fn live(index: u8) -> Self {
        HandleArg {
            choice: 0,
            index,
            garbage: 0,
        }
    }

    /// Live nine times in ten.
    pub fn choice(self) -> HandleChoice {
        match self.choice {
            0..=229 => HandleChoice::Live(self.index),
            230..=239 => HandleChoice::Dead(self.index),
            240..=249 => HandleChoice::Garbage(self.garbage),
            _ => HandleChoice::WrongType,
        }
    }
}

/// A number of bytes: mostly whole pages (`value % 17`), sometimes a byte count below 16 pages
/// (usually misaligned), rarely a hostile value at an edge of arithmetic.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Amount {
    pub choice: u8,
    pub value: u16,
}

impl Amount {
    /// `n` whole pages.
    pub const fn pages(n: u16) -> Self {
        Amount {
            choice: 0,
            value: n,
        }
    }

    /// `n` bytes.
    pub const fn bytes(n: u16) -> Self {
        Amount {
            choice: 200,
            value: n,
        }
    }

    /// What it means.
    pub fn choice(self) -> AmountChoice {
        match self.choice {
            0..=199 => AmountChoice::Pages(self.value % 17),
            200..=239 => AmountChoice::Bytes(self.value),
            _ => AmountChoice::Hostile(match self.value % 5 {
                0 => Hostile::Max,
                1 => Hostile::PastMaxVmo,
                2 => Hostile::MaxVmo,
                3 => Hostile::Half,
                _ => Hostile::MaxPage,
            }),
        }
    }
}

/// What an [`Amount`] means.
#[derive(Clone, Copy, Debug)]
pub enum AmountChoice {
    Pages(u16),
    Bytes(u16),
    Hostile(Hostile),
}

/// Values at the edges of arithmetic.
#[derive(Clone, Copy, Debug)]
pub enum Hostile {
    /// `u64::MAX`: rounding up to a page overflows.
    Max,
    /// One byte more than the largest VMO.
    PastMaxVmo,
    /// The largest VMO size exactly.
    MaxVmo,
    /// `2^63`.
    Half,
    /// `u64::MAX` rounded down to a page: adding anything overflows.
    MaxPage,
}

/// A byte count for reads and writes: at most three pages.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Len(pub u16);

/// `zx_vmo_create_child`'s type bits, including combinations that must be refused.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ChildType {
    Snapshot,
    SnapshotAtLeastOnWrite,
    Slice,
    /// No type bit (`ZX_ERR_INVALID_ARGS`).
    None,
    /// Two type bits (`ZX_ERR_INVALID_ARGS`).
    Two,
    /// An unknown bit besides a valid type (`ZX_ERR_INVALID_ARGS`).
    Unknown,
}

/// `zx_vmo_op_range`'s operations, and one it does not know.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum RangeOp {
    Commit,
    Decommit,
    Zero,
    /// With room for `n % 20` addresses.
    Lookup(u8),
    /// An op number with no meaning (`ZX_ERR_INVALID_ARGS`).
    Unknown,
}

/// Mapping permissions, and a combination that must be refused.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum MapPerms {
    Read,
    ReadWrite,
    /// Write without read (`ZX_ERR_INVALID_ARGS`).
    WriteOnly,
}

/// One system call.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Call {
    /// `zx_vmo_create`; `bad_options` sets an unknown option bit.
    VmoCreate {
        size: Amount,
        resizable: bool,
        bad_options: bool,
    },
    /// `zx_vmo_create_child`.
    VmoCreateChild {
        vmo: HandleArg,
        kind: ChildType,
        resizable: bool,
        no_write: bool,
        offset: Amount,
        size: Amount,
    },
    /// `zx_vmo_clone` (Zircon's legacy one-way clone); `bad_options` drops COPY_ON_WRITE.
    VmoClone {
        vmo: HandleArg,
        offset: Amount,
        size: Amount,
        non_resizable: bool,
        bad_options: bool,
    },
    /// `mx_vmo_clone` (Magenta's one-way clone).
    MagentaClone {
        vmo: HandleArg,
        offset: Amount,
        size: Amount,
    },
    /// `zx_vmo_write` of `len` bytes of `fill`.
    VmoWrite {
        vmo: HandleArg,
        offset: Amount,
        len: Len,
        fill: u8,
    },
    /// `zx_vmo_read`.
    VmoRead {
        vmo: HandleArg,
        offset: Amount,
        len: Len,
    },
    /// `zx_vmo_set_size`.
    VmoSetSize { vmo: HandleArg, size: Amount },
    /// `zx_vmo_op_range`.
    VmoOpRange {
        vmo: HandleArg,
        op: RangeOp,
        offset: Amount,
        size: Amount,
    },
    /// `zx_handle_duplicate` with `rights` masked to the VMO rights, or SAME_RIGHTS.
    Duplicate {
        handle: HandleArg,
        rights: u32,
        same: bool,
    },
    /// `zx_handle_close`.
    Close { handle: HandleArg },
    /// `zx_vmar_map` into the root VMAR.
    Map {
        vmo: HandleArg,
        perms: MapPerms,
        vmo_offset: Amount,
        len: Amount,
    },
    /// `zx_vmar_unmap` of a whole mapping, by index.
    Unmap { mapping: u8 },
    /// `zx_process_write_memory` inside a mapping (by index), or at an unmapped address.
    WriteMemory {
        mapping: u8,
        offset: u16,
        len: Len,
        fill: u8,
    },
    /// `zx_process_read_memory`.
    ReadMemory { mapping: u8, offset: u16, len: Len },
    /// Lowers or raises the frames the kernel may have in use at once: usually to what is in
    /// use plus `frames % 16`, or back to the whole capacity.
    SetFrameLimit { frames: u8 },
    /// Jinue CREATE_PROCESS into slot `fd % 14` (12 and 13 are out of range).
    JinueCreateProcess { fd: u8 },
    /// Jinue MCLONE of a whole mapping (by index) of this process into a process descriptor
    /// (`dest_fd` below 200 picks one of the created processes, else slot `dest_fd % 14`), at
    /// a destination slot; `write` asks for write permission, `bad_prot` for an unknown bit.
    JinueMclone {
        mapping: u8,
        dest_fd: u8,
        slot: u8,
        write: bool,
        bad_prot: bool,
    },
    /// Jinue DESTROY of a process descriptor.
    JinueDestroy { fd: u8 },
}
