//! User pagers and ports.
//!
//! A port is the FIFO of packets the harness expects it to hold: user packets it queued and
//! ZX_PAGER_VMO_COMPLETE packets, which a pager-backed family sends once when its VMO is
//! detached, or when its last VMO goes while still attached (unless the pager was closed
//! first). Page requests are never sent: a request goes out only from a call that then waits,
//! and the harness never issues one (with the VMO detached or its pager closed the call fails
//! at once, without a request). When a port's last handle goes its packets are dropped and
//! later ones are lost.
//!
//! A supply moves the source VMO's frames into the pager-backed VMO: in the model the source's
//! range is decommitted and its pages with content are written into the pager-backed VMO where
//! it has no page yet (a page supplied as zeros stays empty there); every page of the range
//! counts as supplied from then on.

use zircon::kernel::port::{
    PACKET_SIZE, PAYLOAD_SIZE, ZX_PAGER_VMO_COMPLETE, ZX_PKT_TYPE_USER, ZX_PORT_BIND_TO_INTERRUPT,
};
use zircon::kernel::Time;

use crate::calls::{AuxArg, ObjArg, ObjectKind, PagerVmoArg};

use super::*;

/// ZX_TIME_INFINITE_PAST: a wait that never blocks.
const INFINITE_PAST: Time = i64::MIN;

/// A port.
pub(super) struct PortRec {
    /// Live handles; the port closes with its last.
    pub handles: usize,
    pub queue: Queue,
}

/// A pager.
pub(super) struct PagerRec {
    /// Its (only: pager handles cannot be duplicated) handle is open.
    pub open: bool,
}

/// A pager-backed VMO and the VMOs made from it.
pub(super) struct PagerFam {
    /// The pager-backed VMO itself.
    pub root: VmoId,
    pub pager: usize,
    pub port: usize,
    pub key: u64,
    pub detached: bool,
    /// Pages of the root the pager supplied (and that were not cut off by a shrink since).
    pub supplied: BTreeSet<u64>,
    /// VMOs of the family the kernel still has (the binding goes with the last).
    pub live: usize,
}

impl World {
    /// A port handle went.
    pub(super) fn port_handle_gone(&mut self, port: usize) {
        let rec = &mut self.ports[port];
        rec.handles -= 1;
        if rec.handles == 0 {
            rec.queue.clear();
        }
    }

    /// Queues ZX_PAGER_VMO_COMPLETE for family `f`, if its port is still open.
    fn complete(&mut self, f: usize) {
        let fam = &self.pager_fams[f];
        let port = &mut self.ports[fam.port];
        if port.handles > 0 {
            port.queue.push_back(PortPacket::page_request(
                fam.key,
                ZX_PAGER_VMO_COMPLETE,
                0,
                0,
            ));
        }
    }

    /// A VMO of family `f` went; with the last, so does the binding, which tells the port the
    /// VMO is complete if it was still attached.
    pub(super) fn pager_member_gone(&mut self, f: usize) {
        self.pager_fams[f].live -= 1;
        if self.pager_fams[f].live == 0 && self.attached(f) {
            self.complete(f);
        }
    }

    pub(super) fn port_create(&mut self, options: u8) -> Result<(), String> {
        if !self.room_for_other() {
            return Ok(());
        }
        let options = match options % 4 {
            0 => 0,
            1 => ZX_PORT_BIND_TO_INTERRUPT,
            2 => 1 << 1,
            _ => 1 << 7,
        };
        let expected = if options & !ZX_PORT_BIND_TO_INTERRUPT != 0 {
            Err(ZX_ERR_INVALID_ARGS)
        } else {
            Ok(())
        };
        let actual = self.sys().port_create(options);
        self.outcome("zx_port_create", expected, &actual)?;
        if let Ok(handle) = actual {
            self.ports.push(PortRec {
                handles: 0,
                queue: Queue::new(),
            });
            self.hold_other(
                handle,
                Obj::Port(self.ports.len() - 1),
                Rights::DEFAULT_PORT,
            )?;
        }
        Ok(())
    }

    pub(super) fn port_queue(&mut self, port: ObjArg, key: u8, status: i8) -> Result<(), String> {
        let (value, named) = self.resolve_obj(port, ObjectKind::Port);
        let mut payload = [0u8; PAYLOAD_SIZE];
        payload.copy_from_slice(&pattern(key, u64::from(status as u8), PAYLOAD_SIZE));
        let packet = PortPacket {
            key: u64::from(key) * 0x0101_0101_0101,
            // Any type: the kernel makes it a user packet.
            packet_type: 0x55,
            status: i32::from(status),
            payload,
        };
        let expected = Self::expect_other(named, ObjectKind::Port, Rights::WRITE);
        let actual = self
            .sys()
            .port_queue(value, UserBytes::new(&packet.to_bytes()));
        self.outcome("zx_port_queue", expected.map(|_| ()), &actual)?;
        if let (
            Ok(OtherHandle {
                obj: Obj::Port(port),
                ..
            }),
            Ok(()),
        ) = (expected, actual)
        {
            self.ports[port].queue.push_back(PortPacket {
                packet_type: ZX_PKT_TYPE_USER,
                ..packet
            });
        }
        Ok(())
    }

