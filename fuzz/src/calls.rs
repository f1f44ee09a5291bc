//! The vocabulary the fuzzer speaks: one [`Call`] per system call, decoded from raw bytes with
//! `arbitrary`, so that every byte string is some sequence of calls and the fuzzer's mutations
//! of bytes become mutations of sequences. Arguments are small choices (which handle, how many
//! pages) that [`crate::world`] turns into concrete values, with a hostile value (an overflowing
//! size, a misaligned offset, a dead handle) among the choices of every argument.
//!
//! Besides the VMO, mapping and Jinue calls, the vocabulary covers device memory (IOMMU, BTI,
//! pins and their tokens, contiguous and physical VMOs) and user pagers with their ports.

use arbitrary::{Arbitrary, Unstructured};

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

/// Which handle of a non-VMO object a call names; the object type is the call's own: mostly a
/// live handle of that type, sometimes a VMO handle or a handle of another type
/// (`ZX_ERR_WRONG_TYPE`), a closed handle's value or one that never named a handle
/// (`ZX_ERR_BAD_HANDLE`).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct ObjArg {
    pub choice: u8,
    pub index: u8,
}

/// What an [`ObjArg`] means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjChoice {
    /// A live handle of the type the call wants, by index.
    Live(u8),
    /// A live VMO handle (the root VMAR's if there is none).
    Vmo(u8),
    /// A live handle of another non-VMO type (the root VMAR's if there is none).
    OtherType(u8),
    /// A closed handle's value.
    Dead(u8),
    /// A value that never named a handle.
    Garbage(u8),
}

impl ObjArg {
    /// A live handle `index` of the wanted type.
    pub const fn live(index: u8) -> Self {
        ObjArg { choice: 0, index }
    }

    /// Live six times in seven.
    pub fn choice(self) -> ObjChoice {
        match self.choice {
            0..=219 => ObjChoice::Live(self.index),
            220..=227 => ObjChoice::Vmo(self.index),
            228..=235 => ObjChoice::OtherType(self.index),
            236..=245 => ObjChoice::Dead(self.index),
            _ => ObjChoice::Garbage(self.index),
        }
    }
}

/// What [`Call::PinnedOp`] does to a pinned VMO.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum PinnedOp {
    /// DECOMMIT of whole pages (`ZX_ERR_BAD_STATE` over pinned ones).
    Decommit,
    /// ZERO of a byte range (pinned pages are zeroed in place).
    Zero,
    /// COMMIT of whole pages.
    Commit,
    /// A shrink (`ZX_ERR_BAD_STATE` over pinned pages).
    Shrink,
    /// A snapshot (`ZX_ERR_BAD_STATE` with any page pinned).
    Snapshot,
    /// A snapshot-at-least-on-write child (the same on anonymous VMOs).
    AtLeastOnWrite,
    /// A one-way legacy clone (allowed).
    Clone,
}

/// The non-VMO object types the harness holds handles to.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Resource,
    Iommu,
    Bti,
    Pmt,
    Port,
    Pager,
}

impl ObjectKind {
    /// The kind [`Call::CloseObject`]'s `which` picks: a PMT two times in five.
    pub fn closed(which: u8) -> Self {
        match which {
            0..=101 => ObjectKind::Pmt,
            102..=135 => ObjectKind::Port,
            136..=169 => ObjectKind::Pager,
            170..=203 => ObjectKind::Bti,
            204..=237 => ObjectKind::Iommu,
            _ => ObjectKind::Resource,
        }
    }
}

/// `zx_iommu_create`'s type and descriptor.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum IommuDesc {
    /// ZX_IOMMU_TYPE_DUMMY with its one-byte descriptor.
    Dummy,
    /// ZX_IOMMU_TYPE_INTEL (`ZX_ERR_NOT_SUPPORTED`).
    Intel,
    /// A dummy IOMMU with an empty descriptor (`ZX_ERR_INVALID_ARGS`).
    Empty,
    /// A dummy IOMMU with an eight-byte descriptor (`ZX_ERR_INVALID_ARGS`).
    Long,
    /// A descriptor above ZX_IOMMU_MAX_DESC_LEN (`ZX_ERR_INVALID_ARGS`, before the type).
    TooLong,
    /// A descriptor pointer that cannot be read (`ZX_ERR_INVALID_ARGS`, before the type).
    BadPointer,
}

/// `zx_bti_pin`'s layout options.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum PinLayout {
    /// One address per page.
    Pages,
    /// ZX_BTI_COMPRESS.
    Compress,
    /// ZX_BTI_CONTIGUOUS (contiguous and physical VMOs only).
    Contiguous,
    /// Both (`ZX_ERR_INVALID_ARGS`).
    Both,
    /// An unknown option bit (`ZX_ERR_INVALID_ARGS`).
    Unknown,
}

/// How many addresses `zx_bti_pin` is given room for, against what the options call for.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum AddrCount {
    Exact,
    Zero,
    One,
    Fewer,
    More,
}

