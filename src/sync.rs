//! The synchronisation primitives of the delivery protocol: parking_lot's, or loom's when the
//! protocol is model-checked (`--cfg loom`, see `loom_models`), behind one small interface.

#[cfg(not(loom))]
mod imp {
    pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard as Guard};

    /// Runs `f` with the lock of `guard` released, then takes it again.
    #[inline]
    pub(crate) fn unlocked<T, R>(guard: &mut Guard<'_, T>, f: impl FnOnce() -> R) -> R {
        Guard::unlocked(guard, f)
    }

    /// Waits on `cond`, releasing the lock of `guard` meanwhile.
    #[inline]
    pub(crate) fn wait<T>(cond: &Condvar, guard: &mut Guard<'_, T>) {
        cond.wait(guard);
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

    /// loom's condition variable.
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    pub(crate) fn wait<T>(cond: &Condvar, guard: &mut Guard<'_, T>) {
        let held = guard.guard.take().expect("held");
        guard.guard = Some(cond.0.wait(held).expect("never poisoned"));
    }

    /// An identifier of the calling (loom) thread, unique among live threads, never 0.
    pub(crate) fn thread_token() -> usize {
        loom::thread_local!(static TOKEN: u8 = 0);
        TOKEN.with(|t| t as *const u8 as usize)
    }
}

pub(crate) use imp::*;
