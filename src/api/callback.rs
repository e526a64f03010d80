//! Rust callbacks as event sinks, and the relay that carries a callback's panic back to the
//! caller of the pcstate call that ran it, once the peer's delivery state is consistent again.
//!
//! A callback runs inside the delivery loop (`delivery::Cell::deliver`), which must get control
//! back to restore the peer (put the registration home, end the outing, wake waiters); a panic
//! unwinding through it would leave the peer stuck. So the sink catches the panic and keeps it
//! in this thread's slot; the API call that ran the delivery ([`relay`]) resumes it when the
//! engine has returned.

use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::api::Event;
use crate::peer::EventSink;
use crate::state;

type Payload = Box<dyn Any + Send + 'static>;

thread_local! {
    /// The first panic caught in a callback (or a callback's drop) during the current API call.
    static CAUGHT: Cell<Option<Payload>> = const { Cell::new(None) };
}

/// Keeps `p` for the running API call, unless it already has one (the first wins; the panic
/// hook has printed every one).
fn keep(p: Payload) {
    CAUGHT.with(|c| {
        let first = c.take().unwrap_or(p);
        c.set(Some(first));
    });
}

/// Runs an API call that may run callbacks or drop them; a panic one of them raised is resumed
/// here, after the call returned (unless this thread is already unwinding: then it is dropped,
/// as resuming would abort). Nested calls (a callback calling into another peer) each relay
/// their own.
pub(crate) fn relay<T>(call: impl FnOnce() -> T) -> T {
    let outer = CAUGHT.with(Cell::take);
    let value = call();
    let mine = CAUGHT.with(|c| c.replace(outer));
    if let Some(p) = mine {
        if !std::thread::panicking() {
            resume_unwind(p);
        }
    }
    value
}

/// A Rust closure registered with `on_event`. After it panicked it gets no more events (its
/// state may be broken); it stays registered until replaced, cleared or freed. Dropping it runs
/// the closure's own drop, whose panic is relayed too.
pub(crate) struct Sink<F> {
    f: Option<F>,
    panicked: bool,
}

impl<F: FnMut(&Event) + Send + 'static> Sink<F> {
    /// The boxed sink, or `NoMemory` (then `f` is dropped).
    pub(crate) fn boxed(f: F) -> crate::error::Result<Box<dyn EventSink>> {
        let sink = crate::alloc::try_box(Sink {
            f: Some(f),
            panicked: false,
        })?;
        Ok(sink)
    }
}

impl<F: FnMut(&Event) + Send> EventSink for Sink<F> {
    fn on_event(&mut self, event: &state::Event) {
        let Some(f) = self.f.as_mut().filter(|_| !self.panicked) else {
            return;
        };
        let event = Event(*event);
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(&event))) {
            self.panicked = true;
            keep(p);
        }
    }
}

impl<F> Drop for Sink<F> {
    fn drop(&mut self) {
        let f = self.f.take();
        if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(f))) {
            keep(p);
        }
    }
}
