//! Model checks of the delivery protocol (outings, waiters, the wait graph) with loom: every
//! interleaving of a few threads, up to a bound on preemptions, on the real `Cell` code built
//! with loom's locks (`--cfg loom`; run by `make loom`).
//!
//! What each model checks, in every interleaving explored:
//! - a registration never runs after it was dropped, and is never dropped while it runs;
//! - when `set_callback` or `free` returns (from outside the callback), the replaced or freed
//!   registrations are not running, will not run, and have been dropped;
//! - every committed event reaches exactly one registration;
//! - a cell is reported reusable exactly once, and only when no callback of its peer runs;
//! - two callbacks freeing each other's peers get exactly one `WouldDeadlock`.
//!
//! Each model prints how many interleavings it explored. `LOOM_MAX_PREEMPTIONS` bounds the
//! preemptions (default 3 here; `make loom` uses 20, which explores every interleaving: a larger
//! bound finds no more). Each model was seen to fail on a planted bug: `set_callback` not
//! waiting for the outing, no cycle check (loom reports the deadlock), an update that ran a
//! self-freeing callback not reporting the cell reusable.

use std::sync::atomic::{AtomicUsize as StdCount, Ordering::Relaxed as StdRelaxed};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;

use crate::delivery::{Cell, Reuse};
use crate::error::{Result, ResultCode};
use crate::peer::{EventSink, Peer};
use crate::rules::{GathererState, Profile};
use crate::state::{Batch, Event};

/// What a test registration records.
#[derive(Default)]
struct ProbeState {
    installed: AtomicBool,
    running: AtomicBool,
    dropped: AtomicBool,
    calls: AtomicUsize,
}

/// A handle on a registration's record.
#[derive(Clone, Default)]
struct Probe(Arc<ProbeState>);

/// A registration that records its calls and its drop, and runs `action` in each call.
struct Sink {
    probe: Probe,
    action: Box<dyn FnMut() + Send>,
}

impl Probe {
    fn sink(&self, action: impl FnMut() + Send + 'static) -> Box<dyn EventSink> {
        self.0.installed.store(true, SeqCst);
        Box::new(Sink {
            probe: self.clone(),
            action: Box::new(action),
        })
    }

    fn running(&self) -> bool {
        self.0.running.load(SeqCst)
    }

    fn calls(&self) -> usize {
        self.0.calls.load(SeqCst)
    }

    /// Installed, then dropped, and not running.
    fn gone(&self) -> bool {
        !self.0.installed.load(SeqCst)
            || (self.0.dropped.load(SeqCst) && !self.0.running.load(SeqCst))
    }
}

impl EventSink for Sink {
    fn on_event(&mut self, _event: &Event) {
        let p = &self.probe.0;
        assert!(!p.dropped.load(SeqCst), "a dropped registration ran");
        assert!(
            !p.running.swap(true, SeqCst),
            "a registration ran twice at once"
        );
        (self.action)();
        p.calls.fetch_add(1, SeqCst);
        p.running.store(false, SeqCst);
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let p = &self.probe.0;
        assert!(
            !p.running.load(SeqCst),
            "a registration was dropped while it ran"
        );
        assert!(!p.dropped.swap(true, SeqCst), "dropped twice");
    }
}

/// A cell holding a new peer with one transport; returns it and the peer's generation.
fn peer_cell() -> (Arc<Cell>, u32) {
    let cell = Arc::new(Cell::new());
    let generation = cell
        .occupy(Peer::new(Profile::W3c, 0).expect("peer"))
        .expect("a new cell")
        .0;
    let (id, _) = cell.update(generation, |p| p.state.add_transport());
    assert_eq!(id, Ok(1));
    (cell, generation)
}

/// An update of transport 1 that commits one event (iceGatheringState); `gathering` alternates.
fn commit(cell: &Cell, generation: u32, gathering: bool) -> (Result<()>, bool) {
    let state = if gathering {
        GathererState::Gathering
    } else {
        GathererState::Complete
    };
    cell.update(generation, |p| -> Result<((), Batch)> {
        Ok(((), p.state.set_gatherer(1, state)?))
    })
}

