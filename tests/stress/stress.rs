//! Stress: more threads than cores drive shared peers through the C ABI; every guarantee checked.
//!
//! Two kinds of threads run at once:
//! - storm threads do random creates, frees, closes, transport adds/removes, state sets, event
//!   limits, queue polls, callback replacements and clears over a pool of peers whose first
//!   slots are hot, so that replacements and frees race each other and the running callbacks.
//!   The callbacks free, replace or clear their own registration (some after holding the CPU
//!   a while), commit bursts past small event limits (overflow), and call other peers, among
//!   them crossed frees and replacements of hot peers whose callbacks may be running (cycles);
//! - ring threads play crossed frees of length 2 to 8: each, inside a callback of its own peer,
//!   frees (or replaces or clears the callback of) the next one's peer. A closed ring is a real
//!   cycle: exactly one call gets WOULD_DEADLOCK. In an open ring the last thread returns from
//!   its callback (releasing its waiter) and at once, inside another callback, waits for the
//!   first thread: the released waiter may not have run yet (a stale edge), but there is no
//!   cycle, so no call may get WOULD_DEADLOCK.
//!
//! Checked, counting a violation for each breach:
//! - in callbacks: no two callbacks of one peer at once; the event is that peer's; seq goes up by
//!   one, by the dropped count after an overflow event (kind 4), and jumps only after a clear of
//!   that peer; old_state equals the previous new_state of its kind (forgotten after an overflow
//!   or a clear's gap); no callback after free returned, after its user_data_free, or of a
//!   registration marked retired-and-returned;
//! - when set_callback or free returns OK, called from outside that peer's callbacks, every
//!   registration accepted before the call began is marked retired-and-returned: none may still
//!   be running and, when no other replacing call on the peer was in flight, each one's
//!   user_data_free has already run (so none may run later);
//! - user_data_free exactly once per registration the library took, at once for a clear, never
//!   for a rejected call;
//! - WOULD_DEADLOCK only inside a callback and only when the program's own record of the wait
//!   graph (which thread is inside which peer's callback, which peer each thread waits for)
//!   shows a cycle through the caller; in rings exactly as above;
//! - queue peers: polled events follow the same seq and old_state rules;
//! - no unexpected result code, no panic, no hang (ring steps time out; a watchdog ends the run).
//!
//! Prints a summary and exits non-zero on any violation.
//!
//! Usage: stress [--seconds S] [--threads N] [--rings R] [--peers P] [--seed X]
//! (N storm threads, default 16; R ring threads, 0 for none, default N clamped to 2..=8).

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use pcstate::ResultCode;
use pcstate::ffi::*;
use pcstate::rules::{EventKind, GathererState};

const OK: ResultCode = ResultCode::Ok;
const INVALID_HANDLE: ResultCode = ResultCode::InvalidHandle;
const UNKNOWN_TRANSPORT: ResultCode = ResultCode::UnknownTransport;
const CLOSED: ResultCode = ResultCode::Closed;
const EMPTY: ResultCode = ResultCode::Empty;
const WOULD_DEADLOCK: ResultCode = ResultCode::WouldDeadlock;
const OVERFLOW: u32 = EventKind::Overflow as u32;
const GATHERING: u32 = GathererState::Gathering as u32;

/// How many pool slots are hot (half the storm's picks land there).
const HOT: u64 = 3;
/// How long a ring step may take before the run fails (a cycle not detected hangs here).
const RING_TIMEOUT: Duration = Duration::from_secs(60);
/// No previous new_state is known for this kind (after an overflow or a gap).
const UNKNOWN: u32 = u32::MAX;

// ---- figures ------------------------------------------------------------------------------

static VIOLATIONS: AtomicU64 = AtomicU64::new(0);
static PANICS: AtomicU64 = AtomicU64::new(0);
static OPS: AtomicU64 = AtomicU64::new(0);
static EVENTS: AtomicU64 = AtomicU64::new(0);
static OVERFLOWS: AtomicU64 = AtomicU64::new(0);
static QUEUE_EVENTS: AtomicU64 = AtomicU64::new(0);
static QUEUE_OVERFLOWS: AtomicU64 = AtomicU64::new(0);
static CREATED: AtomicU64 = AtomicU64::new(0);
static ACCEPTED: AtomicU64 = AtomicU64::new(0);
static RELEASED: AtomicU64 = AtomicU64::new(0);
static CLEARS: AtomicU64 = AtomicU64::new(0);
static RACING: AtomicU64 = AtomicU64::new(0);
static RETIRED: AtomicU64 = AtomicU64::new(0);
static RETIRED_FREED: AtomicU64 = AtomicU64::new(0);
static FREED_OWN: AtomicU64 = AtomicU64::new(0);
static FREED_OTHER: AtomicU64 = AtomicU64::new(0);
static STORM_WD: AtomicU64 = AtomicU64::new(0);
static RING_WD_CLOSED: AtomicU64 = AtomicU64::new(0);
static RING_WD_OPEN: AtomicU64 = AtomicU64::new(0);
static RINGS_CLOSED: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];
static RINGS_OPEN: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];
static STALE_WINDOWS: AtomicU64 = AtomicU64::new(0);
/// Ring rounds finished, for the stall monitor.
static ROUNDS: AtomicU64 = AtomicU64::new(0);