/// The range of `zx_vmo_create_physical`: usually part of a live contiguous VMO (`which`,
/// from page `first`, `pages` long, the size trimmed by `trim` bytes so that it rounds up
/// to the same pages), sometimes a range that must be refused.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct PhysRange {
    pub choice: u8,
    pub which: u8,
    pub first: u8,
    pub pages: u8,
    pub trim: u16,
}

/// The VMO a pager call names: usually one of the pager-backed VMOs with a live handle, else
/// any [`HandleArg`] (a clone or an ordinary VMO: `ZX_ERR_INVALID_ARGS`).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct PagerVmoArg {
    pub choice: u8,
    pub index: u8,
    pub handle: HandleArg,
}

/// The source of `zx_pager_supply_pages`: a fresh VMO the harness fills (the pages whose bit is
/// set in `mask` get written, the others supply zeros) and closes afterwards, or any handle.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum AuxArg {
    Fresh { mask: u16, fill: u8 },
    Handle(HandleArg),
}

/// One system call. Decoded with [`Call::WEIGHTS`]: one byte picks the call, the calls of
/// VMOs, mappings and Jinue keeping the larger share.
#[derive(Clone, Copy, Debug)]
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
    /// `zx_iommu_create` with the root resource.
    IommuCreate { resource: ObjArg, desc: IommuDesc },
    /// `zx_bti_create`; `options` from 224 up sets an option bit.
    BtiCreate {
        iommu: ObjArg,
        options: u8,
        bti_id: u64,
    },
    /// `zx_bti_pin` with permissions `perms % 8` (READ, WRITE, EXECUTE bits).
    BtiPin {
        bti: ObjArg,
        vmo: HandleArg,
        perms: u8,
        layout: PinLayout,
        offset: Amount,
        size: Amount,
        addrs: AddrCount,
    },
    /// `zx_bti_pin` of a whole VMO, read and write, one address per page: the pin that
    /// usually succeeds.
    BtiPinWhole { bti: ObjArg, vmo: HandleArg },
    /// `zx_pmt_unpin`, which consumes whatever handle it is given.
    PmtUnpin { pmt: ObjArg },
    /// `zx_bti_release_quarantine`.
    BtiReleaseQuarantine { bti: ObjArg },
    /// `zx_vmo_create_contiguous` with `alignment_log2` chosen by `align`.
    VmoCreateContiguous {
        bti: ObjArg,
        size: Amount,
        align: u8,
    },
    /// `zx_vmo_create_physical` with the root resource.
    VmoCreatePhysical { resource: ObjArg, range: PhysRange },
    /// `zx_port_create`; `options % 4` picks 0, ZX_PORT_BIND_TO_INTERRUPT or an unknown bit.
    PortCreate { options: u8 },
    /// `zx_port_queue` of a user packet.
    PortQueue { port: ObjArg, key: u8, status: i8 },
    /// `zx_port_wait` with ZX_TIME_INFINITE_PAST (never blocks); `short_buffer` gives it room
    /// for less than a packet (`ZX_ERR_INVALID_ARGS`).
    PortWait { port: ObjArg, short_buffer: bool },
    /// `zx_pager_create`; `options` from 224 up sets an option bit.
    PagerCreate { options: u8 },
    /// `zx_pager_create_vmo`; `options` bit 0 asks for a resizable VMO, and from 224 up an
    /// unknown bit is set.
    PagerCreateVmo {
        pager: ObjArg,
        port: ObjArg,
        size: Amount,
        options: u8,
        key: u8,
    },
    /// `zx_pager_supply_pages`.
    PagerSupply {
        pager: ObjArg,
        vmo: PagerVmoArg,
        offset: Amount,
        len: Amount,
        aux: AuxArg,
        aux_offset: Amount,
    },
    /// `zx_pager_supply_pages` of pages `first..` (`pages` long, cut at the end) of the VMO,
    /// from a fresh source: the supply that usually succeeds.
    PagerSupplyPages {
        pager: ObjArg,
        vmo: PagerVmoArg,
        first: u8,
        pages: u8,
        mask: u16,
        fill: u8,
    },
    /// `zx_pager_detach_vmo`.
    PagerDetach { pager: ObjArg, vmo: PagerVmoArg },
    /// `zx_handle_close` of a non-VMO handle of the kind `which` picks (mostly a PMT's, whose
    /// pin this quarantines).
    CloseObject { which: u8, index: u8 },
    /// An operation that pinned pages may refuse, on a VMO with a live or quarantined pin
    /// (`pmt` picks it) and around the pinned range.
    PinnedOp {
        pmt: u8,
        op: PinnedOp,
        offset: u8,
        len: u16,
    },
    /// `zx_handle_duplicate` of a non-VMO handle with `rights` masked to the known rights, or
    /// SAME_RIGHTS.
    DuplicateObject {
        kind: ObjectKind,
        handle: ObjArg,
        rights: u32,
        same: bool,
    },
}

