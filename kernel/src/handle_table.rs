//! The kernel's handle table: one arena for every process, as in Zircon. Each entry records the
//! process that owns it, so a handle value means something only to its owner: the same bits
//! presented by another process are `ZX_ERR_BAD_HANDLE`, always, not by luck.
//!
//! A handle value encodes the slot index and the slot's generation (so a closed value stays
//! invalid while its slot is reused), shifted past the two low bits, which are always set
//! (`ZX_HANDLE_INVALID` is 0), and XORed with the owner's mask.

use alloc::vec::Vec;

use crate::koid::Koid;
use crate::object::Object;
use crate::platform::KernelPlatform;
use crate::process::Process;
use crate::rights::Rights;
use crate::status::{Status, ZX_ERR_BAD_HANDLE, ZX_ERR_NO_RESOURCES};

/// A handle value as user code sees it (`zx_handle_t`).
pub type HandleValue = u32;

/// `ZX_HANDLE_INVALID`.
pub const HANDLE_INVALID: HandleValue = 0;

const GENERATION_BITS: u32 = 12;
const GENERATION_MASK: u32 = (1 << GENERATION_BITS) - 1;
/// Live handles the whole kernel may hold (Zircon's per-process limit); beyond it creating a
/// handle is `ZX_ERR_NO_RESOURCES`. Index (18 bits), generation (12 bits: a closed value comes
/// back only after its slot was reused 4096 times) and the two low bits fill 32 bits.
pub const MAX_HANDLES: usize = 1 << 18;

/// What a handle grants: an object and rights over it.
pub struct HandleEntry<P: KernelPlatform> {
    /// The object.
    pub object: Object<P>,
    /// What the holder may do with it.
    pub rights: Rights,
    owner: Koid,
}

struct Slot<P: KernelPlatform> {
    generation: u32,
    entry: Option<HandleEntry<P>>,
}

struct Slots<P: KernelPlatform> {
    slots: Vec<Slot<P>>,
    free: Vec<u32>,
}

/// Every live handle of every process.
pub struct HandleTable<P: KernelPlatform> {
    slots: lock_api::Mutex<P::RawMutex, Slots<P>>,
}

