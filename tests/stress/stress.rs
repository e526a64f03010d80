//! Stress: threads over a shared pool of peers doing random creates, frees, closes, transport
//! adds/removes, state sets, callback replacements, and calls (frees included) from inside
//! callbacks, all through the C ABI. Checked inside the callbacks: no two callbacks of one peer at
//! once; seq contiguous; old_state equals the previous new_state of that kind; no callback after
//! free returned or after its user_data_free; user_data_free exactly once per registration; no
//! unexpected result code. Prints a summary and exits non-zero on any violation.
//!
//! Usage: stress [--seconds S] [--threads N] [--seed X] [--peers P]

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pcstate::ResultCode;
use pcstate::ffi::*;

const OK: u32 = ResultCode::Ok as u32;
const INVALID_HANDLE: u32 = ResultCode::InvalidHandle as u32;
const UNKNOWN_TRANSPORT: u32 = ResultCode::UnknownTransport as u32;
const CLOSED: u32 = ResultCode::Closed as u32;
const WOULD_DEADLOCK: u32 = ResultCode::WouldDeadlock as u32;

/// What one peer's callbacks check, shared by all its registrations.
struct Track {
    handle: u64,
    busy: AtomicBool,
    last_seq: AtomicU64,
    last_new: [AtomicU32; 3],
    freed: AtomicBool,
}

/// One registration. Recycled through `SPARE` once released, so memory stays bounded;
/// `state` catches a callback after release and a second release.
struct Reg {
    track: Mutex<Option<Arc<Track>>>,
    handle: AtomicU64,
    state: AtomicU32,
}

const REG_SPARE: u32 = 0;
const REG_LIVE: u32 = 1;

static VIOLATIONS: AtomicU64 = AtomicU64::new(0);
static OPS: AtomicU64 = AtomicU64::new(0);
static EVENTS: AtomicU64 = AtomicU64::new(0);
static CREATED: AtomicU64 = AtomicU64::new(0);
static FREED_INSIDE: AtomicU64 = AtomicU64::new(0);
static DEADLOCKS_AVOIDED: AtomicU64 = AtomicU64::new(0);

static SPARE: Mutex<Vec<&'static Reg>> = Mutex::new(Vec::new());
static ALL_REGS: AtomicU64 = AtomicU64::new(0);
static ACCEPTED: AtomicU64 = AtomicU64::new(0);
static RELEASED: AtomicU64 = AtomicU64::new(0);
static TRACKS: Mutex<Option<HashMap<u64, Arc<Track>>>> = Mutex::new(None);

fn violation(msg: String) {
    if VIOLATIONS.fetch_add(1, SeqCst) < 20 {
        eprintln!("VIOLATION: {msg}");
    }
}

fn track_of(h: u64) -> Option<Arc<Track>> {
    TRACKS.lock().unwrap().as_ref().unwrap().get(&h).cloned()
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(1) };
    static IN_CALLBACK: Cell<u32> = const { Cell::new(0) };
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

struct Pool {
    slots: Vec<AtomicU64>,
    /// Peers whose free returned WOULD_DEADLOCK and found their slot taken: freed at the end.
    orphans: Mutex<Vec<u64>>,
}

static POOL: Mutex<Option<Arc<Pool>>> = Mutex::new(None);

fn pool() -> Arc<Pool> {
    POOL.lock().unwrap().clone().unwrap()
}

fn check(what: &str, r: u32, allowed: &[u32]) {
    if !allowed.contains(&r) {
        violation(format!("{what} returned {r} (allowed {allowed:?})"));
    }
}

