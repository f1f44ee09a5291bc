//! Model checking of the user pager's request/wait/supply protocol with [loom]: the real kernel
//! (`zx_pager_create_vmo`, `zx_vmo_read` on a pager-backed VMO, `zx_port_wait`,
//! `zx_pager_supply_pages`, `zx_pager_detach_vmo`, `zx_handle_close` of the pager) and the real
//! engine run on [`LoomPlatform`], a [`KernelPlatform`](vm_kernel::KernelPlatform) whose locks
//! and wake-up events are loom primitives (the harness in `loom_support/mod.rs`, shared with
//! `loom_signals.rs`), and loom runs each scenario under every interleaving of their operations
//! (up to a preemption bound).
//!
//! What it checks, and why: a read of a page the pager has not supplied fails in the engine with
//! `ShouldWait`; the kernel then looks for the missing run, sends a ZX_PAGER_VMO_READ packet for
//! the part no outstanding request covers and registers the reader's event, all under the
//! binding's lock, and sleeps with an infinite deadline. A supply moves the pages in first and
//! tells the binding afterwards (outstanding ranges shrink, packets of fully answered requests
//! still queued are taken back, every waiter is woken); a detach or the pager's last handle
//! going wakes every waiter too, which then fails with ZX_ERR_BAD_STATE. If any of those paths
//! could slip between a reader's look and its registration, or forget to wake, some
//! interleaving leaves the reader asleep for ever: loom reports it as a deadlock. If the
//! "one request per missing run" bookkeeping raced, some interleaving would queue a second
//! packet, which the scenarios count. The models also check that readers get the supplied
//! bytes, that packets taken back never reach the pager, and that no frame leaks once every
//! handle is closed; the `#[should_panic]` self-test shows that a reader nobody supplies is
//! reported as a deadlock, so a lost wake-up cannot go unnoticed.
//!
//! What the kernel guarantees about a packet a supply makes unnecessary (`PagerBinding::supplied`
//! in `kernel/src/pager.rs`): once `zx_pager_supply_pages` has returned, no ZX_PAGER_VMO_READ
//! packet of a request whose whole range it supplied is still queued on the port. A packet
//! nobody has dequeued yet is taken back (as Zircon does); one a port waiter dequeued before the
//! supply took the binding's lock stays with that waiter: the pager then holds a stale request,
//! and supplying it again is harmless (pages already present are kept, the aux VMO's are freed).
//! A reader never depends on the packet: it looks at the pages again whenever it is woken.
//!
//! A reader woken by a supply that completed before a detach or a pager close gets its page even
//! if it runs only after the detach or close ([`supply_then_pager_goes`]): this model found the
//! bug where it failed with ZX_ERR_BAD_STATE instead.
//!
//! Each model builds a fresh kernel inside the loom closure. Run with `--nocapture` to see how
//! many interleavings each model explored (printed on stderr).
//!
//! [loom]: https://docs.rs/loom

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

use loom::thread;
use vm_kernel::port::{
    PortPacket, PACKET_SIZE, ZX_PAGER_VMO_COMPLETE, ZX_PAGER_VMO_READ, ZX_PKT_TYPE_PAGE_REQUEST,
};
use vm_kernel::status::{Status, ZX_ERR_BAD_STATE, ZX_ERR_TIMED_OUT};
use vm_kernel::{HandleValue, Syscalls, Time, UserBuffer, UserBytes};

mod loom_support;

// Reported on stderr, next to the outcome tallies of `report_outcomes`.
use loom_support::engine::model_on_stderr as model;
use loom_support::{event_waits, LoomKernel, LoomPlatform, INFINITE};

/// A deadline already past: a port wait takes a packet already queued or times out at once.
const PAST: Time = 0;
const PAGE: u64 = 4096;
/// The key of the pager-backed VMO's page requests.
const KEY: u64 = 0x5a5a;
/// What the pager supplies (at the start of the page; the rest is zeros).
const DATA: [u8; 8] = *b"supplied";
/// What page 0 of the two-page VMOs holds (supplied before the threads start).
const EARLY: [u8; 8] = *b"earlyone";

/// A kernel with one process, a pager, a port and a pager-backed VMO whose requests go to the
/// port, shareable between loom threads.
#[derive(Clone)]
struct World {
    kernel: LoomKernel,
    pager: HandleValue,
    port: HandleValue,
    vmo: HandleValue,
}