/// Runs `model` under loom with the preemption bound of `LOOM_MAX_PREEMPTIONS` (default 3) and
/// prints the number of interleavings explored.
fn check(name: &str, model: impl Fn() + Sync + Send + 'static) {
    static RUNS: StdCount = StdCount::new(0);
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    let bound = builder.preemption_bound;
    let before = RUNS.load(StdRelaxed);
    builder.check(move || {
        RUNS.fetch_add(1, StdRelaxed);
        model();
    });
    // Models run one after another (`make loom` runs them on one test thread).
    let runs = RUNS.load(StdRelaxed) - before;
    eprintln!("loom model {name}: {runs} interleavings explored (preemption bound {bound:?})");
}

/// `set_callback` from another thread while callbacks run (two events, one after the other):
/// when it returns, the old registration is not running, will not run and was dropped; each
/// event went to exactly one of the two.
#[test]
fn set_callback_racing_a_running_callback() {
    check("set_callback racing a running callback", || {
        let (cell, generation) = peer_cell();
        let (old, new) = (Probe::default(), Probe::default());
        cell.set_callback(generation, Some(|| old.sink(thread::yield_now)))
            .unwrap();
        let deliverer = {
            let cell = cell.clone();
            thread::spawn(move || {
                let first = commit(&cell, generation, true);
                (first, commit(&cell, generation, false))
            })
        };
        cell.set_callback(generation, Some(|| new.sink(|| {})))
            .unwrap();
        assert!(
            old.gone(),
            "the replaced registration still runs or was not dropped"
        );
        let old_calls = old.calls();
        let (first, second) = deliverer.join().unwrap();
        assert_eq!((first, second), ((Ok(()), false), (Ok(()), false)));
        assert_eq!(
            old.calls(),
            old_calls,
            "the replaced registration ran after set_callback"
        );
        assert_eq!(
            old.calls() + new.calls(),
            2,
            "each event reached exactly one"
        );
        assert_eq!(cell.free(generation), Ok(Reuse::Now));
        assert!(new.gone());
    });
}

/// `free` racing `set_callback` while an event is being delivered: when `free` returns, no
/// registration runs or will run (a registration that `set_callback` replaced is dropped by that
/// call before it returns; every other one was dropped by `free`); `set_callback` after it
/// fails.
#[test]
fn free_racing_set_callback() {
    check("free racing set_callback", || {
        let (cell, generation) = peer_cell();
        let (first, second) = (Probe::default(), Probe::default());
        cell.set_callback(generation, Some(|| first.sink(thread::yield_now)))
            .unwrap();
        let deliverer = {
            let cell = cell.clone();
            thread::spawn(move || commit(&cell, generation, true))
        };
        let freer = {
            let (cell, first, second) = (cell.clone(), first.clone(), second.clone());
            thread::spawn(move || {
                let reuse = cell.free(generation);
                assert!(
                    !first.running() && !second.running(),
                    "a callback runs after free"
                );
                (reuse, first.calls() + second.calls())
            })
        };
        let set = cell.set_callback(generation, Some(|| second.sink(|| {})));
        assert!(
            matches!(set, Ok(()) | Err(ResultCode::InvalidHandle)),
            "{set:?}"
        );
        let (reuse, calls_when_freed) = freer.join().unwrap();
        assert_eq!(reuse, Ok(Reuse::Now));
        let (delivered, reusable) = deliverer.join().unwrap();
        assert!(matches!(delivered, Ok(()) | Err(ResultCode::InvalidHandle)));
        assert!(!reusable, "only free reports this cell reusable");
        assert!(first.calls() + second.calls() <= 1);
        assert_eq!(
            first.calls() + second.calls(),
            calls_when_freed,
            "a call after free"
        );
        assert!(first.gone() && second.gone());
    });
}