fn count(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

fn violation(msg: String) {
    if VIOLATIONS.fetch_add(1, SeqCst) < 20 {
        eprintln!("VIOLATION: {msg}");
    }
}

fn check(what: &str, r: ResultCode, allowed: &[ResultCode]) {
    if !allowed.contains(&r) {
        violation(format!("{what} returned {r:?} (allowed {allowed:?})"));
    }
}

/// The run's settings, for the summary.
struct Config {
    threads: u64,
    rings: u64,
    peers: u64,
    seed: u64,
    start: Instant,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

fn summary() -> u64 {
    let c = CONFIG.get().expect("configured");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let g = |a: &AtomicU64| a.load(SeqCst);
    let v = g(&VIOLATIONS) + g(&PANICS);
    println!(
        "stress: {} storm + {} ring threads on {cores} cores, {:.1} s, seed {}, {} peers: \
         violations {v} ({} panics)",
        c.threads,
        c.rings,
        c.start.elapsed().as_secs_f64(),
        c.seed,
        c.peers,
        g(&PANICS),
    );
    println!(
        "  storm: {} ops, {} peers created, {} registrations, {} clears; {} events delivered \
         ({} overflow events), {} polled from queues ({} overflow events); {} \
         replacements/frees racing a running callback; {} retired registrations checked after \
         set_callback/free returned ({} also for user_data_free); {} frees inside own callback, \
         {} inside another peer's; {} WOULD_DEADLOCK (each checked for a real cycle)",
        g(&OPS),
        g(&CREATED),
        g(&ACCEPTED),
        g(&CLEARS),
        g(&EVENTS),
        g(&OVERFLOWS),
        g(&QUEUE_EVENTS),
        g(&QUEUE_OVERFLOWS),
        g(&RACING),
        g(&RETIRED),
        g(&RETIRED_FREED),
        g(&FREED_OWN),
        g(&FREED_OTHER),
        g(&STORM_WD),
    );
    if c.rings > 0 {
        let per_k = |a: &[AtomicU64; 9]| {
            (2..=8)
                .map(|k| format!("{k}:{}", g(&a[k])))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "  rings (k:rounds): closed (a real cycle) {}, {} WOULD_DEADLOCK; open with a stale \
             edge (no cycle) {}, {} WOULD_DEADLOCK, {} of them waited while the released waiter \
             had not yet returned",
            per_k(&RINGS_CLOSED),
            g(&RING_WD_CLOSED),
            per_k(&RINGS_OPEN),
            g(&RING_WD_OPEN),
            g(&STALE_WINDOWS),
        );
    }
    v
}

/// Ends the run at once (something hangs, or cannot go on).
fn fatal(msg: String) -> ! {
    VIOLATIONS.fetch_add(1, SeqCst);
    eprintln!("VIOLATION: {msg}");
    summary();
    std::process::exit(2);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---- threads and the wait graph -------------------------------------------------------------

/// What one thread is doing, for the wait-graph check.
struct ThreadInfo {
    /// Peers whose callbacks this thread is inside, innermost last.
    stack: Mutex<Vec<u64>>,
    /// The peer this thread's current set_callback or free is for (0: none).
    waiting_on: AtomicU64,
    /// Its kernel thread id.
    tid: AtomicU32,
}

static THREADS: OnceLock<Vec<ThreadInfo>> = OnceLock::new();

thread_local! {
    static ME: Cell<usize> = const { Cell::new(0) };
    static RNG: Cell<u64> = const { Cell::new(1) };
}

fn threads() -> &'static [ThreadInfo] {
    THREADS.get().expect("threads set up")
}

fn me() -> &'static ThreadInfo {
    &threads()[ME.with(|m| m.get())]
}

fn start_thread(index: usize, seed: u64) {
    ME.with(|m| m.set(index));
    // SAFETY: plain syscall.
    threads()[index]
        .tid
        .store(unsafe { libc::gettid() } as u32, SeqCst);
    RNG.with(|r| {
        r.set(
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(index as u64 + 1)
                | 1,
        )
    });
}

fn in_callback() -> bool {
    !lock(&me().stack).is_empty()
}

fn in_callback_of(h: u64) -> bool {
    lock(&me().stack).contains(&h)
}

/// Whether the threads' recorded state shows a cycle of waits through this thread, starting
/// with its wait for `target`. In a real cycle every other member stays blocked until this
/// thread returns from its callback, so the record is stable while we walk it.
fn real_cycle(target: u64) -> bool {
    let all = threads();
    let me = ME.with(|m| m.get());
    let mut peer = target;
    for _ in 0..=all.len() {
        match all.iter().position(|t| lock(&t.stack).contains(&peer)) {
            Some(holder) if holder == me => return true,
            Some(holder) => peer = all[holder].waiting_on.load(SeqCst),
            None => return false,
        }
        if peer == 0 {
            return false;
        }
    }
    false
}

/// The recorded wait graph, for a hang report: each waiting thread, the callbacks it is inside
/// and the peer it waits for.
fn wait_graph() -> String {
    let waits: Vec<String> = threads()
        .iter()
        .enumerate()
        .filter(|(_, t)| t.waiting_on.load(SeqCst) != 0)
        .map(|(i, t)| {
            format!(
                "thread {i} inside {:x?} waits for {:#x}",
                lock(&t.stack),
                t.waiting_on.load(SeqCst)
            )
        })
        .collect();
    format!("waiting: [{}]", waits.join("; "))
}

fn rnd() -> u64 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        x
    })
}

fn below(n: u64) -> u64 {
    rnd() % n
}

/// Keeps the CPU from this callback's outing for a while, widening the race windows.
fn hold() {
    for _ in 0..1 + below(4) {
        std::thread::yield_now();
    }
}

// ---- what the callbacks check -------------------------------------------------------------

/// The order of a stream of events: seq and each kind's last new_state.
struct Chain {
    last_seq: u64,
    last_new: [u32; 3],
}

impl Chain {
    fn new() -> Self {
        Chain {
            last_seq: 0,
            last_new: [0; 3],
        }
    }