impl World {
    /// A pager-backed VMO of `pages` pages, none supplied.
    fn new(pages: u64) -> Self {
        let (kernel, _root_vmar) = LoomKernel::boot();
        let sys = kernel.sys();
        let pager = sys.pager_create(0).unwrap();
        let port = sys.port_create(0).unwrap();
        let vmo = sys
            .pager_create_vmo(pager, 0, port, KEY, pages * PAGE)
            .unwrap();
        World {
            kernel,
            pager,
            port,
            vmo,
        }
    }

    fn sys(&self) -> Syscalls<'_, LoomPlatform> {
        self.kernel.sys()
    }

    /// A plain one-page VMO starting with `bytes`, to supply from.
    fn aux(&self, bytes: &[u8]) -> HandleValue {
        let aux = self.sys().vmo_create(PAGE, 0).unwrap();
        self.sys().vmo_write(aux, UserBytes::new(bytes), 0).unwrap();
        aux
    }

    /// `zx_vmo_read` of the first 8 bytes of the pager-backed VMO's page at `offset`.
    fn read(&self, offset: u64) -> Result<[u8; 8], Status> {
        let mut out = [0; 8];
        self.sys()
            .vmo_read(self.vmo, UserBuffer::new(&mut out), offset)?;
        Ok(out)
    }

    /// `zx_port_wait` on the port.
    fn port_wait(&self, deadline: Time) -> Result<PortPacket, Status> {
        let mut bytes = [0; PACKET_SIZE];
        self.sys()
            .port_wait(self.port, deadline, UserBuffer::new(&mut bytes))?;
        Ok(PortPacket::from_bytes(&bytes))
    }

    /// `zx_pager_supply_pages` of the page at `offset` from the whole of `aux`.
    fn supply(&self, offset: u64, aux: HandleValue) -> Result<(), Status> {
        self.sys()
            .pager_supply_pages(self.pager, self.vmo, offset, PAGE, aux, 0)
    }

    /// Supplies the page at `offset` with a fresh aux VMO starting with `bytes`, closed after.
    fn supply_now(&self, offset: u64, bytes: &[u8]) {
        let aux = self.aux(bytes);
        self.supply(offset, aux).unwrap();
        self.close(aux);
    }

    /// Asserts that the port holds no packet now.
    fn assert_port_empty(&self) {
        assert_eq!(
            self.port_wait(PAST).map(|p| p.page_request_fields()),
            Err(ZX_ERR_TIMED_OUT),
            "a packet is left on the port"
        );
    }

    fn close(&self, handle: HandleValue) {
        self.kernel.close(handle);
    }

    /// Closes `handles`, the VMO, the port and the pager (if its handle is still open), and
    /// checks that no frame leaked.
    fn finish(self, handles: &[HandleValue]) {
        for &handle in handles {
            self.close(handle);
        }
        self.close(self.vmo);
        self.close(self.port);
        if self.sys().lookup(self.pager).is_ok() {
            self.close(self.pager);
        }
        self.kernel.finish();
    }
}

/// Asserts that `packet` is a ZX_PAGER_VMO_READ of the page at `offset` with the VMO's key.
fn assert_read_request(packet: PortPacket, offset: u64) {
    assert_eq!(packet.key, KEY);
    assert_eq!(packet.packet_type, ZX_PKT_TYPE_PAGE_REQUEST);
    assert_eq!(packet.status, 0);
    assert_eq!(
        packet.page_request_fields(),
        Some((ZX_PAGER_VMO_READ, offset, PAGE)),
        "not a read of the page at {offset:#x}"
    );
}

/// What a reader thread got, and how many times it waited for the pager.
type Read = (Result<[u8; 8], Status>, usize);

/// A thread reading the page at `offset`. A reader waits on an event only for the pager, so
/// its count of event waits ([`event_waits`]) says whether it requested or joined a request.
fn spawn_reader(world: &World, offset: u64) -> thread::JoinHandle<Read> {
    let world = world.clone();
    thread::spawn(move || {
        let result = world.read(offset);
        (result, event_waits())
    })
}

/// Counts one more interleaving that ended a given way (outside the model).
fn tally(outcome: &AtomicUsize) {
    outcome.fetch_add(1, StdOrdering::Relaxed);
}