/// A callback frees its own peer while another thread replaces the callback: `free` from
/// inside reports `Later`, and the update that ran the callback reports the cell reusable once
/// it returned; the cell is reported reusable exactly once, never while the callback runs.
#[test]
fn a_callback_freeing_its_own_peer() {
    check("a callback freeing its own peer", || {
        let (cell, generation) = peer_cell();
        let (own, other) = (Probe::default(), Probe::default());
        let freed = Arc::new(AtomicUsize::new(0));
        let action = {
            let (cell, freed) = (cell.clone(), freed.clone());
            let mut cell = Some(cell);
            move || {
                // Reuse::Later is 1; anything else is recorded as 2.
                let inner = cell.take().expect("called once");
                let code = match inner.free(generation) {
                    Ok(Reuse::Later) => 1,
                    _ => 2,
                };
                freed.store(code, SeqCst);
            }
        };
        cell.set_callback(generation, Some(|| own.sink(action)))
            .unwrap();
        let deliverer = {
            let (cell, own) = (cell.clone(), own.clone());
            thread::spawn(move || {
                let (result, reusable) = commit(&cell, generation, true);
                if reusable {
                    assert!(own.gone(), "reported reusable while its callback runs");
                }
                (result, reusable)
            })
        };
        let replaced = cell.set_callback(generation, Some(|| other.sink(|| {})));
        assert!(matches!(replaced, Ok(()) | Err(ResultCode::InvalidHandle)));
        let (result, reusable) = deliverer.join().unwrap();
        assert_eq!(result, Ok(()));
        match freed.load(SeqCst) {
            // The callback freed its peer: the update reported the cell reusable.
            1 => assert!(
                reusable,
                "the update that ran the freeing callback reports reuse"
            ),
            0 => {
                // The event went to the replacement: the peer lives until freed here.
                assert!(!reusable);
                assert_eq!(other.calls(), 1);
                assert_eq!(cell.free(generation), Ok(Reuse::Now));
            }
            _ => panic!("free from inside its own callback must report Later"),
        }
        assert!(own.gone() && other.gone());
    });
}

/// Two callbacks, each running, each freeing the other's peer: a real cycle of waits. Exactly
/// one `free` gets `WouldDeadlock`; the other waits until that callback returned, then frees.
#[test]
fn two_threads_crossing_frees() {
    check("two threads crossing frees", || {
        let (a, ga) = peer_cell();
        let (b, gb) = peer_cell();
        let running = [
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        ];
        let results = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
        let probes = [Probe::default(), Probe::default()];
        // Callback k frees the other peer once both callbacks run (both outings are out).
        for (k, (cell, generation)) in [(&a, ga), (&b, gb)].into_iter().enumerate() {
            let mut target = Some(if k == 0 {
                (b.clone(), gb)
            } else {
                (a.clone(), ga)
            });
            let (me, them) = (running[k].clone(), running[1 - k].clone());
            let result = results[k].clone();
            let action = move || {
                me.store(true, SeqCst);
                while !them.load(SeqCst) {
                    thread::yield_now();
                }
                let (cell, generation) = target.take().expect("called once");
                let code = match cell.free(generation) {
                    Ok(Reuse::Now) => 1,
                    Err(ResultCode::WouldDeadlock) => 2,
                    _ => 3,
                };
                result.store(code, SeqCst);
            };
            cell.set_callback(generation, Some(|| probes[k].sink(action)))
                .unwrap();
        }
        let threads: Vec<_> = [(a.clone(), ga), (b.clone(), gb)]
            .into_iter()
            .map(|(cell, generation)| thread::spawn(move || commit(&cell, generation, true)))
            .collect();
        for t in threads {
            let (result, reusable) = t.join().unwrap();
            assert!(matches!(result, Ok(())), "{result:?}");
            assert!(!reusable);
        }
        let codes = [results[0].load(SeqCst), results[1].load(SeqCst)];
        assert!(
            codes == [1, 2] || codes == [2, 1],
            "exactly one WouldDeadlock: {codes:?}"
        );
        // The peer whose free was refused is still there; free it now.
        let (survivor, generation) = if codes[0] == 2 { (&b, gb) } else { (&a, ga) };
        assert_eq!(survivor.free(generation), Ok(Reuse::Now));
        assert!(probes[0].gone() && probes[1].gone());
    });
}