/// A variant of [`Call`] with its fields decoded in order.
macro_rules! decode_variant {
    ($u:ident, $variant:ident: $($field:ident),*) => {
        Call::$variant { $($field: $u.arbitrary()?),* }
    };
}

impl Call {
    /// How many of the 256 values of the selector byte pick each call, in the order of the
    /// decoder's table (the calls of VMOs, mappings and Jinue first, then device memory, ports
    /// and pagers, then operations on pinned VMOs).
    #[rustfmt::skip]
    pub const WEIGHTS: [u8; 37] = [
        // VMOs, handles, mappings, frames and Jinue: 160 of 256.
        14, 12, 8, 6, 14, 11, 7, 13, 8, 8, 10, 5, 11, 11, 5, 4, 7, 3, 3,
        // Device memory: 52.
        3, 2, 12, 10, 6, 4, 5, 6, 4,
        // Ports and pagers: 35.
        2, 3, 5, 2, 5, 5, 9, 4,
        // Operations on pinned VMOs: 9.
        9,
    ];

    /// The call number `n` of [`Call::WEIGHTS`], its fields decoded from `u`.
    fn decode_nth(n: usize, u: &mut Unstructured<'_>) -> arbitrary::Result<Self> {
        Ok(match n {
            0 => decode_variant!(u, VmoCreate: size, resizable, bad_options),
            1 => decode_variant!(u, VmoCreateChild: vmo, kind, resizable, no_write, offset, size),
            2 => decode_variant!(u, VmoClone: vmo, offset, size, non_resizable, bad_options),
            3 => decode_variant!(u, MagentaClone: vmo, offset, size),
            4 => decode_variant!(u, VmoWrite: vmo, offset, len, fill),
            5 => decode_variant!(u, VmoRead: vmo, offset, len),
            6 => decode_variant!(u, VmoSetSize: vmo, size),
            7 => decode_variant!(u, VmoOpRange: vmo, op, offset, size),
            8 => decode_variant!(u, Duplicate: handle, rights, same),
            9 => decode_variant!(u, Close: handle),
            10 => decode_variant!(u, Map: vmo, perms, vmo_offset, len),
            11 => decode_variant!(u, Unmap: mapping),
            12 => decode_variant!(u, WriteMemory: mapping, offset, len, fill),
            13 => decode_variant!(u, ReadMemory: mapping, offset, len),
            14 => decode_variant!(u, SetFrameLimit: frames),
            15 => decode_variant!(u, JinueCreateProcess: fd),
            16 => decode_variant!(u, JinueMclone: mapping, dest_fd, slot, write, bad_prot),
            17 => decode_variant!(u, JinueDestroy: fd),
            18 => decode_variant!(u, CloseObject: which, index),
            19 => decode_variant!(u, IommuCreate: resource, desc),
            20 => decode_variant!(u, BtiCreate: iommu, options, bti_id),
            21 => decode_variant!(u, BtiPin: bti, vmo, perms, layout, offset, size, addrs),
            22 => decode_variant!(u, BtiPinWhole: bti, vmo),
            23 => decode_variant!(u, PmtUnpin: pmt),
            24 => decode_variant!(u, BtiReleaseQuarantine: bti),
            25 => decode_variant!(u, VmoCreateContiguous: bti, size, align),
            26 => decode_variant!(u, VmoCreatePhysical: resource, range),
            27 => decode_variant!(u, DuplicateObject: kind, handle, rights, same),
            28 => decode_variant!(u, PortCreate: options),
            29 => decode_variant!(u, PortQueue: port, key, status),
            30 => decode_variant!(u, PortWait: port, short_buffer),
            31 => decode_variant!(u, PagerCreate: options),
            32 => decode_variant!(u, PagerCreateVmo: pager, port, size, options, key),
            33 => decode_variant!(u, PagerSupply: pager, vmo, offset, len, aux, aux_offset),
            34 => decode_variant!(u, PagerSupplyPages: pager, vmo, first, pages, mask, fill),
            35 => decode_variant!(u, PagerDetach: pager, vmo),
            _ => decode_variant!(u, PinnedOp: pmt, op, offset, len),
        })
    }
}

const _: () = {
    let mut total = 0;
    let mut n = 0;
    while n < Call::WEIGHTS.len() {
        total += Call::WEIGHTS[n] as u32;
        n += 1;
    }
    assert!(total == 256, "the weights must add up to 256");
};

impl<'a> Arbitrary<'a> for Call {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let selector: u8 = u.arbitrary()?;
        let mut below = 0u32;
        for (n, &weight) in Self::WEIGHTS.iter().enumerate() {
            below += u32::from(weight);
            if u32::from(selector) < below {
                return Self::decode_nth(n, u);
            }
        }
        unreachable!("the weights add up to 256")
    }
}