    /// Checks that `e` follows; `gap` says whether an unannounced jump is explained.
    fn follow(&mut self, e: &pcstate_event, gap: &mut dyn FnMut() -> bool) -> Option<String> {
        let mut err = None;
        if e.seq <= self.last_seq {
            err = Some(format!("seq {} after {}", e.seq, self.last_seq));
        } else {
            let step = if e.kind == OVERFLOW {
                u64::from(e.old_state)
            } else {
                1
            };
            if e.kind == OVERFLOW && e.old_state == 0 {
                err = Some(format!("overflow event (seq {}) dropping 0 events", e.seq));
            } else if e.seq != self.last_seq + step {
                if gap() {
                    self.last_new = [UNKNOWN; 3];
                } else {
                    err = Some(format!(
                        "seq {} (kind {}, old {}) after {}: a gap no overflow or clear explains",
                        e.seq, e.kind, e.old_state, self.last_seq
                    ));
                }
            }
        }
        match e.kind {
            1..=3 => {
                let prev = std::mem::replace(&mut self.last_new[e.kind as usize - 1], e.new_state);
                if prev != UNKNOWN && prev != e.old_state && err.is_none() {
                    err = Some(format!(
                        "seq {}: kind {} old {} but previous new {prev}",
                        e.seq, e.kind, e.old_state
                    ));
                }
            }
            OVERFLOW => self.last_new = [UNKNOWN; 3],
            k => err = Some(format!("unknown event kind {k}")),
        }
        self.last_seq = self.last_seq.max(e.seq);
        err
    }
}

/// Registrations accepted for a peer, in the order their set_callback returned.
struct Regs {
    accepted: u64,
    list: Vec<(u64, &'static Reg)>,
}

/// One peer as the program sees it, shared by all its registrations.
struct Track {
    handle: u64,
    has_queue: bool,
    busy: AtomicBool,
    freed: AtomicBool,
    /// The callbacks' stream (callbacks of a peer never overlap: uncontended).
    events: Mutex<Chain>,
    /// Clears begun, and gaps explained by them (each clear explains at most one gap).
    clears: AtomicU64,
    gaps: AtomicU64,
    /// set_callback and free calls on this peer in flight.
    calls: AtomicU32,
    regs: Mutex<Regs>,
    /// The queue's stream, held while polling so pops and checks stay in order.
    queue: Mutex<Chain>,
}

impl Track {
    fn new(handle: u64, has_queue: bool) -> Arc<Track> {
        Arc::new(Track {
            handle,
            has_queue,
            busy: AtomicBool::new(false),
            freed: AtomicBool::new(false),
            events: Mutex::new(Chain::new()),
            clears: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            calls: AtomicU32::new(0),
            regs: Mutex::new(Regs {
                accepted: 0,
                list: Vec::new(),
            }),
            queue: Mutex::new(Chain::new()),
        })
    }

    /// A jump in seq is explained by a clear that began and has not explained one yet.
    fn explain_gap(&self) -> bool {
        let g = self.gaps.load(SeqCst);
        if g < self.clears.load(SeqCst) {
            self.gaps.store(g + 1, SeqCst);
            true
        } else {
            false
        }
    }
}

impl Drop for Track {
    fn drop(&mut self) {
        let list = std::mem::take(&mut lock(&self.regs).list);
        list.into_iter().for_each(|(_, reg)| unref(reg));
    }
}

/// What a registration's callback does besides checking.
#[derive(Clone)]
enum Role {
    Storm,
    Idle,
    /// Participant `i` of a ring round, in the callback of its own peer.
    Ring(Arc<Round>, usize),
    /// The last participant of an open ring, in the callback of its second peer.
    RingLast(Arc<Round>),
}

const REG_SPARE: u32 = 0;
const REG_LIVE: u32 = 1;
const REG_FREEING: u32 = 2;
const REG_RELEASED: u32 = 3;

/// One registration (`user_data`). Recycled through `SPARE` once the library released it and
/// its peer's list let go of it, so memory stays bounded and a late callback reads valid memory.
struct Reg {
    track: Mutex<Option<Arc<Track>>>,
    role: Mutex<Role>,
    state: AtomicU32,
    /// The library's reference and the peer list's.
    refs: AtomicU32,
    running: AtomicU32,
    /// Retired-and-returned: a set_callback or free that replaced it has returned.
    dead: AtomicBool,
}

static SPARE: Mutex<Vec<&'static Reg>> = Mutex::new(Vec::new());
static ALL_REGS: AtomicU64 = AtomicU64::new(0);

fn new_reg(track: &Arc<Track>, role: Role) -> &'static Reg {
    let spare = lock(&SPARE).pop();
    let reg = spare.unwrap_or_else(|| {
        ALL_REGS.fetch_add(1, SeqCst);
        Box::leak(Box::new(Reg {
            track: Mutex::new(None),
            role: Mutex::new(Role::Idle),
            state: AtomicU32::new(REG_SPARE),
            refs: AtomicU32::new(0),
            running: AtomicU32::new(0),
            dead: AtomicBool::new(false),
        }))
    });
    *lock(&reg.track) = Some(track.clone());
    *lock(&reg.role) = role;
    reg.running.store(0, SeqCst);
    reg.dead.store(false, SeqCst);
    reg.refs.store(2, SeqCst);
    reg.state.store(REG_LIVE, SeqCst);
    reg
}

fn unref(reg: &'static Reg) {
    if reg.refs.fetch_sub(1, SeqCst) == 1 {
        reg.state.store(REG_SPARE, SeqCst);
        lock(&SPARE).push(reg);
    }
}

/// Lets go of what a registration holds; the caller still owns one reference.
fn strip(reg: &'static Reg) -> (Option<Arc<Track>>, Role) {
    let track = lock(&reg.track).take();
    let role = std::mem::replace(&mut *lock(&reg.role), Role::Idle);
    (track, role)
}

unsafe extern "C" fn free_reg(user_data: *mut c_void) {
    let reg: &'static Reg = unsafe { &*(user_data as *const Reg) };
    if reg
        .state
        .compare_exchange(REG_LIVE, REG_FREEING, SeqCst, SeqCst)
        .is_err()
    {
        violation("user_data_free of a registration not live (twice?)".to_string());
        return;
    }
    let held = strip(reg);
    RELEASED.fetch_add(1, SeqCst);
    reg.state.store(REG_RELEASED, SeqCst);
    unref(reg);
    drop(held); // may drop the last reference to a track or a ring round
}