/// Reports the interleavings of a model that ended each way, and asserts that each way occurred
/// (so the model really explored the race it is about).
fn report_outcomes(name: &str, outcomes: &[(&str, &AtomicUsize)]) {
    let text: Vec<String> = outcomes
        .iter()
        .map(|(what, count)| format!("{} {what}", count.load(StdOrdering::Relaxed)))
        .collect();
    eprintln!("{name}: {}", text.join(", "));
    for (what, count) in outcomes {
        assert!(
            count.load(StdOrdering::Relaxed) > 0,
            "{name}: no interleaving {what}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Request, supply, wake.

/// A reader blocks on a missing page; the pager (this thread) takes the request from the port,
/// checks it, supplies the page: the reader, which slept exactly once, gets the supplied bytes,
/// and the one packet it caused was the only one.
#[test]
fn reader_gets_the_page_the_pager_supplies() {
    model("pager: one reader", 3, || {
        let world = World::new(1);
        let aux = world.aux(&DATA);
        let reader = spawn_reader(&world, 0);
        assert_read_request(world.port_wait(INFINITE).unwrap(), 0);
        world.supply(0, aux).unwrap();
        assert_eq!(reader.join().unwrap(), (Ok(DATA), 1));
        world.assert_port_empty();
        assert_eq!(world.read(0), Ok(DATA));
        world.finish(&[aux]);
    });
}

static TWO_READERS_SHARED: AtomicUsize = AtomicUsize::new(0);
static TWO_READERS_ONE_LATE: AtomicUsize = AtomicUsize::new(0);

/// Two readers of the same missing page: whichever comes second finds the page requested and
/// waits without sending anything (or, if it comes after the supply, finds the page), so exactly
/// one packet goes out; one supply wakes both. Both cases must occur.
#[test]
fn two_readers_share_one_request() {
    model("pager: two readers", 2, || {
        let world = World::new(1);
        let aux = world.aux(&DATA);
        let readers = [spawn_reader(&world, 0), spawn_reader(&world, 0)];
        assert_read_request(world.port_wait(INFINITE).unwrap(), 0);
        world.supply(0, aux).unwrap();
        let mut waits = 0;
        for reader in readers {
            let (result, waited) = reader.join().unwrap();
            assert_eq!(result, Ok(DATA));
            assert!(
                waited <= 1,
                "a reader woke without its page ({waited} waits)"
            );
            waits += waited;
        }
        tally(match waits {
            2 => &TWO_READERS_SHARED,
            1 => &TWO_READERS_ONE_LATE,
            _ => unreachable!("the request came from a reader that waited"),
        });
        // Both readers are done: any second request would be on the port now.
        world.assert_port_empty();
        world.finish(&[aux]);
    });
    report_outcomes(
        "pager: two readers",
        &[
            (
                "with both readers waiting on one request",
                &TWO_READERS_SHARED,
            ),
            ("with one reader after the supply", &TWO_READERS_ONE_LATE),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// The pager goes away.

/// A reader is blocked on page 1 (its request has been dequeued, so it is registered) when the
/// pager's only handle is closed: the reader fails with ZX_ERR_BAD_STATE, the page supplied
/// before stays readable, no COMPLETE packet is sent for a closed pager, and once everything is
/// closed no frame is left.
#[test]
fn closing_the_pager_fails_a_blocked_reader() {
    model("pager: close vs blocked reader", 3, || {
        let world = World::new(2);
        world.supply_now(0, &EARLY);
        let reader = spawn_reader(&world, PAGE);
        assert_read_request(world.port_wait(INFINITE).unwrap(), PAGE);
        world.close(world.pager);
        assert_eq!(reader.join().unwrap(), (Err(ZX_ERR_BAD_STATE), 1));
        world.assert_port_empty();
        assert_eq!(world.read(0), Ok(EARLY), "supplied pages stay readable");
        assert_eq!(world.read(PAGE), Err(ZX_ERR_BAD_STATE));
        world.finish(&[]);
    });
}

static CLOSE_WAITED: AtomicUsize = AtomicUsize::new(0);
static CLOSE_REFUSED: AtomicUsize = AtomicUsize::new(0);

/// The pager's handle is closed while a reader of a missing page runs, at any point of it: the
/// reader fails with ZX_ERR_BAD_STATE whether it looked before the close (it requested and
/// waited: the close wakes it and takes its packet back, so the port ends empty) or after (it
/// is refused without requesting). Both cases must occur.
#[test]
fn closing_the_pager_races_a_reader() {
    model("pager: close vs reader", 3, || {
        let world = World::new(2);
        world.supply_now(0, &EARLY);
        let reader = spawn_reader(&world, PAGE);
        world.close(world.pager);
        let (result, waits) = reader.join().unwrap();
        assert_eq!(result, Err(ZX_ERR_BAD_STATE));
        tally(match waits {
            1 => &CLOSE_WAITED,
            0 => &CLOSE_REFUSED,
            _ => panic!("woken {waits} times"),
        });
        world.assert_port_empty();
        assert_eq!(world.read(0), Ok(EARLY));
        world.finish(&[]);
    });
    report_outcomes(
        "pager: close vs reader",
        &[
            ("woken by the close", &CLOSE_WAITED),
            ("refused at once", &CLOSE_REFUSED),
        ],
    );
}

static DETACH_WAITED: AtomicUsize = AtomicUsize::new(0);
static DETACH_REFUSED: AtomicUsize = AtomicUsize::new(0);

/// `zx_pager_detach_vmo` while a reader of a missing page runs: the reader fails with
/// ZX_ERR_BAD_STATE; a request it queued before the detach is taken back, so the port holds
/// exactly the one ZX_PAGER_VMO_COMPLETE; no frame leaks. Readers woken by the detach and
/// readers refused at once must both occur.
#[test]
fn detaching_races_a_reader() {
    model("pager: detach vs reader", 3, || {
        let world = World::new(2);
        world.supply_now(0, &EARLY);
        let reader = spawn_reader(&world, PAGE);
        world
            .sys()
            .pager_detach_vmo(world.pager, world.vmo)
            .unwrap();
        let (result, waits) = reader.join().unwrap();
        assert_eq!(result, Err(ZX_ERR_BAD_STATE));
        tally(match waits {
            1 => &DETACH_WAITED,
            0 => &DETACH_REFUSED,
            _ => panic!("woken {waits} times"),
        });
        let complete = world.port_wait(PAST).unwrap();
        assert_eq!(complete.key, KEY);
        assert_eq!(
            complete.page_request_fields(),
            Some((ZX_PAGER_VMO_COMPLETE, 0, 0)),
            "the read request was not taken back"
        );
        world.assert_port_empty();
        assert_eq!(world.read(0), Ok(EARLY));
        world.finish(&[]);
    });
    report_outcomes(
        "pager: detach vs reader",
        &[
            ("woken by the detach", &DETACH_WAITED),
            ("refused at once", &DETACH_REFUSED),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// A supply racing with a read.

static RACE_DIRECT: AtomicUsize = AtomicUsize::new(0);
static RACE_WITHDRAWN: AtomicUsize = AtomicUsize::new(0);

/// A supply of a page races with a read of it that has not requested it yet. Either the read
/// finds the page (in the engine, or when it looks for the missing run after the supply moved
/// it in) and sends nothing, or it requests the page first, waits, and the supply (which tells
/// the binding only after the pages are in, under the lock the read requested under) finds the
/// request outstanding, answers it, takes its packet back and wakes the reader. Either way the
/// reader gets the bytes, and once both are done the port is empty: no packet of a fully
/// supplied request survives the supply. Both ways must occur.
#[test]
fn supply_races_a_read() {
    model("pager: supply vs read", 3, || {
        let world = World::new(1);
        let aux = world.aux(&DATA);
        let reader = spawn_reader(&world, 0);
        world.supply(0, aux).unwrap();
        let (result, waits) = reader.join().unwrap();
        assert_eq!(result, Ok(DATA));
        tally(match waits {
            0 => &RACE_DIRECT,
            1 => &RACE_WITHDRAWN,
            _ => panic!("woken {waits} times"),
        });
        // Nobody dequeues here: a request the reader sent must have been taken back.
        world.assert_port_empty();
        world.finish(&[aux]);
    });
    report_outcomes(
        "pager: supply vs read",
        &[
            ("without a request", &RACE_DIRECT),
            ("with a request taken back", &RACE_WITHDRAWN),
        ],
    );
}

static POLL_STALE: AtomicUsize = AtomicUsize::new(0);
static POLL_WITHDRAWN: AtomicUsize = AtomicUsize::new(0);
static POLL_DIRECT: AtomicUsize = AtomicUsize::new(0);

/// As [`supply_races_a_read`], with a third thread polling the port meanwhile. A packet it
/// dequeues before the supply takes packets back stays with it (the kernel takes back only
/// queued packets): it must be the read request of the page, the reader must have waited for
/// it, it is the only packet ever seen, and answering it with a second supply is harmless (the
/// page is kept, the aux page freed, no new request). Stale, withdrawn and absent requests must
/// all occur.
#[test]
fn supply_races_a_pager_thread_and_a_read() {
    model("pager: supply vs read vs port poll", 2, || {
        let world = World::new(1);
        let aux = world.aux(&DATA);
        let reader = spawn_reader(&world, 0);
        let poller = {
            let world = world.clone();
            thread::spawn(move || world.port_wait(PAST))
        };
        world.supply(0, aux).unwrap();
        let (result, waits) = reader.join().unwrap();
        assert_eq!(result, Ok(DATA));
        assert!(waits <= 1, "woken {waits} times");
        match poller.join().unwrap() {
            Ok(packet) => {
                assert_read_request(packet, 0);
                assert_eq!(waits, 1, "a request from a reader that did not wait");
                tally(&POLL_STALE);
                // The stale request, answered again: pages already there are kept.
                world.supply_now(0, b"too late");
                assert_eq!(world.read(0), Ok(DATA));
            }
            Err(status) => {
                assert_eq!(status, ZX_ERR_TIMED_OUT);
                tally(if waits == 1 {
                    &POLL_WITHDRAWN
                } else {
                    &POLL_DIRECT
                });
            }
        }
        world.assert_port_empty();
        world.finish(&[aux]);
    });
    report_outcomes(
        "pager: supply vs read vs port poll",
        &[
            ("with a stale request dequeued", &POLL_STALE),
            ("with a request taken back", &POLL_WITHDRAWN),
            ("without a request", &POLL_DIRECT),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// A supply that completed before the pager went away.

/// The reader of a missing page is blocked; the pager takes the request, supplies the page
/// (`zx_pager_supply_pages` returns ZX_OK, waking the reader), and only then detaches the VMO
/// (`detach`) or closes its pager handle (`close`). The page was in before the pager went away
/// and stays readable (a read after the detach or close gets it), so the woken reader must get
/// it too, as in Zircon, where the supply completes the reader's request with ZX_OK before the
/// detach could fail it.
///
/// The bug this found: `PagerBinding::wait_for` (kernel/src/pager.rs) checked for a detached
/// VMO or a closed pager before it looked for missing pages, so a reader woken by the supply
/// but scheduled only after the detach (or close) failed, even with no preemption at all.
fn supply_then_pager_goes(detach: bool) {
    model("pager: supply, then the pager goes", 2, move || {
        let world = World::new(1);
        let aux = world.aux(&DATA);
        let reader = spawn_reader(&world, 0);
        assert_read_request(world.port_wait(INFINITE).unwrap(), 0);
        world.supply(0, aux).unwrap();
        if detach {
            world
                .sys()
                .pager_detach_vmo(world.pager, world.vmo)
                .unwrap();
        } else {
            world.close(world.pager);
        }
        assert_eq!(world.read(0), Ok(DATA), "supplied pages stay readable");
        assert_eq!(
            reader.join().unwrap(),
            (Ok(DATA), 1),
            "a reader whose page was supplied failed"
        );
        world.finish(&[aux]);
    });
}

/// [`supply_then_pager_goes`] with `zx_pager_detach_vmo`.
#[test]
fn supply_then_detach_still_serves_the_woken_reader() {
    supply_then_pager_goes(true);
}

/// [`supply_then_pager_goes`] with the pager's handle closed.
#[test]
fn supply_then_close_still_serves_the_woken_reader() {
    supply_then_pager_goes(false);
}

// ---------------------------------------------------------------------------------------------
// The harness detects what it is meant to detect.

/// Scenario 1 with a pager that takes the request and never supplies: the reader sleeps for ever
/// and loom must report the deadlock.
#[test]
#[should_panic(expected = "deadlock")]
fn harness_detects_a_pager_that_never_supplies() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let world = World::new(1);
        let reader = spawn_reader(&world, 0);
        assert_read_request(world.port_wait(INFINITE).unwrap(), 0);
        let _ = reader.join();
    });
}
