//! The event queue's wake-up fd: an `eventfd` on Linux and Android, a non-blocking pipe on the
//! other POSIX systems (macOS, iOS, the BSDs) and on Linux with the `pipe-wakeup` feature.
//!
//! Both keep one contract, which `EventQueue` relies on: `wake` makes the fd readable (and can
//! neither block nor fail), `reset` makes it unreadable again, and a reader that reads the fd
//! itself, by any amount, loses no later wakeup, because every `wake` writes anew. Dropping the
//! `Wakeup` wakes a reader one last time and closes what it owns.

#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(feature = "pipe-wakeup")
))]
pub(crate) use eventfd::Wakeup;
#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(feature = "pipe-wakeup")
)))]
pub(crate) use pipe::Wakeup;

/// The eventfd backend: a counter; readable while it is not 0.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(feature = "pipe-wakeup")
))]
mod eventfd {
    use crate::error::{Result, ResultCode};

    pub(crate) struct Wakeup {
        fd: libc::c_int,
    }

    impl Wakeup {
        /// A new, unreadable fd; `Limit` when none can be had (the process or system fd limit).
        pub(crate) fn new() -> Result<Self> {
            // SAFETY: plain syscall; the fd is owned by the Wakeup and closed in Drop.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if fd < 0 {
                return Err(ResultCode::Limit);
            }
            Ok(Wakeup { fd })
        }

        /// The fd a reader waits on.
        pub(crate) fn fd(&self) -> libc::c_int {
            self.fd
        }

        /// Makes the fd readable.
        pub(crate) fn wake(&self) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a valid u64 to our eventfd. It cannot block or fail:
            // the counter would need 2^64 - 1 writes without a read to overflow.
            unsafe { libc::write(self.fd, (&one as *const u64).cast(), 8) };
        }

        /// Makes the fd unreadable.
        pub(crate) fn reset(&self) {
            let mut v: u64 = 0;
            // SAFETY: reads 8 bytes into a valid u64; resets the counter to 0. EAGAIN (already
            // 0) is fine.
            unsafe { libc::read(self.fd, (&mut v as *mut u64).cast(), 8) };
        }
    }

    impl Drop for Wakeup {
        fn drop(&mut self) {
            // Wake a thread blocked in poll() on a dup of the fd before it goes away.
            self.wake();
            // SAFETY: we own the fd and close it once.
            unsafe { libc::close(self.fd) };
        }
    }
}

/// The pipe backend: readable while bytes are in the pipe. Each wake writes 8 bytes (so that a
/// reader written for an eventfd, which reads 8 bytes, drains one wake); a full pipe is readable
/// already, so a wake that finds it full (`EAGAIN`) has done its job. Both ends are non-blocking
/// and close-on-exec; the reader gets the read end. Costs two fds per queue.
#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(feature = "pipe-wakeup")
)))]
mod pipe {
    use crate::error::{Result, ResultCode};

    pub(crate) struct Wakeup {
        pub(super) read: libc::c_int,
        pub(super) write: libc::c_int,
    }

    impl Wakeup {
        /// A new, unreadable fd; `Limit` when no pipe can be had (the process or system fd
        /// limit).
        pub(crate) fn new() -> Result<Self> {
            let mut fds = [-1 as libc::c_int; 2];
            if !open_pipe(&mut fds) {
                return Err(ResultCode::Limit);
            }
            Ok(Wakeup {
                read: fds[0],
                write: fds[1],
            })
        }

        /// The fd a reader waits on: the read end.
        pub(crate) fn fd(&self) -> libc::c_int {
            self.read
        }

        /// Makes the fd readable.
        pub(crate) fn wake(&self) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a valid u64 to our non-blocking pipe. 8 <= PIPE_BUF,
            // so the write is all or nothing; EAGAIN means the pipe is full, hence readable.
            unsafe { libc::write(self.write, (&one as *const u64).cast(), 8) };
        }