unsafe extern "C" fn on_event(user_data: *mut c_void, e: *const pcstate_event) {
    let reg: &'static Reg = unsafe { &*(user_data as *const Reg) };
    let e = unsafe { *e };
    count(&EVENTS);
    reg.running.fetch_add(1, SeqCst);
    if reg.state.load(SeqCst) != REG_LIVE {
        violation(format!(
            "peer {:#x}: callback after its user_data_free",
            e.peer
        ));
    }
    if reg.dead.load(SeqCst) {
        violation(format!(
            "peer {:#x} seq {}: callback of a registration whose replacing set_callback/free \
             had returned",
            e.peer, e.seq
        ));
    }
    let track = lock(&reg.track).clone();
    let role = lock(&reg.role).clone();
    let Some(t) = track else {
        reg.running.fetch_sub(1, SeqCst);
        return;
    };
    lock(&me().stack).push(t.handle);
    if t.busy.swap(true, SeqCst) {
        violation(format!("peer {:#x}: two callbacks at once", t.handle));
    }
    if t.freed.load(SeqCst) {
        violation(format!(
            "peer {:#x}: callback after free returned",
            t.handle
        ));
    }
    if e.peer != t.handle {
        violation(format!(
            "event for {:#x} delivered to {:#x}",
            e.peer, t.handle
        ));
    }
    if e.kind == OVERFLOW {
        count(&OVERFLOWS);
    }
    let err = lock(&t.events).follow(&e, &mut || t.explain_gap());
    if let Some(m) = err {
        violation(format!("peer {:#x} callback: {m}", t.handle));
    }
    match role {
        Role::Storm => storm_action(&t),
        Role::Idle => {}
        Role::Ring(round, i) => ring_action(&round, i),
        Role::RingLast(round) => ring_last_action(&round),
    }
    t.busy.store(false, SeqCst);
    lock(&me().stack).pop();
    reg.running.fetch_sub(1, SeqCst);
}

// ---- replacing calls ----------------------------------------------------------------------

/// Runs a set_callback or free on `t`'s peer with the bookkeeping every such call needs.
fn replacing(t: &Track, call: impl FnOnce() -> ResultCode) -> ResultCode {
    let inside = in_callback_of(t.handle);
    let before = lock(&t.regs).accepted;
    t.calls.fetch_add(1, SeqCst);
    if !inside && t.busy.load(SeqCst) {
        count(&RACING);
    }
    me().waiting_on.store(t.handle, SeqCst);
    let r = call();
    me().waiting_on.store(0, SeqCst);
    if r == OK && !inside {
        retire(t, before);
    }
    t.calls.fetch_sub(1, SeqCst);
    if r == WOULD_DEADLOCK {
        if ME.with(|m| m.get()) < CONFIG.get().map_or(0, |c| c.threads as usize) {
            count(&STORM_WD);
        }
        if !in_callback() {
            violation(format!(
                "peer {:#x}: WOULD_DEADLOCK outside any callback",
                t.handle
            ));
        } else if !real_cycle(t.handle) {
            violation(format!(
                "peer {:#x}: WOULD_DEADLOCK but no cycle of waiting threads through the caller",
                t.handle
            ));
        }
    }
    r
}

/// After a set_callback or free from outside the peer's callbacks returned OK: marks every
/// registration accepted before it began retired-and-returned and checks it is over.
fn retire(t: &Track, before: u64) {
    // Another replacing call in flight may be the one that replaced a registration and still be
    // dropping it: its user_data_free is then that call's to finish.
    let alone = t.calls.load(SeqCst) == 1;
    let mut regs = lock(&t.regs);
    regs.list.retain(|&(order, reg)| {
        if order >= before {
            return true;
        }
        reg.dead.store(true, SeqCst);
        count(&RETIRED);
        if reg.running.load(SeqCst) > 0 {
            violation(format!(
                "peer {:#x}: a replaced registration's callback still runs after \
                 set_callback/free returned",
                t.handle
            ));
        }
        let released = reg.state.load(SeqCst) == REG_RELEASED;
        if alone {
            count(&RETIRED_FREED);
            if !released {
                violation(format!(
                    "peer {:#x}: set_callback/free returned before a replaced registration's \
                     user_data_free ran",
                    t.handle
                ));
            }
        }
        if released || alone {
            unref(reg);
            return false;
        }
        true
    });
}

/// set_callback on `t`'s peer: a new registration with `role`, or a clear (cb NULL).
fn register(t: &Arc<Track>, role: Role, clear: bool) -> ResultCode {
    let reg = new_reg(t, role);
    if clear {
        t.clears.fetch_add(1, SeqCst);
        count(&CLEARS);
    }
    let cb: pcstate_event_cb = if clear { None } else { Some(on_event) };
    let ud = reg as *const Reg as *mut c_void;
    let r = replacing(t, || {
        pcstate_peer_set_callback(t.handle, cb, ud, Some(free_reg))
    });
    if r == OK {
        ACCEPTED.fetch_add(1, SeqCst);
        if clear {
            if reg.state.load(SeqCst) != REG_RELEASED {
                violation(format!(
                    "peer {:#x}: set_callback(NULL) returned before its user_data_free ran",
                    t.handle
                ));
            }
            unref(reg);
        } else {
            let mut regs = lock(&t.regs);
            let order = regs.accepted;
            regs.accepted += 1;
            if regs.list.len() >= 32 {
                regs.list.retain(|&(_, old)| {
                    let keep = old.state.load(SeqCst) != REG_RELEASED;
                    if !keep {
                        unref(old);
                    }
                    keep
                });
            }
            regs.list.push((order, reg));
        }
    } else {
        // On error the library took nothing.
        if reg.state.swap(REG_RELEASED, SeqCst) != REG_LIVE {
            violation(format!(
                "peer {:#x}: set_callback returned {r:?} but called user_data_free",
                t.handle
            ));
        }
        let held = strip(reg);
        unref(reg);
        unref(reg);
        drop(held);
    }
    r
}