unsafe extern "C" fn on_event(user_data: *mut c_void, e: *const pcstate_event) {
    let reg = unsafe { &*(user_data as *const Reg) };
    let e = unsafe { &*e };
    let t = &reg
        .track
        .lock()
        .unwrap()
        .clone()
        .expect("a live registration has a track");
    EVENTS.fetch_add(1, SeqCst);
    if reg.state.load(SeqCst) != REG_LIVE {
        violation(format!(
            "peer {:#x}: callback after its user_data_free",
            t.handle
        ));
    }
    if t.freed.load(SeqCst) {
        violation(format!(
            "peer {:#x}: callback after free returned",
            t.handle
        ));
    }
    if t.busy.swap(true, SeqCst) {
        violation(format!("peer {:#x}: two callbacks at once", t.handle));
    }
    if e.peer != t.handle {
        violation(format!(
            "event for {:#x} delivered to {:#x}",
            e.peer, t.handle
        ));
    }
    let last = t.last_seq.swap(e.seq, SeqCst);
    if e.seq != last + 1 {
        violation(format!("peer {:#x}: seq {} after {last}", t.handle, e.seq));
    }
    let k = (e.kind as usize).wrapping_sub(1);
    if k < 3 {
        let prev = t.last_new[k].swap(e.new_state, SeqCst);
        if prev != e.old_state {
            violation(format!(
                "peer {:#x} seq {}: kind {} old {} but previous new {prev}",
                t.handle, e.seq, e.kind, e.old_state
            ));
        }
    } else {
        violation(format!("unknown event kind {}", e.kind));
    }
    IN_CALLBACK.with(|c| c.set(c.get() + 1));
    // Some calls from inside the callback, on this peer or another.
    match below(40) {
        0 => {
            let r = pcstate_peer_free(t.handle);
            // INVALID_HANDLE: another thread's free began and waits for this callback.
            check("free (own, in callback)", r, &[OK, INVALID_HANDLE]);
            if r == OK {
                t.freed.store(true, SeqCst);
                FREED_INSIDE.fetch_add(1, SeqCst);
                forget(t.handle);
            }
        }
        1 | 2 => set_callback(t.handle, Some(t.clone())),
        3..=6 => set_state(t.handle),
        7 => {
            let r = pcstate_peer_close(t.handle);
            check("close (own, in callback)", r, &[OK, INVALID_HANDLE]);
        }
        8 | 9 => random_op(),
        _ => {}
    }
    IN_CALLBACK.with(|c| c.set(c.get() - 1));
    t.busy.store(false, SeqCst);
}

unsafe extern "C" fn free_reg(user_data: *mut c_void) {
    let reg: &'static Reg = unsafe { &*(user_data as *const Reg) };
    release(reg, "user_data_free");
}

/// Marks a registration released (exactly once) and recycles it.
fn release(reg: &'static Reg, why: &str) {
    if reg.state.swap(REG_SPARE, SeqCst) != REG_LIVE {
        violation(format!(
            "peer {:#x}: {why} of a registration not live (twice?)",
            reg.handle.load(SeqCst)
        ));
        return;
    }
    *reg.track.lock().unwrap() = None;
    if why == "user_data_free" {
        RELEASED.fetch_add(1, SeqCst);
    }
    SPARE.lock().unwrap().push(reg);
}

/// Removes a freed peer from the pool and the track map.
fn forget(h: u64) {
    for s in &pool().slots {
        let _ = s.compare_exchange(h, 0, SeqCst, SeqCst);
    }
    TRACKS.lock().unwrap().as_mut().unwrap().remove(&h);
}

fn in_callback() -> bool {
    IN_CALLBACK.with(|c| c.get() > 0)
}

fn set_callback(h: u64, track: Option<Arc<Track>>) {
    let Some(track) = track.or_else(|| track_of(h)) else {
        return;
    };
    let spare = SPARE.lock().unwrap().pop();
    let reg: &'static Reg = spare.unwrap_or_else(|| {
        ALL_REGS.fetch_add(1, SeqCst);
        Box::leak(Box::new(Reg {
            track: Mutex::new(None),
            handle: AtomicU64::new(0),
            state: AtomicU32::new(REG_SPARE),
        }))
    });
    reg.handle.store(h, SeqCst);
    *reg.track.lock().unwrap() = Some(track);
    reg.state.store(REG_LIVE, SeqCst);
    let r = pcstate_peer_set_callback(
        h,
        Some(on_event),
        reg as *const Reg as *mut c_void,
        Some(free_reg),
    );
    if r == OK {
        ACCEPTED.fetch_add(1, SeqCst);
    } else {
        release(reg, "rejected set_callback"); // on error the library took nothing
    }
    if r == WOULD_DEADLOCK {
        DEADLOCKS_AVOIDED.fetch_add(1, SeqCst);
    }
    let allowed: &[u32] = if in_callback() {
        &[OK, INVALID_HANDLE, WOULD_DEADLOCK]
    } else {
        &[OK, INVALID_HANDLE]
    };
    check("set_callback", r, allowed);
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

fn create(slot: &AtomicU64) {
    let flags = below(4) as u32;
    let mut h = 0;
    check(
        "peer_new",
        pcstate_peer_new(below(3) as u32, flags, &mut h),
        &[OK],
    );
    CREATED.fetch_add(1, SeqCst);
    let track = Arc::new(Track {
        handle: h,
        busy: AtomicBool::new(false),
        last_seq: AtomicU64::new(0),
        last_new: [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)],
        freed: AtomicBool::new(false),
    });
    TRACKS
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .insert(h, track.clone());
    // Registered before anyone else can see the peer, so the callback sees every seq.
    set_callback(h, Some(track));
    for _ in 0..below(4) {
        let mut t = 0;
        check("transport_add", pcstate_transport_add(h, &mut t), &[OK]);
    }
    if slot.compare_exchange(0, h, SeqCst, SeqCst).is_err() {
        free_peer(h);
    }
}

