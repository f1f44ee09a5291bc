//! Ports: queues of packets that threads wait on (`zx_port_create`, `zx_port_wait`,
//! `zx_port_queue`). User code queues user packets; the kernel queues the page requests of
//! pager-backed VMOs (see `pager`). Packets leave in FIFO order, each to exactly one waiter.
//!
//! The queue lives apart from the port object that handles refer to, because a pager-backed VMO
//! keeps sending to its port whoever holds handles to it. When the last handle to a port goes,
//! the queue drops its packets and refuses new ones, as Zircon's port does once it has no
//! handles left: a page request sent there is lost, and the threads waiting for it wait until
//! the pages are supplied, the VMO is detached or its pager is closed.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use crate::koid::Koid;
use crate::platform::{KernelPlatform, Time};
use crate::signals::{SignalSet, Signals, WaitFailure};
use crate::status::ZX_ERR_TIMED_OUT;
use crate::status::{Status, ZX_ERR_BAD_STATE, ZX_ERR_NO_MEMORY, ZX_ERR_SHOULD_WAIT};

/// Bytes of a `zx_port_packet_t`: key u64 @0, type u32 @8, status i32 @12, a 32-byte union @16.
pub const PACKET_SIZE: usize = 48;
/// Bytes of the packet's union (`zx_packet_user_t`, `zx_packet_page_request_t`, ...).
pub const PAYLOAD_SIZE: usize = 32;

/// `zx_port_packet_t.type` of packets queued by `zx_port_queue`.
pub const ZX_PKT_TYPE_USER: u32 = 0x00;
/// `zx_port_packet_t.type` of the page requests of a pager-backed VMO.
pub const ZX_PKT_TYPE_PAGE_REQUEST: u32 = 0x09;
/// `zx_packet_page_request_t.command`: supply `[offset, offset + length)`.
pub const ZX_PAGER_VMO_READ: u16 = 0;
/// `zx_packet_page_request_t.command`: no request for this VMO will follow (it was detached,
/// or nothing refers to it any more).
pub const ZX_PAGER_VMO_COMPLETE: u16 = 1;
/// `zx_port_create` option: bind interrupts to the port. Accepted (no interrupt object exists
/// here, so it changes nothing), as Zircon accepts it.
pub const ZX_PORT_BIND_TO_INTERRUPT: u32 = 1 << 0;

/// User packets one port may hold before `zx_port_queue` answers `ZX_ERR_SHOULD_WAIT`: a bound
/// on the kernel memory a program that never drains its port can take.
pub const MAX_USER_PACKETS: usize = 16 * 1024;

/// The signal a port's waiters sleep on: never visible to users (ports carry no WAIT right).
const PACKET_READY: SignalSet = 1 << 0;

/// A port packet in its C layout's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortPacket {
    /// The key given when queueing, or when the pager-backed VMO was created.
    pub key: u64,
    /// `ZX_PKT_TYPE_*`.
    pub packet_type: u32,
    /// ZX_OK for kernel packets; the sender's choice for user packets.
    pub status: Status,
    /// The union, little-endian.
    pub payload: [u8; PAYLOAD_SIZE],
}

impl PortPacket {
    /// The packet `zx_port_packet_t` bytes describe.
    pub fn from_bytes(bytes: &[u8; PACKET_SIZE]) -> Self {
        let mut payload = [0; PAYLOAD_SIZE];
        payload.copy_from_slice(&bytes[16..]);
        PortPacket {
            key: u64::from_le_bytes(field(bytes, 0)),
            packet_type: u32::from_le_bytes(field(bytes, 8)),
            status: i32::from_le_bytes(field(bytes, 12)),
            payload,
        }
    }

    /// The packet as `zx_port_packet_t` bytes.
    pub fn to_bytes(&self) -> [u8; PACKET_SIZE] {
        let mut bytes = [0; PACKET_SIZE];
        bytes[0..8].copy_from_slice(&self.key.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.packet_type.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.status.to_le_bytes());
        bytes[16..].copy_from_slice(&self.payload);
        bytes
    }

    /// A page request: `zx_packet_page_request_t` is command u16 @0, flags u16 @2 (none
    /// defined: 0), reserved u32 @4, offset u64 @8, length u64 @16, reserved u64 @24.
    pub fn page_request(key: u64, command: u16, offset: u64, length: u64) -> Self {
        let mut payload = [0; PAYLOAD_SIZE];
        payload[0..2].copy_from_slice(&command.to_le_bytes());
        payload[8..16].copy_from_slice(&offset.to_le_bytes());
        payload[16..24].copy_from_slice(&length.to_le_bytes());
        PortPacket {
            key,
            packet_type: ZX_PKT_TYPE_PAGE_REQUEST,
            status: 0,
            payload,
        }
    }

    /// Command, offset and length of a page request (`None` for other packets).
    pub fn page_request_fields(&self) -> Option<(u16, u64, u64)> {
        if self.packet_type != ZX_PKT_TYPE_PAGE_REQUEST {
            return None;
        }
        let command = u16::from_le_bytes([self.payload[0], self.payload[1]]);
        let offset = u64::from_le_bytes(field(&self.payload, 8));
        let length = u64::from_le_bytes(field(&self.payload, 16));
        Some((command, offset, length))
    }
}