/// free on `t`'s peer.
fn free(t: &Track) -> ResultCode {
    let own = in_callback_of(t.handle);
    let other = !own && in_callback();
    let r = replacing(t, || pcstate_peer_free(t.handle));
    if r == OK {
        t.freed.store(true, SeqCst);
        if own {
            count(&FREED_OWN);
        } else if other {
            count(&FREED_OTHER);
        }
    }
    r
}

// ---- the storm ------------------------------------------------------------------------------

struct Pool {
    slots: Vec<AtomicU64>,
    /// Peers whose free got WOULD_DEADLOCK after their slot was emptied: freed at the end.
    orphans: Mutex<Vec<u64>>,
}

static POOL: OnceLock<Pool> = OnceLock::new();
static TRACKS: Mutex<Option<HashMap<u64, Arc<Track>>>> = Mutex::new(None);

fn pool() -> &'static Pool {
    POOL.get().expect("pool set up")
}

fn track_of(h: u64) -> Option<Arc<Track>> {
    lock(&TRACKS).as_ref()?.get(&h).cloned()
}

/// Removes a freed peer from the pool and the track map.
fn forget(h: u64) {
    for s in &pool().slots {
        let _ = s.compare_exchange(h, 0, SeqCst, SeqCst);
    }
    let gone = lock(&TRACKS).as_mut().and_then(|m| m.remove(&h));
    drop(gone);
}

fn storm_action(t: &Arc<Track>) {
    let h = t.handle;
    match below(64) {
        0 => free_own(t),
        1 => {
            hold();
            free_own(t);
        }
        2 | 3 => storm_register(t, false),
        4 => storm_register(t, true),
        5 => {
            hold();
            storm_register(t, false);
        }
        6..=9 => set_state(h),
        10 => burst(h),
        11 => check(
            "close (own, in callback)",
            pcstate_peer_close(h),
            &[OK, INVALID_HANDLE],
        ),
        12..=14 => random_op(),
        15 => hold(),
        16 => set_limit(h),
        17 => poll(t),
        18..=20 => cross_hot(h),
        _ => {}
    }
}

/// From inside a callback: frees or replaces the callback of a hot peer, which may be inside its
/// own callback on another thread doing the same to this one (a real cycle: WOULD_DEADLOCK).
fn cross_hot(own: u64) {
    let p = pool();
    let slot = &p.slots[below(p.slots.len().min(HOT as usize) as u64) as usize];
    let h = slot.load(SeqCst);
    if h == 0 || h == own {
        return;
    }
    hold();
    if below(2) == 0 {
        if slot.compare_exchange(h, 0, SeqCst, SeqCst).is_ok() {
            free_peer(h);
        }
    } else {
        set_callback_of(h, below(4) == 0);
    }
}

fn free_own(t: &Track) {
    let r = free(t);
    // INVALID_HANDLE: another thread's free began first and waits for this callback.
    check("free (own, in callback)", r, &[OK, INVALID_HANDLE]);
    if r == OK {
        forget(t.handle);
    }
}

fn storm_register(t: &Arc<Track>, clear: bool) {
    let r = register(t, Role::Storm, clear);
    let allowed: &[ResultCode] = if in_callback() {
        &[OK, INVALID_HANDLE, WOULD_DEADLOCK]
    } else {
        &[OK, INVALID_HANDLE]
    };
    check(if clear { "clear" } else { "set_callback" }, r, allowed);
}

fn set_callback_of(h: u64, clear: bool) {
    if let Some(t) = track_of(h) {
        storm_register(&t, clear);
    }
}

fn set_state(h: u64) {
    let t = 1 + below(4) as u32;
    let r = match below(3) {
        0 => pcstate_transport_set_ice_state(h, t, below(7) as u32),
        1 => pcstate_transport_set_dtls_state(h, t, below(5) as u32),
        _ => pcstate_transport_set_gatherer_state(h, t, below(3) as u32),
    };
    check(
        "set state",
        r,
        &[OK, INVALID_HANDLE, UNKNOWN_TRANSPORT, CLOSED],
    );
}

/// Several commits in a row: past a small limit while a callback runs, the backlog overflows.
fn burst(h: u64) {
    for _ in 0..8 {
        set_state(h);
    }
}

fn set_limit(h: u64) {
    let limit = [1, 2, 3, 4, PCSTATE_DEFAULT_EVENT_LIMIT][below(5) as usize];
    check(
        "set_event_limit",
        pcstate_peer_set_event_limit(h, limit),
        &[OK, INVALID_HANDLE],
    );
}

/// Drains some of a queue peer's events, checking their order.
fn poll(t: &Track) {
    if !t.has_queue {
        return;
    }
    let mut chain = lock(&t.queue);
    for _ in 0..64 {
        let mut e = std::mem::MaybeUninit::<pcstate_event>::zeroed();
        match pcstate_peer_poll_event(t.handle, e.as_mut_ptr()) {
            OK => {
                // SAFETY: written on OK.
                let e = unsafe { e.assume_init() };
                count(&QUEUE_EVENTS);
                if e.kind == OVERFLOW {
                    count(&QUEUE_OVERFLOWS);
                }
                if e.peer != t.handle {
                    violation(format!(
                        "queued event for {:#x} polled from {:#x}",
                        e.peer, t.handle
                    ));
                }
                if let Some(m) = chain.follow(&e, &mut || false) {
                    violation(format!("peer {:#x} queue: {m}", t.handle));
                }
            }
            EMPTY | INVALID_HANDLE => break,
            r => {
                check("poll_event", r, &[OK, EMPTY, INVALID_HANDLE]);
                break;
            }
        }
    }
}