    /// `zx_port_wait` with a deadline in the past: the oldest packet, or `ZX_ERR_TIMED_OUT`.
    pub(super) fn port_wait(&mut self, port: ObjArg, short_buffer: bool) -> Result<(), String> {
        let (value, named) = self.resolve_obj(port, ObjectKind::Port);
        let expected = (|| {
            let held = Self::expect_other(named, ObjectKind::Port, Rights::READ)?;
            if short_buffer {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            let Obj::Port(port) = held.obj else {
                unreachable!("a port handle")
            };
            match self.ports[port].queue.front() {
                Some(&packet) => Ok((port, packet)),
                None => Err(ZX_ERR_TIMED_OUT),
            }
        })();
        let mut buffer = vec![0u8; PACKET_SIZE - usize::from(short_buffer)];
        let actual = self
            .sys()
            .port_wait(value, INFINITE_PAST, UserBuffer::new(&mut buffer));
        self.outcome("zx_port_wait", expected.map(|_| ()), &actual)?;
        if let (Ok((port, packet)), Ok(())) = (expected, actual) {
            let bytes: &[u8; PACKET_SIZE] = buffer[..].try_into().expect("a packet's room");
            check(
                "the packet zx_port_wait returned",
                packet,
                PortPacket::from_bytes(bytes),
            )?;
            self.ports[port].queue.pop_front();
            self.stats.packets += 1;
        }
        Ok(())
    }

    pub(super) fn pager_create(&mut self, bad_options: bool) -> Result<(), String> {
        if !self.room_for_other() {
            return Ok(());
        }
        let expected = if bad_options {
            Err(ZX_ERR_INVALID_ARGS)
        } else {
            Ok(())
        };
        let actual = self
            .sys()
            .pager_create(if bad_options { 1 << 3 } else { 0 });
        self.outcome("zx_pager_create", expected, &actual)?;
        if let Ok(handle) = actual {
            self.pagers.push(PagerRec { open: true });
            self.hold_other(
                handle,
                Obj::Pager(self.pagers.len() - 1),
                Rights::DEFAULT_PAGER,
            )?;
        }
        Ok(())
    }

    pub(super) fn pager_create_vmo(
        &mut self,
        pager: ObjArg,
        port: ObjArg,
        size: u64,
        resizable: bool,
        bad_options: bool,
        key: u8,
    ) -> Result<(), String> {
        if !self.room_for_handle() {
            return Ok(());
        }
        let (pager_value, pager_named) = self.resolve_obj(pager, ObjectKind::Pager);
        let (port_value, port_named) = self.resolve_obj(port, ObjectKind::Port);
        let options =
            if resizable { ZX_VMO_RESIZABLE } else { 0 } | if bad_options { 1 << 5 } else { 0 };
        let key = (u64::from(key) << 8) | 0x4B;
        // The pager (no right), the port (WRITE), options, size.
        let expected = (|| {
            let pager = Self::expect_other(pager_named, ObjectKind::Pager, Rights::empty())?;
            let port = Self::expect_other(port_named, ObjectKind::Port, Rights::WRITE)?;
            if bad_options {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            vmo_size(size)?;
            match (pager.obj, port.obj) {
                (Obj::Pager(pager), Obj::Port(port)) => Ok((pager, port)),
                _ => unreachable!("a pager and a port"),
            }
        })();
        let actual = self
            .sys()
            .pager_create_vmo(pager_value, options, port_value, key, size);
        self.outcome("zx_pager_create_vmo", expected.map(|_| ()), &actual)?;
        let (Ok((pager, port)), Ok(value)) = (expected, actual) else {
            return Ok(());
        };
        let id = self
            .model
            .create(size, resizable)
            .map_err(|e| format!("the model cannot create a pager-backed VMO: {e:?}"))?;
        self.pager_fams.push(PagerFam {
            root: id,
            pager,
            port,
            key,
            detached: false,
            supplied: BTreeSet::new(),
            live: 0,
        });
        let f = self.pager_fams.len() - 1;
        self.meta.insert(id, Meta::root(id, Fam::Pager(f)));
        let mut rights = Rights::DEFAULT_VMO;
        if resizable {
            rights |= Rights::RESIZE;
        }
        self.hold(value, id, rights)?;
        self.stats.pager_vmos += 1;
        Ok(())
    }

    /// The VMO a pager call names: mostly a pager-backed VMO with a live handle.
    pub(super) fn resolve_pager_vmo(
        &self,
        arg: PagerVmoArg,
    ) -> (HandleValue, Option<HeldHandle>, bool) {
        if arg.choice < 200 {
            let roots: Vec<HeldHandle> = self
                .handles
                .iter()
                .copied()
                .filter(|h| {
                    matches!(self.fam(h.vmo), Fam::Pager(f) if self.pager_fams[f].root == h.vmo)
                })
                .collect();
            if !roots.is_empty() {
                let held = roots[usize::from(arg.index) % roots.len()];
                return (held.value, Some(held), false);
            }
        }
        self.resolve(arg.handle)
    }

    /// The family of `held` if pager `pager` created its VMO (not a clone or slice of it):
    /// `ZX_ERR_INVALID_ARGS` otherwise.
    fn created_by(&self, held: HeldHandle, pager: OtherHandle) -> Result<usize, Status> {
        match (self.fam(held.vmo), pager.obj) {
            (Fam::Pager(f), Obj::Pager(pager))
                if self.pager_fams[f].root == held.vmo && self.pager_fams[f].pager == pager =>
            {
                Ok(f)
            }
            _ => Err(ZX_ERR_INVALID_ARGS),
        }
    }

    pub(super) fn pager_detach(&mut self, pager: ObjArg, vmo: PagerVmoArg) -> Result<(), String> {
        let (pager_value, pager_named) = self.resolve_obj(pager, ObjectKind::Pager);
        let (vmo_value, held, wrong_type) = self.resolve_pager_vmo(vmo);
        // The pager, the VMO (no right), then the VMO must be one the pager created.
        let expected = (|| {
            let pager = Self::expect_other(pager_named, ObjectKind::Pager, Rights::empty())?;
            let held = Self::expect_vmo(held, wrong_type, Rights::empty())?;
            self.created_by(held, pager)
        })();
        let actual = self.sys().pager_detach_vmo(pager_value, vmo_value);
        self.outcome("zx_pager_detach_vmo", expected.map(|_| ()), &actual)?;
        if let (Ok(f), Ok(())) = (expected, actual) {
            if !self.pager_fams[f].detached {
                self.pager_fams[f].detached = true;
                self.complete(f);
            }
        }
        Ok(())
    }

    /// A new VMO of `len` bytes for a supply to take pages from, with the pages whose bit is
    /// set in `mask` written (as far as memory allows): held by the harness only.
    fn fresh_aux(&mut self, len: u64, mask: u16, fill: u8) -> Result<HeldHandle, String> {
        let value = self
            .sys()
            .vmo_create(len, 0)
            .map_err(|s| format!("creating a source VMO for a supply: {s}"))?;
        let id = self
            .model
            .create(len, false)
            .map_err(|e| format!("the model cannot create a source VMO: {e:?}"))?;
        self.meta.insert(id, Meta::root(id, Fam::Anon));
        self.add_ref(id);
        // Each run of pages whose bit is set, in one write.
        let pages = len / PAGE;
        let mut page = 0;
        while page < pages {
            if mask & (1 << (page % 16)) == 0 {
                page += 1;
                continue;
            }
            let mut end = page + 1;
            while end < pages && mask & (1 << (end % 16)) != 0 {
                end += 1;
            }
            let data = pattern(fill, page * PAGE, ((end - page) * PAGE) as usize);
            let expected = self.model.write(id, page * PAGE, &data).map_err(status_of);
            let actual = self
                .sys()
                .vmo_write(value, UserBytes::new(&data), page * PAGE);
            check("filling a source VMO for a supply", expected, actual)?;
            page = end;
        }
        Ok(HeldHandle {
            value,
            vmo: id,
            rights: Rights::DEFAULT_VMO,
        })
    }

    pub(super) fn pager_supply(
        &mut self,
        pager: ObjArg,
        vmo: PagerVmoArg,
        offset: u64,
        len: u64,
        aux: AuxArg,
        aux_offset: u64,
    ) -> Result<(), String> {
        let (pager_value, pager_named) = self.resolve_obj(pager, ObjectKind::Pager);
        let (vmo_value, held, wrong_type) = self.resolve_pager_vmo(vmo);
        let fresh = match aux {
            AuxArg::Fresh { mask, fill } if len % PAGE == 0 && len <= 16 * PAGE => {
                Some(self.fresh_aux(len, mask, fill)?)
            }
            _ => None,
        };
        let (aux_value, aux_held, aux_wrong, aux_offset) = match (fresh, aux) {
            (Some(fresh), _) => (fresh.value, Some(fresh), false, 0),
            (None, AuxArg::Handle(handle)) => {
                let (value, held, wrong) = self.resolve(handle);
                (value, held, wrong, aux_offset)
            }
            // Too long for a fresh source: a value naming nothing.
            (None, AuxArg::Fresh { .. }) => (self.root_vmar ^ 1, None, false, aux_offset),
        };
        // Alignment, the pager, the pager-backed VMO (no right) created by it, the source
        // (READ and WRITE), an attached VMO, then the engine's checks: the source's kind and
        // range, a source that is a plain VMO of its own, the destination range, memory.
        let expected = (|| {
            if offset % PAGE != 0 || len % PAGE != 0 || aux_offset % PAGE != 0 {
                return Err(ZX_ERR_INVALID_ARGS);
            }
            let pager = Self::expect_other(pager_named, ObjectKind::Pager, Rights::empty())?;
            let held = Self::expect_vmo(held, wrong_type, Rights::empty())?;
            let f = self.created_by(held, pager)?;
            let aux = Self::expect_vmo(aux_held, aux_wrong, Rights::READ | Rights::WRITE)?;
            if !self.attached(f) {
                return Err(ZX_ERR_BAD_STATE);
            }
            let aux_fam = self.fam(aux.vmo);
            if matches!(aux_fam, Fam::Contig(_) | Fam::Phys) {
                return Err(ZX_ERR_NOT_SUPPORTED);
            }
            if !within(aux_offset, len, self.size_of(aux.vmo)) {
                return Err(ZX_ERR_OUT_OF_RANGE);
            }
            let plain = aux_fam == Fam::Anon
                && self.meta[&aux.vmo].root
                && self.model.infos()[&aux.vmo].num_children == 0;
            // Pinned pages must stay where they are (Zircon refuses to take them).
            let first = aux_offset / PAGE;
            if !plain {
                return Err(ZX_ERR_BAD_STATE);
            }
            if self.any_pinned(aux.vmo, first..first + len / PAGE) {
                return Err(ZX_ERR_BAD_STATE);
            }
            if !within(offset, len, self.size_of(held.vmo)) {
                return Err(ZX_ERR_OUT_OF_RANGE);
            }
            let with_content: Vec<u64> = self
                .model
                .version_pages(aux.vmo)
                .into_iter()
                .filter(|page| (first..first + len / PAGE).contains(page))
                .collect();
            let zeros = len / PAGE - with_content.len() as u64;
            let available = (self.frame_limit as u64).saturating_sub(self.model.frames_in_use());
            if zeros > available {
                return Err(ZX_ERR_NO_MEMORY);
            }
            Ok((f, aux, with_content))
        })();
        let actual = self.sys().pager_supply_pages(
            pager_value,
            vmo_value,
            offset,
            len,
            aux_value,
            aux_offset,
        );
        let status = expected.as_ref().map(|_| ()).map_err(|s| *s);
        self.outcome("zx_pager_supply_pages", status, &actual)?;
        if let (Ok((f, aux, with_content)), Ok(())) = (expected, actual) {
            let first = aux_offset / PAGE;
            let dest = offset / PAGE;
            let mut moved = Vec::new();
            for page in with_content {
                let bytes = self
                    .model
                    .read(aux.vmo, page * PAGE, PAGE as usize)
                    .map_err(|e| format!("model read of a source page: {e:?}"))?;
                moved.push((dest + page - first, bytes));
            }
            self.model
                .decommit(aux.vmo, aux_offset, len)
                .map_err(|e| format!("the model cannot empty a supply's source: {e:?}"))?;
            let root = self.pager_fams[f].root;
            for (page, bytes) in moved {
                if !self.pager_fams[f].supplied.contains(&page) {
                    self.model
                        .write(root, page * PAGE, &bytes)
                        .map_err(|e| format!("the model cannot take a supplied page: {e:?}"))?;
                }
            }
            self.pager_fams[f].supplied.extend(dest..dest + len / PAGE);
            if len > 0 {
                self.stats.supplies += 1;
            }
        }
        if let Some(fresh) = fresh {
            self.sys()
                .handle_close(fresh.value)
                .map_err(|s| format!("closing a supply's source: {s}"))?;
            self.dead.push(fresh.value);
            self.drop_ref(fresh.vmo);
        }
        Ok(())
    }

    /// Every open port holds the packets the harness expects, in number (their content is
    /// compared as `zx_port_wait` returns them).
    pub(super) fn check_ports(&self) -> Result<(), String> {
        for (index, port) in self.ports.iter().enumerate() {
            if port.handles == 0 {
                continue;
            }
            let Some(held) = self.others.iter().find(|h| h.obj == Obj::Port(index)) else {
                return Err(format!("port {index} has no handle the harness holds"));
            };
            let Ok((Object::Port(object), _)) = self.sys().lookup(held.value) else {
                return Err(format!("port {index}'s handle names no port"));
            };
            check_that(
                || format!("packets queued on port {index}"),
                port.queue.len(),
                object.queue().len(),
            )?;
        }
        Ok(())
    }
}