/// `N` bytes of `bytes` at `at` (the callers' offsets lie inside the arrays they pass).
fn field<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// Who queued a kernel packet and which of its requests it answers, so that the sender can
/// take it back while nobody has dequeued it (a request satisfied early, a detached VMO).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The sender's address: unique among live senders.
    pub sender: usize,
    /// The sender's request number.
    pub request: u64,
}

struct Queued {
    packet: PortPacket,
    origin: Option<Origin>,
}

struct QueueState {
    packets: VecDeque<Queued>,
    user_packets: usize,
    /// The port's handles are all gone: nothing will be queued again.
    closed: bool,
}

/// The packets of one port, and its waiters.
pub struct PortQueue<P: KernelPlatform> {
    state: lock_api::Mutex<P::RawMutex, QueueState>,
    signals: Signals<P>,
}

impl<P: KernelPlatform> PortQueue<P> {
    fn new() -> Self {
        PortQueue {
            state: lock_api::Mutex::new(QueueState {
                packets: VecDeque::new(),
                user_packets: 0,
                closed: false,
            }),
            signals: Signals::new(),
        }
    }

    /// Queues a user packet (`zx_port_queue`): its type is forced to ZX_PKT_TYPE_USER, as
    /// Zircon does. `ZX_ERR_SHOULD_WAIT` while [`MAX_USER_PACKETS`] are queued.
    pub fn queue_user(&self, packet: PortPacket) -> Result<(), Status> {
        {
            let mut state = self.state.lock();
            if state.closed {
                return Err(ZX_ERR_BAD_STATE);
            }
            if state.user_packets >= MAX_USER_PACKETS {
                return Err(ZX_ERR_SHOULD_WAIT);
            }
            state.packets.try_reserve(1).map_err(|_| ZX_ERR_NO_MEMORY)?;
            let packet = PortPacket {
                packet_type: ZX_PKT_TYPE_USER,
                ..packet
            };
            state.packets.push_back(Queued {
                packet,
                origin: None,
            });
            state.user_packets += 1;
        }
        self.signals.notify();
        Ok(())
    }

    /// Queues a kernel packet. `Ok(false)` when the port has no handle left (the packet is
    /// dropped, as Zircon drops it); `ZX_ERR_NO_MEMORY` when it cannot be stored.
    pub(crate) fn queue_kernel(
        &self,
        packet: PortPacket,
        origin: Option<Origin>,
    ) -> Result<bool, Status> {
        {
            let mut state = self.state.lock();
            if state.closed {
                return Ok(false);
            }
            state.packets.try_reserve(1).map_err(|_| ZX_ERR_NO_MEMORY)?;
            state.packets.push_back(Queued { packet, origin });
        }
        self.signals.notify();
        Ok(true)
    }

    /// Takes back the queued packets `keep` says no to, if nobody has dequeued them yet.
    pub(crate) fn cancel(&self, keep: impl Fn(Origin) -> bool) {
        self.state
            .lock()
            .packets
            .retain(|queued| queued.origin.is_none_or(&keep));
    }

    /// The oldest packet, if any.
    fn dequeue(&self) -> Option<PortPacket> {
        let mut state = self.state.lock();
        let queued = state.packets.pop_front()?;
        if queued.packet.packet_type == ZX_PKT_TYPE_USER && queued.origin.is_none() {
            state.user_packets -= 1;
        }
        Some(queued.packet)
    }

    /// Waits until a packet can be dequeued or `deadline` passes (`ZX_ERR_TIMED_OUT`; a
    /// deadline in the past still takes a packet already queued).
    pub fn wait(&self, deadline: Time) -> Result<PortPacket, Status> {
        let ready = || {
            if self.state.lock().packets.is_empty() {
                0
            } else {
                PACKET_READY
            }
        };
        loop {
            // Registered under the signal lock, after looking at the queue: a packet queued
            // after the look wakes this waiter.
            match self.signals.wait(PACKET_READY, deadline, &ready, &|| true) {
                Ok(_) => {
                    if let Some(packet) = self.dequeue() {
                        return Ok(packet);
                    }
                    // Another waiter took it first: wait again.
                }
                Err(WaitFailure::TimedOut(_)) | Err(WaitFailure::Canceled) => {
                    return Err(ZX_ERR_TIMED_OUT)
                }
            }
        }
    }

    /// Packets queued now.
    pub fn len(&self) -> usize {
        self.state.lock().packets.len()
    }

    /// Whether no packet is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last handle went: drop the packets and refuse new ones.
    fn close(&self) {
        let dropped = {
            let mut state = self.state.lock();
            state.closed = true;
            state.user_packets = 0;
            core::mem::take(&mut state.packets)
        };
        drop(dropped);
    }
}

/// A port as its handles refer to it.
pub struct Port<P: KernelPlatform> {
    koid: Koid,
    queue: Arc<PortQueue<P>>,
}

impl<P: KernelPlatform> Port<P> {
    /// A new port with an empty queue.
    pub fn new(koid: Koid) -> Self {
        Port {
            koid,
            queue: Arc::new(PortQueue::new()),
        }
    }

    /// The port's id.
    pub fn koid(&self) -> Koid {
        self.koid
    }

    /// The port's queue (pager-backed VMOs keep it to send their requests).
    pub fn queue(&self) -> &Arc<PortQueue<P>> {
        &self.queue
    }

    /// The port's signal state (only its waiters use it).
    pub fn signals(&self) -> &Signals<P> {
        &self.queue.signals
    }
}

impl<P: KernelPlatform> Drop for Port<P> {
    fn drop(&mut self) {
        self.queue.close();
    }
}