fn create(slot: &AtomicU64) {
    let flags = below(8) as u32;
    let mut h = 0;
    check(
        "peer_new",
        pcstate_peer_new(below(3) as u32, flags, &mut h),
        &[OK],
    );
    CREATED.fetch_add(1, SeqCst);
    let track = Track::new(h, flags & PCSTATE_FLAG_EVENT_QUEUE != 0);
    if let Some(m) = lock(&TRACKS).as_mut() {
        m.insert(h, track.clone());
    }
    if below(4) == 0 {
        let limit = 1 + below(4) as u32;
        check(
            "set_event_limit",
            pcstate_peer_set_event_limit(h, limit),
            &[OK],
        );
    }
    // Registered before anyone else can see the peer, so the callbacks see every seq.
    check(
        "set_callback (new peer)",
        register(&track, Role::Storm, false),
        &[OK],
    );
    for _ in 0..below(4) {
        let mut t = 0;
        check("transport_add", pcstate_transport_add(h, &mut t), &[OK]);
    }
    if slot.compare_exchange(0, h, SeqCst, SeqCst).is_err() {
        free_peer(h);
    }
}

fn free_peer(h: u64) {
    let Some(t) = track_of(h) else {
        // Its free already returned OK.
        check("free (freed)", pcstate_peer_free(h), &[INVALID_HANDLE]);
        return;
    };
    match free(&t) {
        OK => forget(h),
        WOULD_DEADLOCK => lock(&pool().orphans).push(h),
        r => check("free", r, &[OK, INVALID_HANDLE]),
    }
}

fn random_op() {
    count(&OPS);
    let p = pool();
    let n = p.slots.len() as u64;
    let i = if below(2) == 0 {
        below(n.min(HOT))
    } else {
        below(n)
    };
    let slot = &p.slots[i as usize];
    let h = slot.load(SeqCst);
    if h == 0 {
        if !in_callback() {
            create(slot);
        }
        return;
    }
    match below(100) {
        0..=3 => {
            if slot.compare_exchange(h, 0, SeqCst, SeqCst).is_ok() {
                free_peer(h);
            }
        }
        4 => check("close", pcstate_peer_close(h), &[OK, INVALID_HANDLE]),
        5..=9 => {
            let mut t = 0;
            check(
                "add",
                pcstate_transport_add(h, &mut t),
                &[OK, INVALID_HANDLE, CLOSED],
            );
        }
        10..=13 => check(
            "remove",
            pcstate_transport_remove(h, 1 + below(6) as u32),
            &[OK, INVALID_HANDLE, CLOSED, UNKNOWN_TRANSPORT],
        ),
        14..=18 => set_callback_of(h, false),
        19 => set_callback_of(h, true),
        20 | 21 => {
            let mut s = std::mem::MaybeUninit::<pcstate_snapshot>::zeroed();
            check(
                "snapshot",
                pcstate_peer_snapshot(h, s.as_mut_ptr()),
                &[OK, INVALID_HANDLE],
            );
        }
        22..=24 => {
            if let Some(t) = track_of(h) {
                poll(&t);
            }
        }
        25 => set_limit(h),
        26 => burst(h),
        _ => set_state(h),
    }
}

// ---- rings ----------------------------------------------------------------------------------

/// A barrier for one ring step that fails the run instead of hanging.
struct Gate {
    n: usize,
    count: Mutex<usize>,
    cv: Condvar,
}

impl Gate {
    fn new(n: usize) -> Self {
        Gate {
            n,
            count: Mutex::new(0),
            cv: Condvar::new(),
        }
    }

    /// Counts this thread in.
    fn arrive(&self) {
        let mut c = lock(&self.count);
        *c += 1;
        if *c >= self.n {
            self.cv.notify_all();
        }
    }

    /// Counts this thread in and waits for the others.
    fn wait(&self, what: &dyn Fn() -> String) {
        self.arrive();
        self.wait_open(what);
    }