impl<P: KernelPlatform> HandleTable<P> {
    /// An empty table.
    pub fn new() -> Self {
        HandleTable {
            slots: lock_api::Mutex::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    /// A new handle of `owner` to `object`.
    pub fn add(
        &self,
        owner: &Process<P>,
        object: Object<P>,
        rights: Rights,
    ) -> Result<HandleValue, Status> {
        let mut table = self.slots.lock();
        let index = match table.free.pop() {
            Some(index) => index,
            None => {
                if table.slots.len() >= MAX_HANDLES {
                    return Err(ZX_ERR_NO_RESOURCES);
                }
                table
                    .slots
                    .try_reserve(1)
                    .map_err(|_| crate::status::ZX_ERR_NO_MEMORY)?;
                table.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                // Below MAX_HANDLES = 2^18, so it fits.
                (table.slots.len() - 1) as u32
            }
        };
        // The free list never needs more room than there are slots; reserve it now so that a
        // later close cannot fail.
        let needed = table.slots.len();
        if table.free.capacity() < needed {
            let extra = needed - table.free.len();
            if table.free.try_reserve(extra).is_err() {
                table.free.push(index);
                return Err(crate::status::ZX_ERR_NO_MEMORY);
            }
        }
        let slot = &mut table.slots[index as usize];
        slot.entry = Some(HandleEntry {
            object,
            rights,
            owner: owner.koid(),
        });
        Ok(encode(index, slot.generation, owner.handle_mask()))
    }

    /// The object and rights `value` grants `owner`.
    pub fn get(
        &self,
        owner: &Process<P>,
        value: HandleValue,
    ) -> Result<(Object<P>, Rights), Status> {
        let table = self.slots.lock();
        let index = find(&table, owner, value).ok_or(ZX_ERR_BAD_HANDLE)?;
        let entry = live_entry(&table, index);
        Ok((entry.object.clone(), entry.rights))
    }

    /// Whether `value` is a live handle of `owner` to the object `koid`.
    pub fn refers_to(&self, owner: &Process<P>, value: HandleValue, koid: Koid) -> bool {
        let table = self.slots.lock();
        find(&table, owner, value)
            .is_some_and(|index| live_entry(&table, index).object.koid() == koid)
    }

    /// Removes `value` from `owner`'s handles and returns what it granted. The caller drops the
    /// entry after this returns, outside the table's lock (dropping the last reference to a
    /// process or VMO runs code that may need the table).
    pub fn remove(&self, owner: &Process<P>, value: HandleValue) -> Result<HandleEntry<P>, Status> {
        let mut table = self.slots.lock();
        let index = find(&table, owner, value).ok_or(ZX_ERR_BAD_HANDLE)?;
        Ok(take_slot(&mut table, index))
    }

    /// Atomically replaces `value` with a new handle to the same object with `rights` (which
    /// the caller checked), returning the new value.
    pub fn replace(
        &self,
        owner: &Process<P>,
        value: HandleValue,
        rights: Rights,
    ) -> Result<HandleValue, Status> {
        let mut table = self.slots.lock();
        let index = find(&table, owner, value).ok_or(ZX_ERR_BAD_HANDLE)?;
        let slot = &mut table.slots[index as usize];
        // The same slot under a new generation: nothing to allocate, so this cannot fail.
        slot.generation = (slot.generation + 1) & GENERATION_MASK;
        if let Some(entry) = &mut slot.entry {
            entry.rights = rights;
        }
        Ok(encode(index, slot.generation, owner.handle_mask()))
    }

    /// Removes every handle `owner` holds (when the process goes away).
    pub fn remove_all_of(&self, owner: Koid) -> Vec<HandleEntry<P>> {
        let mut table = self.slots.lock();
        let owned: Vec<u32> = table
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.entry.as_ref().is_some_and(|e| e.owner == owner))
            // Below MAX_HANDLES = 2^18.
            .map(|(index, _)| index as u32)
            .collect();
        owned
            .into_iter()
            .map(|index| take_slot(&mut table, index))
            .collect()
    }

    /// Handles alive in the whole kernel.
    pub fn live(&self) -> usize {
        let table = self.slots.lock();
        table.slots.len() - table.free.len()
    }
}

impl<P: KernelPlatform> Default for HandleTable<P> {
    fn default() -> Self {
        Self::new()
    }
}

fn encode(index: u32, generation: u32, mask: u32) -> HandleValue {
    (((index << GENERATION_BITS | generation) << 2) | 3) ^ mask
}

fn decode(value: HandleValue, mask: u32) -> Option<(u32, u32)> {
    let raw = value ^ mask;
    if raw & 3 != 3 {
        return None;
    }
    let raw = raw >> 2;
    Some((raw >> GENERATION_BITS, raw & GENERATION_MASK))
}

/// The index of the live slot `value` names for `owner`, if it names one.
fn find<P: KernelPlatform>(
    table: &Slots<P>,
    owner: &Process<P>,
    value: HandleValue,
) -> Option<u32> {
    let (index, generation) = decode(value, owner.handle_mask())?;
    let slot = table.slots.get(index as usize)?;
    let entry = slot.entry.as_ref()?;
    (slot.generation == generation && entry.owner == owner.koid()).then_some(index)
}

/// The entry of a slot [`find`] returned.
fn live_entry<P: KernelPlatform>(table: &Slots<P>, index: u32) -> &HandleEntry<P> {
    match &table.slots[index as usize].entry {
        Some(entry) => entry,
        None => unreachable!("find returns live slots only"),
    }
}

/// Empties a live slot, bumping its generation so the old value stays dead.
fn take_slot<P: KernelPlatform>(table: &mut Slots<P>, index: u32) -> HandleEntry<P> {
    let slot = &mut table.slots[index as usize];
    slot.generation = (slot.generation + 1) & GENERATION_MASK;
    let Some(entry) = slot.entry.take() else {
        unreachable!("callers pass live slots only");
    };
    // Room for every slot was reserved when the handle was added.
    table.free.push(index);
    entry
}
