//! The synchronisation primitives of the delivery protocol: parking_lot's, or loom's when the
//! protocol is model-checked (`--cfg loom`, see `loom_models`), behind one small interface.

#[cfg(not(loom))]
mod imp {
    use parking_lot::lock_api::RawMutex as _;
    use parking_lot_core::{DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN};

    pub(crate) use parking_lot::{Mutex, MutexGuard as Guard};

    /// Runs `f` with the lock of `guard` released, then takes it again.
    #[inline]
    pub(crate) fn unlocked<T, R>(guard: &mut Guard<'_, T>, f: impl FnOnce() -> R) -> R {
        Guard::unlocked(guard, f)
    }

    /// A condition variable that takes no room: threads wait in parking_lot's global parking
    /// lot under a key, an address the caller owns that no lock uses (waking a lock's waiters
    /// instead would hand them a lock they do not expect).
    pub(crate) struct Parker;

    impl Parker {
        pub(crate) const fn new() -> Self {
            Parker
        }

        /// Wakes every thread waiting under `key`.
        pub(crate) fn notify_all(&self, key: usize) {
            // SAFETY: `key` is an address the caller controls and parks its own waiters under
            // (`unpark_all`'s one requirement), so no other primitive's waiters are woken.
            unsafe {
                parking_lot_core::unpark_all(key, DEFAULT_UNPARK_TOKEN);
            }
        }

        /// Waits under `key` until woken (or spuriously), with the lock of `guard` released
        /// meanwhile and taken again before returning. The thread is queued before the lock
        /// is released, so a `notify_all` made under the lock after the caller's check of its
        /// condition wakes it.
        pub(crate) fn wait<T>(&self, key: usize, guard: &mut Guard<'_, T>) {
            // SAFETY: the guard holds this mutex, so this thread may unlock it (once, below).
            let raw = unsafe { Guard::mutex(guard).raw() };
            // SAFETY: `key` is an address the caller controls; `validate` and `timed_out` (run
            // under the queue lock) neither panic nor call into parking_lot; `before_sleep` only
            // unlocks the mutex this thread holds, which may call `unpark_one` (allowed there).
            unsafe {
                parking_lot_core::park(
                    key,
                    || true,
                    || raw.unlock(),
                    |_, _| {},
                    DEFAULT_PARK_TOKEN,
                    None,
                );
            }
            // The guard stays as it was: the lock is held again when it is used or dropped.
            raw.lock();
        }
    }

    /// An identifier of the calling thread, unique among live threads, never 0: the address of
    /// its thread control block, which `%fs:0` holds on x86_64 Linux (glibc and musl: the
    /// pointer `pthread_self` returns), read in one instruction; elsewhere `pthread_self`. (A
    /// thread-local would cost a `__tls_get_addr` call in a cdylib.) Miri: `pthread_self`.
    #[inline]
    pub(crate) fn thread_token() -> usize {
        #[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
        {
            let tcb: usize;
            // SAFETY: on x86_64 Linux `%fs` is the thread pointer and `%fs:0` the thread control
            // block's pointer to itself (the TLS ABI); reading it has no side effects.
            unsafe {
                std::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tcb,
                    options(nostack, readonly, preserves_flags, pure));
            }
            tcb
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(miri))))]
        // SAFETY: pthread_self has no preconditions and cannot fail.
        unsafe {
            libc::pthread_self() as usize
        }
    }
}

#[cfg(loom)]
mod imp {
    use std::ops::{Deref, DerefMut};

    /// loom's mutex, with parking_lot's interface (no poisoning, guards that can unlock).
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// A held lock of [`Mutex`]; `None` only inside `unlocked` and `wait`.
    pub(crate) struct Guard<'a, T> {
        mutex: &'a loom::sync::Mutex<T>,
        guard: Option<loom::sync::MutexGuard<'a, T>>,
    }

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> Guard<'_, T> {
            Guard {
                mutex: &self.0,
                guard: Some(self.0.lock().expect("never poisoned")),
            }
        }
    }

    impl<T> Deref for Guard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.guard.as_ref().expect("held")
        }
    }

    impl<T> DerefMut for Guard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.guard.as_mut().expect("held")
        }
    }

    pub(crate) fn unlocked<T, R>(guard: &mut Guard<'_, T>, f: impl FnOnce() -> R) -> R {
        drop(guard.guard.take());
        let r = f();
        guard.guard = Some(guard.mutex.lock().expect("never poisoned"));
        r
    }

    /// loom's condition variable, one per cell (the key is not needed).
    pub(crate) struct Parker(loom::sync::Condvar);

    impl Parker {
        pub(crate) fn new() -> Self {
            Parker(loom::sync::Condvar::new())
        }

        pub(crate) fn notify_all(&self, _key: usize) {
            self.0.notify_all();
        }

        pub(crate) fn wait<T>(&self, _key: usize, guard: &mut Guard<'_, T>) {
            let held = guard.guard.take().expect("held");
            guard.guard = Some(self.0.wait(held).expect("never poisoned"));
        }
    }

    /// An identifier of the calling (loom) thread, unique among live threads, never 0.
    pub(crate) fn thread_token() -> usize {
        loom::thread_local!(static TOKEN: u8 = 0);
        TOKEN.with(|t| t as *const u8 as usize)
    }
}

pub(crate) use imp::*;
