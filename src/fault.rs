//! A test-only switch that makes the next exported call on this thread panic inside its panic
//! boundary, to show that the panic is contained. Compiled in only with the `fault-injection`
//! feature; without it `maybe_panic` is empty.

#[cfg(feature = "fault-injection")]
thread_local!(static ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });

/// Makes the next exported `pcstate_*` call made by this thread panic inside its boundary.
#[cfg(feature = "fault-injection")]
pub fn panic_on_next_call() {
    ARMED.with(|a| a.set(true));
}

/// Panics if this thread armed the switch (and disarms it).
#[inline]
pub(crate) fn maybe_panic() {
    #[cfg(feature = "fault-injection")]
    if ARMED.with(|a| a.replace(false)) {
        panic!("pcstate: injected panic (fault-injection test switch)");
    }
}