        /// Makes the fd unreadable: reads until the pipe is empty.
        pub(crate) fn reset(&self) {
            let mut buf = [0u8; 256];
            loop {
                // SAFETY: reads at most `buf.len()` bytes into `buf` from our non-blocking pipe.
                let n = unsafe { libc::read(self.read, buf.as_mut_ptr().cast(), buf.len()) };
                // Only the queue's owner writes (under the peer's lock), so a short read emptied
                // the pipe; an error is EAGAIN (already empty) or EINTR (read again).
                let interrupted = n < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
                if n != buf.len() as isize && !interrupted {
                    break;
                }
            }
        }
    }

    impl Drop for Wakeup {
        fn drop(&mut self) {
            // Wake a thread blocked in poll() on a dup of the read end before it goes away
            // (closing the write end alone gives POLLHUP, not POLLIN).
            self.wake();
            // SAFETY: we own both ends and close each once.
            unsafe {
                libc::close(self.write);
                libc::close(self.read);
            }
        }
    }

    /// Opens a pipe with both ends non-blocking and close-on-exec, atomically (`pipe2`).
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "illumos",
        target_os = "solaris"
    ))]
    fn open_pipe(fds: &mut [libc::c_int; 2]) -> bool {
        // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) == 0 }
    }

    /// Opens a pipe with both ends non-blocking and close-on-exec, where there is no `pipe2`.
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "illumos",
        target_os = "solaris"
    )))]
    fn open_pipe(fds: &mut [libc::c_int; 2]) -> bool {
        open_pipe_then_set_flags(fds)
    }

    /// `pipe`, then the flags (macOS and iOS have no `pipe2`): a child that another thread forks
    /// in between could inherit the two fds. Compiled everywhere so that its test runs on Linux.
    #[allow(dead_code)] // used by `open_pipe` only where there is no pipe2
    pub(super) fn open_pipe_then_set_flags(fds: &mut [libc::c_int; 2]) -> bool {
        // SAFETY: `fds` is a valid array of two ints for pipe to fill; fcntl only on the fds it
        // opened, which are closed again on failure.
        unsafe {
            if libc::pipe(fds.as_mut_ptr()) != 0 {
                return false;
            }
            for &fd in fds.iter() {
                let fl = libc::fcntl(fd, libc::F_GETFL);
                let fd_fl = libc::fcntl(fd, libc::F_GETFD);
                if fl < 0
                    || fd_fl < 0
                    || libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0
                    || libc::fcntl(fd, libc::F_SETFD, fd_fl | libc::FD_CLOEXEC) < 0
                {
                    libc::close(fds[0]);
                    libc::close(fds[1]);
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: libc::c_int) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        assert!(unsafe { libc::poll(&mut p, 1, 0) } >= 0);
        p.revents & libc::POLLIN != 0
    }

    #[test]
    fn readable_from_wake_to_reset_and_many_wakes_never_block() {
        let w = Wakeup::new().unwrap();
        assert!(!readable(w.fd()));
        w.wake();
        assert!(readable(w.fd()));
        w.reset();
        assert!(!readable(w.fd()));
        // More wakes than a pipe holds: none blocks, and one reset clears them all.
        for _ in 0..100_000 {
            w.wake();
        }
        assert!(readable(w.fd()));
        w.reset();
        assert!(!readable(w.fd()));
        w.reset();
        assert!(!readable(w.fd()), "reset of an unreadable fd is harmless");
    }

    #[test]
    fn a_reader_reading_eight_bytes_drains_one_wake() {
        let w = Wakeup::new().unwrap();
        w.wake();
        let mut v = 0u64;
        // SAFETY: reads 8 bytes into a valid u64.
        let n = unsafe { libc::read(w.fd(), (&mut v as *mut u64).cast(), 8) };
        assert_eq!(n, 8);
        assert!(!readable(w.fd()));
        w.wake();
        assert!(readable(w.fd()), "a wake after a direct read is not lost");
    }

    #[cfg(any(
        feature = "pipe-wakeup",
        not(any(target_os = "linux", target_os = "android"))
    ))]
    #[test]
    fn the_pipe_backend_gives_a_fifo() {
        let w = Wakeup::new().unwrap();
        // SAFETY: a zeroed `stat` is a valid value of that plain C struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat writes into `st`, ours, about our own open fd.
        assert_eq!(unsafe { libc::fstat(w.fd(), &mut st) }, 0);
        assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFIFO);
    }

    /// Both ends non-blocking and close-on-exec, by `pipe2` and by the fallback of the systems
    /// without it (macOS, iOS), which is tested here on Linux.
    #[cfg(any(
        feature = "pipe-wakeup",
        not(any(target_os = "linux", target_os = "android"))
    ))]
    #[test]
    fn both_pipe_ends_are_non_blocking_and_close_on_exec() {
        let flags = |fd| {
            // SAFETY: fcntl queries of fds this test owns.
            let (fl, fd_fl) = unsafe {
                (
                    libc::fcntl(fd, libc::F_GETFL),
                    libc::fcntl(fd, libc::F_GETFD),
                )
            };
            (fl & libc::O_NONBLOCK != 0, fd_fl & libc::FD_CLOEXEC != 0)
        };
        let w = Wakeup::new().unwrap();
        assert_eq!(
            (flags(w.read), flags(w.write)),
            ((true, true), (true, true))
        );
        let mut fds = [-1; 2];
        assert!(super::pipe::open_pipe_then_set_flags(&mut fds));
        assert_eq!((flags(fds[0]), flags(fds[1])), ((true, true), (true, true)));
        // SAFETY: closes the two fds the fallback opened for this test.
        unsafe { (libc::close(fds[0]), libc::close(fds[1])) };
    }
}