    /// Waits until all have arrived.
    fn wait_open(&self, what: &dyn Fn() -> String) {
        let mut c = lock(&self.count);
        let deadline = Instant::now() + RING_TIMEOUT;
        while *c < self.n {
            let now = Instant::now();
            if now >= deadline {
                drop(c);
                fatal(format!("{}: still waiting after {RING_TIMEOUT:?}", what()));
            }
            c = self
                .cv
                .wait_timeout(c, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The cross call a ring participant makes on the next one's peer.
#[derive(Copy, Clone, Debug)]
enum Cross {
    Free,
    Replace,
    Clear,
}

/// One round: `k` threads, a closed ring (a cycle) or an open one (a stale edge, no cycle).
struct Round {
    k: usize,
    /// The thread index of ring thread 0.
    first_thread: usize,
    closed: bool,
    cross: Vec<Cross>,
    peers: Vec<OnceLock<Arc<Track>>>,
    /// The last participant's second peer (open rings).
    second: OnceLock<Arc<Track>>,
    results: Vec<AtomicU32>,
    acted: Vec<AtomicBool>,
    acted_second: AtomicBool,
    /// Thread k-2 is about to wait for thread k-1 (open rings).
    announced: Gate,
    returned: Vec<AtomicBool>,
    ready: Gate,
    inside: Gate,
    done: Gate,
}

impl Round {
    fn describe(&self) -> String {
        format!(
            "{} ring of {} ({:?})",
            if self.closed { "closed" } else { "open" },
            self.k,
            self.cross
        )
    }

    fn peer(&self, i: usize) -> &Arc<Track> {
        self.peers[i].get().expect("ring peers exist once ready")
    }
}

/// A peer for a ring: one transport, a registration with `role`; its one event is triggered
/// later by setting the transport gathering.
fn ring_peer(role: Role) -> Arc<Track> {
    let mut h = 0;
    check("ring peer_new", pcstate_peer_new(0, 0, &mut h), &[OK]);
    CREATED.fetch_add(1, SeqCst);
    let t = Track::new(h, false);
    check("ring set_callback", register(&t, role, false), &[OK]);
    let mut id = 0;
    check(
        "ring transport_add",
        pcstate_transport_add(h, &mut id),
        &[OK],
    );
    t
}

fn ring_cross(round: &Round, target: usize, how: Cross) -> ResultCode {
    let t = round.peer(target);
    match how {
        Cross::Free => free(t),
        Cross::Replace => register(t, Role::Idle, false),
        Cross::Clear => register(t, Role::Idle, true),
    }
}

/// Inside participant `i`'s callback of its own peer.
fn ring_action(round: &Round, i: usize) {
    if round.acted[i].swap(true, SeqCst) {
        return;
    }
    round.inside.wait(&|| {
        format!(
            "{}: waiting for all inside their callbacks",
            round.describe()
        )
    });
    let k = round.k;
    if !round.closed && i == k - 1 {
        // Let the previous thread start waiting for this callback, then end it: that waiter is
        // released, and this thread goes on at once to wait for the first thread.
        round
            .announced
            .wait_open(&|| format!("{}: the waiter never started", round.describe()));
        let waiter = &threads()[round.first_thread + k - 2];
        let asleep = Instant::now() + Duration::from_millis(5);
        while !sleeping(waiter) && Instant::now() < asleep {
            std::thread::sleep(Duration::from_micros(20));
        }
        return;
    }
    if i + 2 == k {
        round.announced.arrive();
    }
    let r = ring_cross(round, (i + 1) % k, round.cross[i]);
    round.results[i].store(r as u32, SeqCst);
    round.returned[i].store(true, SeqCst);
}

/// Whether a thread is asleep in the kernel (here: blocked in its wait), from /proc.
fn sleeping(t: &ThreadInfo) -> bool {
    let path = format!("/proc/self/task/{}/stat", t.tid.load(SeqCst));
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The state follows the command name, which is in parentheses.
    stat.rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('S'))
}

/// Inside the last participant's callback of its second peer (open rings).
fn ring_last_action(round: &Round) {
    if round.acted_second.swap(true, SeqCst) {
        return;
    }
    let k = round.k;
    if !round.returned[k - 2].load(SeqCst) {
        count(&STALE_WINDOWS);
    }
    let r = ring_cross(round, 0, round.cross[k - 1]);
    round.results[k - 1].store(r as u32, SeqCst);
}

fn participate(round: &Arc<Round>, i: usize) {
    let k = round.k;
    let own = ring_peer(Role::Ring(round.clone(), i));
    let _ = round.peers[i].set(own.clone());
    let second = (!round.closed && i == k - 1).then(|| {
        let t = ring_peer(Role::RingLast(round.clone()));
        let _ = round.second.set(t.clone());
        t
    });
    round
        .ready
        .wait(&|| format!("{}: waiting for the peers", round.describe()));
    // The event is delivered on this thread, to the callback above.
    check(
        "ring trigger",
        pcstate_transport_set_gatherer_state(own.handle, 1, GATHERING),
        &[OK],
    );
    if !round.acted[i].load(SeqCst) {
        violation(format!(
            "{}: participant {i}'s callback did not run",
            round.describe()
        ));
    }
    if let Some(t) = second {
        check(
            "ring trigger (second peer)",
            pcstate_transport_set_gatherer_state(t.handle, 1, GATHERING),
            &[OK],
        );
    }
    round
        .done
        .wait(&|| format!("{}: not resolved (a cycle not detected?)", round.describe()));
}

/// The leader's check of a finished round, then frees what is left.
fn verify(round: &Round) {
    let results: Vec<u32> = round.results.iter().map(|r| r.load(SeqCst)).collect();
    let wd = results
        .iter()
        .filter(|&&r| r == WOULD_DEADLOCK as u32)
        .count();
    if round.closed && wd != 1 {
        violation(format!(
            "{}: {wd} WOULD_DEADLOCK, expected exactly 1 (results {results:?})",
            round.describe()
        ));
    }
    if !round.closed && wd != 0 {
        violation(format!(
            "{}: WOULD_DEADLOCK with no cycle (a stale edge counted; results {results:?})",
            round.describe()
        ));
    }
    for (i, &r) in results.iter().enumerate() {
        if r != OK as u32 && r != WOULD_DEADLOCK as u32 {
            violation(format!(
                "{}: participant {i}'s cross call returned {r}",
                round.describe()
            ));
        }
    }
    let (rounds, wds) = if round.closed {
        (&RINGS_CLOSED, &RING_WD_CLOSED)
    } else {
        (&RINGS_OPEN, &RING_WD_OPEN)
    };
    count(&rounds[round.k]);
    wds.fetch_add(wd as u64, Relaxed);
    count(&ROUNDS);
    for t in round
        .peers
        .iter()
        .filter_map(|p| p.get())
        .chain(round.second.get())
    {
        if !t.freed.load(SeqCst) {
            check("ring cleanup free", free(t), &[OK]);
        }
    }
}

/// The rounds' notice board: the current round, or the end.
struct Board {
    id: u64,
    round: Option<Arc<Round>>,
    stop: bool,
}

static BOARD: Mutex<Board> = Mutex::new(Board {
    id: 0,
    round: None,
    stop: false,
});
static BOARD_CV: Condvar = Condvar::new();

fn new_round(rings: usize) -> Round {
    let k = 2 + below(rings as u64 - 1) as usize;
    let crosses = [Cross::Free, Cross::Free, Cross::Replace, Cross::Clear];
    Round {
        k,
        first_thread: CONFIG.get().map_or(0, |c| c.threads as usize),
        closed: below(2) == 0,
        cross: (0..k).map(|_| crosses[below(4) as usize]).collect(),
        peers: (0..k).map(|_| OnceLock::new()).collect(),
        second: OnceLock::new(),
        results: (0..k).map(|_| AtomicU32::new(u32::MAX)).collect(),
        acted: (0..k).map(|_| AtomicBool::new(false)).collect(),
        acted_second: AtomicBool::new(false),
        announced: Gate::new(1),
        returned: (0..k).map(|_| AtomicBool::new(false)).collect(),
        ready: Gate::new(k),
        inside: Gate::new(k),
        done: Gate::new(k),
    }
}

/// Ring thread `i` of `rings`; thread 0 leads: it starts each round and checks it.
fn ring_thread(i: usize, rings: usize, stop: &AtomicBool) {
    let mut seen = 0;
    loop {
        let round = if i == 0 {
            let mut b = lock(&BOARD);
            if stop.load(SeqCst) {
                b.stop = true;
                b.round = None;
                BOARD_CV.notify_all();
                return;
            }
            let round = Arc::new(new_round(rings.min(8)));
            b.id += 1;
            b.round = Some(round.clone());
            BOARD_CV.notify_all();
            round
        } else {
            let mut b = lock(&BOARD);
            while b.id == seen && !b.stop {
                b = BOARD_CV.wait(b).unwrap_or_else(|e| e.into_inner());
            }
            if b.stop {
                return;
            }
            seen = b.id;
            match b.round.clone() {
                Some(r) if i < r.k => r,
                _ => continue,
            }
        };
        participate(&round, i);
        if i == 0 {
            verify(&round);
            lock(&BOARD).round = None;
        }
    }
}

// ---- main -----------------------------------------------------------------------------------

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds = arg(&args, "--seconds", 3);
    let threads = arg(&args, "--threads", 16).max(1);
    let rings = arg(&args, "--rings", threads.clamp(2, 8));
    assert!(rings == 0 || rings >= 2, "--rings: 0, or 2 and more");
    let seed = arg(&args, "--seed", 42);
    let peers = arg(&args, "--peers", 16).max(1);
    let _ = CONFIG.set(Config {
        threads,
        rings,
        peers,
        seed,
        start: Instant::now(),
    });
    // A panic inside pcstate is caught at its boundary (PCSTATE_RESULT_PANIC): count it, show
    // the first few.
    std::panic::set_hook(Box::new(|info| {
        if PANICS.fetch_add(1, SeqCst) < 3 {
            eprintln!("PANIC: {info}");
        }
    }));
    let all = (threads + rings + 1) as usize;
    let _ = THREADS.set(
        (0..all)
            .map(|_| ThreadInfo {
                stack: Mutex::new(Vec::new()),
                waiting_on: AtomicU64::new(0),
                tid: AtomicU32::new(0),
            })
            .collect(),
    );
    start_thread(all - 1, seed);
    *lock(&TRACKS) = Some(HashMap::new());
    let _ = POOL.set(Pool {
        slots: (0..peers).map(|_| AtomicU64::new(0)).collect(),
        orphans: Mutex::new(Vec::new()),
    });
    // A watchdog: a hang is a failure too.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(seconds) + RING_TIMEOUT * 2);
        fatal(format!(
            "still running {seconds} s + {} s: deadlock suspected; {}",
            (RING_TIMEOUT * 2).as_secs(),
            wait_graph()
        ));
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for i in 0..threads as usize {
        let stop = stop.clone();
        handles.push(std::thread::spawn(move || {
            start_thread(i, seed);
            while !stop.load(SeqCst) {
                for _ in 0..64 {
                    random_op();
                }
            }
        }));
    }
    for j in 0..rings as usize {
        let stop = stop.clone();
        handles.push(std::thread::spawn(move || {
            start_thread(threads as usize + j, seed);
            ring_thread(j, rings as usize, &stop);
        }));
    }
    // Runs for `seconds`, then until every thread has ended; a ring round that does not end in
    // RING_TIMEOUT (all its threads blocked: a cycle not detected) fails the run.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut rounds, mut progress) = (0, Instant::now());
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        if Instant::now() >= deadline {
            stop.store(true, SeqCst);
        }
        let now = ROUNDS.load(SeqCst);
        if now != rounds || rings == 0 || lock(&BOARD).stop {
            (rounds, progress) = (now, Instant::now());
        } else if progress.elapsed() > RING_TIMEOUT {
            let round = lock(&BOARD).round.as_ref().map(|r| r.describe());
            fatal(format!(
                "no ring round ended in {RING_TIMEOUT:?} (now: {}): a cycle not detected?",
                round.unwrap_or_default()
            ));
        }
    }
    for h in handles {
        if h.join().is_err() {
            violation("a thread panicked".to_string());
        }
    }
    // Free what is left, then every registration the library took was released exactly once
    // and every one came back.
    let p = pool();
    let mut left: Vec<u64> = p.slots.iter().map(|s| s.swap(0, SeqCst)).collect();
    left.extend(lock(&p.orphans).drain(..));
    for h in left.into_iter().filter(|&h| h != 0) {
        free_peer(h);
    }
    let tracks = lock(&TRACKS).take();
    drop(tracks);
    let (accepted, released) = (ACCEPTED.load(SeqCst), RELEASED.load(SeqCst));
    if accepted != released {
        violation(format!(
            "{accepted} registrations accepted but {released} user_data_free calls"
        ));
    }
    let spare = lock(&SPARE).len() as u64;
    if spare != ALL_REGS.load(SeqCst) {
        violation(format!(
            "{} registrations made, {spare} came back",
            ALL_REGS.load(SeqCst)
        ));
    }
    let v = summary();
    std::process::exit(if v == 0 { 0 } else { 1 });
}