fn free_peer(h: u64) {
    let track = track_of(h);
    let r = pcstate_peer_free(h);
    match r {
        OK => {
            if let Some(t) = track {
                t.freed.store(true, SeqCst);
            }
            TRACKS.lock().unwrap().as_mut().unwrap().remove(&h);
        }
        WOULD_DEADLOCK if in_callback() => {
            DEADLOCKS_AVOIDED.fetch_add(1, SeqCst);
            pool().orphans.lock().unwrap().push(h);
        }
        _ => check("free", r, &[OK, INVALID_HANDLE]),
    }
}

fn random_op() {
    OPS.fetch_add(1, SeqCst);
    let p = pool();
    let slot = &p.slots[below(p.slots.len() as u64) as usize];
    let h = slot.load(SeqCst);
    if h == 0 {
        if !in_callback() {
            create(slot);
        }
        return;
    }
    match below(100) {
        0..=2 => {
            if slot.compare_exchange(h, 0, SeqCst, SeqCst).is_ok() {
                free_peer(h);
            }
        }
        3 => check("close", pcstate_peer_close(h), &[OK, INVALID_HANDLE]),
        4..=9 => {
            let mut t = 0;
            check(
                "add",
                pcstate_transport_add(h, &mut t),
                &[OK, INVALID_HANDLE, CLOSED],
            );
        }
        10..=14 => check(
            "remove",
            pcstate_transport_remove(h, 1 + below(6) as u32),
            &[OK, INVALID_HANDLE, CLOSED, UNKNOWN_TRANSPORT],
        ),
        15..=19 => set_callback(h, None),
        20..=24 => {
            let mut s = std::mem::MaybeUninit::<pcstate_snapshot>::zeroed();
            check(
                "snapshot",
                pcstate_peer_snapshot(h, s.as_mut_ptr()),
                &[OK, INVALID_HANDLE],
            );
        }
        _ => set_state(h),
    }
}

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
    let threads = arg(&args, "--threads", 4);
    let seed = arg(&args, "--seed", 42);
    let peers = arg(&args, "--peers", 16);
    *TRACKS.lock().unwrap() = Some(HashMap::new());
    *POOL.lock().unwrap() = Some(Arc::new(Pool {
        slots: (0..peers).map(|_| AtomicU64::new(0)).collect(),
        orphans: Mutex::new(Vec::new()),
    }));
    // A watchdog: a hang is a failure too.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(seconds + 60));
        eprintln!("VIOLATION: still running {seconds}+60 s: deadlock suspected");
        std::process::exit(2);
    });
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                RNG.with(|r| {
                    r.set(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i + 1) | 1)
                });
                while !stop.load(SeqCst) {
                    for _ in 0..64 {
                        random_op();
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(seconds * 1000));
    stop.store(true, SeqCst);
    for w in workers {
        w.join().expect("worker panicked");
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Free what is left, then every registration the library accepted was freed exactly once.
    let p = pool();
    let mut left: Vec<u64> = p.slots.iter().map(|s| s.swap(0, SeqCst)).collect();
    left.extend(p.orphans.lock().unwrap().drain(..));
    for h in left.into_iter().filter(|&h| h != 0) {
        free_peer(h);
    }
    let (accepted, released) = (ACCEPTED.load(SeqCst), RELEASED.load(SeqCst));
    if accepted != released {
        violation(format!(
            "{accepted} registrations accepted but {released} user_data_free calls"
        ));
    }
    if SPARE.lock().unwrap().len() as u64 != ALL_REGS.load(SeqCst) {
        violation("a registration was never released".to_string());
    }
    let v = VIOLATIONS.load(SeqCst);
    println!(
        "stress: {threads} threads, {elapsed:.1} s, seed {seed}: {} ops, {} events, {} peers created, \
         {} registrations, {} frees inside callbacks, {} WOULD_DEADLOCK, violations {v}",
        OPS.load(SeqCst),
        EVENTS.load(SeqCst),
        CREATED.load(SeqCst),
        accepted,
        FREED_INSIDE.load(SeqCst),
        DEADLOCKS_AVOIDED.load(SeqCst),
    );
    std::process::exit(if v == 0 { 0 } else { 1 });
}
