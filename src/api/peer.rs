//! `PeerConnection`: a peer owned by Rust code, and the builder that sets its flags.

use std::os::fd::BorrowedFd;
use std::time::Duration;

use super::callback::{self, Sink};
use super::{Error, Event, PeerStats, Snapshot, Transport};
use crate::constants::{
    PCSTATE_LIVENESS_PRESET_CHROMIUM, PCSTATE_LIVENESS_PRESET_FIREFOX, PCSTATE_LIVENESS_PRESET_OFF,
};
use crate::error::ResultCode;
use crate::liveness::Preset;
use crate::peer::Peer;
use crate::rules::{
    ConnectionState, IceConnectionState, IceGatheringState, Profile, TransportStates,
};
use crate::state::{self, Batch};
use crate::{handle, registry};

/// A peer: the RTCPeerConnection state machine of one connection, fed with its transports'
/// states, telling every change of `connectionState`, `iceConnectionState` and
/// `iceGatheringState`. The same peer as the C API's `pcstate_peer`, with the same rules,
/// results and guarantees; dropping it frees it (`pcstate_peer_free`).
///
/// `PeerConnection` is `Send + Sync`: any thread may call any method, also concurrently
/// (threads on different peers never contend). Share it with `Arc` (a callback that must call
/// its own peer holds a `Weak`, or the peer and its callback keep each other alive).
///
/// # Callbacks
///
/// [`on_event`](Self::on_event) registers a closure that gets every event of the peer, with the
/// C API's guarantees:
/// - one at a time, in order (`seq` 1, 2, 3, ... with no gap, or an explicit
///   [`Change::Overflow`](crate::Change::Overflow) when a slow callback's backlog exceeded the
///   event limit), exactly once;
/// - on the thread whose call committed it, or on a thread already delivering this peer's
///   events, after that call's change is complete; never under a library lock;
/// - the callback may call anything: this peer's methods (their events are delivered after the
///   current callback returns, by the same thread), [`on_event`](Self::on_event) to replace
///   itself (it is dropped when it returns), other peers' methods, and it may drop other peers;
/// - when [`on_event`](Self::on_event) or [`clear_on_event`](Self::clear_on_event) return on a
///   thread outside the peer's callbacks, no replaced closure is running or will run, and each
///   has been dropped; dropping the peer drops its closure before it returns (see
///   [Drop](Self#impl-Drop-for-PeerConnection)).
///
/// A callback that panics gets no more events (it stays registered until replaced); pcstate
/// catches the panic where it would cross the engine and resumes it from the method that ran
/// the callback (whose own change was made), after the peer is consistent again.
///
/// # Example
///
/// ```
/// use pcstate::{ConnectionState, DtlsTransportState, IceTransportState, PeerConnection, Profile};
///
/// let pc = PeerConnection::new(Profile::W3c)?;
/// pc.on_event(|e| println!("{e}"))?;
/// let t = pc.add_transport()?;
/// t.set_ice_state(IceTransportState::Connected)?;
/// t.set_dtls_state(DtlsTransportState::Connected)?;
/// assert_eq!(pc.connection_state(), ConnectionState::Connected);
/// pc.close()?;
/// assert!(t.set_ice_state(IceTransportState::Failed).is_err());
/// # Ok::<(), pcstate::Error>(())
/// ```
pub struct PeerConnection {
    handle: u64,
}

// `PeerConnection` and `Transport` are shared across threads by design: the build fails if a
// change ever makes either of them lose `Send + Sync`.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<PeerConnection>();
    send_sync::<Transport<'static>>();
};

/// The handle is live until drop, which takes the `PeerConnection`.
const LIVE: &str = "a PeerConnection's peer lives until it is dropped";

impl PeerConnection {
    /// A new peer following `profile`, with no flags.
    ///
    /// Errors: [`ResultCode::Limit`] (16M live peers); [`ResultCode::NoMemory`].
    pub fn new(profile: Profile) -> Result<PeerConnection, Error> {
        Self::builder(profile).build()
    }

    /// A builder for a peer with flags (close events, event queue, ignore after close,
    /// history).
    pub fn builder(profile: Profile) -> PeerConnectionBuilder {
        PeerConnectionBuilder { profile, flags: 0 }
    }

    /// Runs a mutating operation on the peer (commit and deliver), relaying a callback's panic.
    pub(crate) fn update<T>(
        &self,
        op: impl FnOnce(&mut Peer) -> crate::error::Result<(T, Batch)>,
    ) -> Result<T, Error> {
        callback::relay(|| handle::update(self.handle, op)).map_err(Error::new)
    }

    /// Reads the peer under its lock.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Peer) -> T) -> T {
        handle::read(self.handle, f).expect(LIVE)
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> ConnectionState {
        self.read(|p| p.state.aggregates().connection)
    }

    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.read(|p| p.state.aggregates().ice_connection)
    }

    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.read(|p| p.state.aggregates().ice_gathering)
    }

    /// The three aggregates, the transport count and the newest event's seq, read at once (to
    /// resynchronise after an overflow).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::from(self.read(|p| p.state.snapshot()))
    }

    /// Adds a transport (ICE, DTLS and gatherer new). With
    /// [`ignore_after_close`](PeerConnectionBuilder::ignore_after_close), after close: a
    /// transport with id 0, whose setters succeed and change nothing.
    ///
    /// Errors: [`ResultCode::Closed`]; [`ResultCode::Limit`] (65,535 transports, or the peer's
    /// 2^32 - 1 ids used up); [`ResultCode::NoMemory`].
    pub fn add_transport(&self) -> Result<Transport<'_>, Error> {
        let id = self.update(|p| p.state.add_transport())?;
        Ok(Transport::new(self, id))
    }

    /// Adds a transport already in the given states (for example one already connected): one
    /// commit, no intermediate events.
    ///
    /// Errors: as [`add_transport`](Self::add_transport).
    pub fn add_transport_with_states(
        &self,
        states: TransportStates,
    ) -> Result<Transport<'_>, Error> {
        let id = self.update(|p| p.state.add_with_states(states))?;
        Ok(Transport::new(self, id))
    }

    /// The transport with this id.
    ///
    /// Errors: [`ResultCode::UnknownTransport`] (0, never added, or removed).
    pub fn transport(&self, id: u32) -> Result<Transport<'_>, Error> {
        self.read(|p| p.state.transport(id)).map_err(Error::new)?;
        Ok(Transport::new(self, id))
    }

    /// Removes the transport with this id; the aggregates are recomputed at once.
    ///
    /// Errors: [`ResultCode::UnknownTransport`]; [`ResultCode::Closed`].
    pub fn remove_transport(&self, id: u32) -> Result<(), Error> {
        self.update(|p| Ok(((), p.state.remove_transport(id)?)))
    }

    /// Closes the peer as `RTCPeerConnection.close()` does: `iceConnectionState` and
    /// `connectionState` become closed, every transport's ICE and DTLS state reads closed. No
    /// event unless [`close_events`](PeerConnectionBuilder::close_events). Afterwards adding,
    /// removing and setting fail with [`ResultCode::Closed`] (or succeed and change nothing, with
    /// [`ignore_after_close`](PeerConnectionBuilder::ignore_after_close)); reading works. The
    /// event fd is made readable once. Closing a closed peer does nothing.
    pub fn close(&self) -> Result<(), Error> {
        self.update(|p| Ok(((), p.close())))
    }

    /// Registers the peer's event callback, replacing (and dropping) the previous one; events
    /// committed and not yet delivered go to the new one. See [Callbacks](Self#callbacks).
    ///
    /// Errors: [`ResultCode::WouldDeadlock`] (called from inside a callback, waiting for the
    /// replaced closure would close a cycle of threads each waiting for another's callback);
    /// [`ResultCode::NoMemory`]. Either way `f` is dropped and nothing changed.
    pub fn on_event(&self, f: impl FnMut(&Event) + Send + 'static) -> Result<(), Error> {
        self.set_sink(Some(Sink::boxed(f).map_err(Error::new)?))
    }

    /// Removes the event callback (dropping it); undelivered events are dropped.
    ///
    /// Errors: [`ResultCode::WouldDeadlock`] (see [`on_event`](Self::on_event));
    /// [`ResultCode::NoMemory`] (recording the wait for a running callback).
    pub fn clear_on_event(&self) -> Result<(), Error> {
        self.set_sink(None)
    }

    fn set_sink(&self, sink: Option<Box<dyn crate::peer::EventSink>>) -> Result<(), Error> {
        callback::relay(|| {
            let (cell, generation) = registry::lookup(self.handle)?;
            cell.set_callback(generation, sink.map(|sink| move || sink))
        })
        .map_err(Error::new)
    }

    /// Takes the oldest queued event (or the overflow event standing for dropped ones); `None`
    /// when the queue is empty, which also makes the event fd unreadable.
    ///
    /// Errors: [`ResultCode::InvalidArgument`] (no [`event_queue`](PeerConnectionBuilder::event_queue)).
    pub fn poll_event(&self) -> Result<Option<Event>, Error> {
        match self.update(|p| Ok((p.poll_event(), Batch::default())))? {
            Ok(e) => Ok(Some(Event(e))),
            Err(ResultCode::Empty) => Ok(None),
            Err(code) => Err(Error::new(code)),
        }
    }

    /// The fd that is readable while events are queued, for poll, epoll, kqueue or an async
    /// runtime's reactor: made readable by every queued event, by close and by drop, made
    /// unreadable when [`poll_event`](Self::poll_event) returns `None`. After a wakeup, call
    /// `poll_event` until `None`. Reading the fd yourself is allowed and loses no later wakeup.
    /// An `eventfd` on Linux and Android, the read end of a pipe elsewhere (and with the
    /// `pipe-wakeup` feature). Owned by the peer: to wait on it beyond the peer's life, wait on a
    /// duplicate (`try_clone_to_owned`).
    ///
    /// Errors: [`ResultCode::InvalidArgument`] (no [`event_queue`](PeerConnectionBuilder::event_queue)).
    pub fn event_fd(&self) -> Result<BorrowedFd<'_>, Error> {
        let fd = self.read(|p| p.event_fd()).map_err(Error::new)?;
        // SAFETY: the peer owns the fd and closes it only when it is freed, which needs `self`
        // by value: the fd stays open for the borrow.
        Ok(unsafe { BorrowedFd::borrow_raw(fd) })
    }

    /// Bounds the event queue and the callback backlog to `max_events` events each (1 ..=
    /// 2^20; 1024 by default). An event that does not fit is dropped and counted; the reader
    /// then gets one [`Change::Overflow`](crate::Change::Overflow) event. State changes are
    /// never refused.
    ///
    /// Errors: [`ResultCode::InvalidArgument`] (out of range); [`ResultCode::NoMemory`] (a limit
    /// other than the default on a peer without a callback, history or queue yet needs a small
    /// allocation; nothing changed).
    pub fn set_event_limit(&self, max_events: u32) -> Result<(), Error> {
        self.update(|p| Ok((p.set_event_limit(max_events)?, Batch::default())))
    }

    /// Turns liveness on: a transport whose ICE state is connected or completed and on which
    /// nothing was noted alive ([`Transport::note_alive`]) for `disconnected_after` reads
    /// disconnected; for `failed_after` (when given, longer than `disconnected_after`), failed,
    /// until its ICE state is set again. Browsers read disconnected 5-8 s after traffic stops
    /// and failed after about 17.6 s (Chromium) or 27.5 s (Firefox):
    /// [`set_liveness_preset`](Self::set_liveness_preset) sets their measured numbers.
    /// Caller-clocked: call [`tick`](Self::tick) when the deadline it returns has passed and
    /// after changing states.
    ///
    /// Errors: [`ResultCode::InvalidArgument`] (`disconnected_after` zero, `failed_after` not
    /// longer); [`ResultCode::Closed`]; [`ResultCode::NoMemory`].
    pub fn set_liveness(
        &self,
        disconnected_after: Duration,
        failed_after: Option<Duration>,
    ) -> Result<(), Error> {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let disconnected = ns(disconnected_after);
        if disconnected == 0 {
            // In C, (0, 0) turns liveness off: here that is `clear_liveness`.
            return Err(Error::new(ResultCode::InvalidArgument));
        }
        // 0 means "never failed" in C: a zero `failed_after` is refused as too short instead.
        let failed = failed_after.map_or(0, |d| ns(d).max(1));
        self.update(|p| Ok(((), p.state.set_liveness(disconnected, failed)?)))
    }

    /// Turns liveness on with the thresholds that reproduce a browser's timings for a path that
    /// goes silent during media, as [`set_liveness`](Self::set_liveness) with
    /// [`LivenessPreset::durations`]; [`LivenessPreset::Off`] turns it off, as
    /// [`clear_liveness`](Self::clear_liveness).
    ///
    /// Errors: [`ResultCode::Closed`]; [`ResultCode::NoMemory`].
    pub fn set_liveness_preset(&self, preset: LivenessPreset) -> Result<(), Error> {
        let (disconnected, failed) = preset.engine().durations();
        self.update(|p| Ok(((), p.state.set_liveness(disconnected, failed)?)))
    }

    /// Turns liveness off (the default): every transport reads its reported ICE state.
    ///
    /// Errors: [`ResultCode::Closed`].
    pub fn clear_liveness(&self) -> Result<(), Error> {
        self.update(|p| Ok(((), p.state.set_liveness(0, 0)?)))
    }

    /// Applies the liveness deadlines that passed by `now_ns` (the clock given to
    /// [`Transport::note_alive`], e.g. [`now_ns`](crate::now_ns)), delivers the events (one
    /// commit), and returns the next deadline, `None` when there is none. Cheap when nothing is
    /// due.
    pub fn tick(&self, now_ns: u64) -> Result<Option<u64>, Error> {
        let next = self.update(|p| Ok(p.state.tick(now_ns)))?;
        Ok((next != u64::MAX).then_some(next))
    }

    /// The peer's numbers: creation, first connection, time in and entries into each
    /// `connectionState`, and the cause of the latest failure.
    pub fn stats(&self) -> PeerStats {
        PeerStats::from(self.read(|p| p.state.stats(state::monotonic_ns())))
    }

    /// Frees the peer, as dropping it does, and returns its numbers as of the free, read in the
    /// same step (`pcstate_peer_free_with_stats`): a final report (metrics, logs) that has every
    /// change made before and needs no [`close`](Self::close) first.
    pub fn into_stats(self) -> PeerStats {
        let handle = self.handle;
        std::mem::forget(self); // freed here instead of in `drop`
        let last = callback::relay(|| {
            registry::remove_reading(handle, |p| p.state.stats(state::monotonic_ns()))
        });
        PeerStats::from(last.expect("no callback of an unborrowed peer can be running"))
    }

    /// The last events (at most 32, oldest first).
    ///
    /// Errors: [`ResultCode::InvalidArgument`] (no [`history`](PeerConnectionBuilder::history));
    /// [`ResultCode::NoMemory`].
    pub fn history(&self) -> Result<Vec<Event>, Error> {
        let mut v = Vec::new();
        v.try_reserve(crate::peer::HISTORY_LEN)
            .map_err(|_| Error::new(ResultCode::NoMemory))?;
        self.read(|p| p.history().map(|h| v.extend(h.map(|e| Event(*e)))))
            .map_err(Error::new)?;
        Ok(v)
    }
}

/// A browser whose liveness timings [`PeerConnection::set_liveness_preset`] reproduces
/// (`PCSTATE_LIVENESS_PRESET_*`; `as u32` is the C number), measured on the project's own
/// recordings of Chromium 156 and Firefox ESR 153 with UDP dropped during a live call; the
/// numbers and their sources are in `docs/feeding.md` ("Presets").
#[non_exhaustive]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LivenessPreset {
    /// Liveness off.
    Off = PCSTATE_LIVENESS_PRESET_OFF,
    /// Chromium (libwebrtc): disconnected after 6.5 s of silence, failed after 17.6 s (recorded:
    /// 6.1-7.2 s and 17.5-17.8 s after the loss).
    Chromium = PCSTATE_LIVENESS_PRESET_CHROMIUM,
    /// Firefox (nICEr): disconnected after 7 s of silence, failed after 27.5 s (recorded:
    /// 5.4-8.3 s and 26.9-29.3 s after the loss).
    Firefox = PCSTATE_LIVENESS_PRESET_FIREFOX,
}

impl LivenessPreset {
    fn engine(self) -> Preset {
        match self {
            LivenessPreset::Off => Preset::Off,
            LivenessPreset::Chromium => Preset::Chromium,
            LivenessPreset::Firefox => Preset::Firefox,
        }
    }

    /// The preset's (disconnected after, failed after); `None` for [`Off`](Self::Off).
    ///
    /// ```
    /// use std::time::Duration;
    /// use pcstate::LivenessPreset;
    ///
    /// let (disconnected, failed) = LivenessPreset::Chromium.durations().unwrap();
    /// assert_eq!(disconnected, Duration::from_millis(6_500));
    /// assert_eq!(failed, Duration::from_millis(17_600));
    /// ```
    pub fn durations(self) -> Option<(Duration, Duration)> {
        match self.engine().durations() {
            (0, 0) => None,
            (d, f) => Some((Duration::from_nanos(d), Duration::from_nanos(f))),
        }
    }
}

/// Frees the peer (`pcstate_peer_free`): the fd is closed, undelivered events are dropped, and
/// the event closure is dropped before `drop` returns.
///
/// Dropping never waits and never fails. In C, freeing a peer waits while one of its callbacks
/// runs on another thread, and refuses with `WOULD_DEADLOCK` when that wait would close a cycle.
/// Here a callback of a peer runs only inside a method of that peer (the one whose change it
/// reports), and that method borrows the peer, so the borrow checker rules out dropping the peer
/// while any of its callbacks runs, on any thread, its own included.
impl Drop for PeerConnection {
    fn drop(&mut self) {
        let r = callback::relay(|| registry::remove(self.handle));
        debug_assert_eq!(
            r,
            Ok(()),
            "no callback of an unborrowed peer can be running"
        );
    }
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("handle", &format_args!("{:#x}", self.handle))
            .field("snapshot", &self.snapshot())
            .finish()
    }
}

/// Sets a new peer's flags; [`build`](Self::build) creates it.
///
/// ```
/// use pcstate::{PeerConnection, Profile};
///
/// let pc = PeerConnection::builder(Profile::W3c).event_queue(true).close_events(true).build()?;
/// pc.close()?;
/// while let Some(e) = pc.poll_event()? {
///     println!("{e}");
/// }
/// # Ok::<(), pcstate::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct PeerConnectionBuilder {
    profile: Profile,
    flags: u32,
}

impl PeerConnectionBuilder {
    fn flag(mut self, flag: u32, on: bool) -> Self {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
        self
    }

    /// [`close`](PeerConnection::close) commits an `iceConnectionState` and then a
    /// `connectionState` event (old -> closed), as native stacks do (`PCSTATE_FLAG_CLOSE_EVENTS`).
    /// Without it close is silent, as the W3C specifies.
    pub fn close_events(self, on: bool) -> Self {
        self.flag(state::FLAG_CLOSE_EVENTS, on)
    }

    /// Every event is also queued for [`poll_event`](PeerConnection::poll_event), with an
    /// [`event_fd`](PeerConnection::event_fd) readable while the queue is not empty
    /// (`PCSTATE_FLAG_EVENT_QUEUE`; one fd, two with the pipe backend).
    pub fn event_queue(self, on: bool) -> Self {
        self.flag(state::FLAG_EVENT_QUEUE, on)
    }

    /// After close, adding, removing and setting transports (and noting them alive) succeed and
    /// change nothing instead of failing with [`ResultCode::Closed`]
    /// (`PCSTATE_FLAG_IGNORE_AFTER_CLOSE`): for stacks that keep reporting while they tear down.
    pub fn ignore_after_close(self, on: bool) -> Self {
        self.flag(state::FLAG_IGNORE_AFTER_CLOSE, on)
    }

    /// The peer keeps its last 32 events for [`history`](PeerConnection::history)
    /// (`PCSTATE_FLAG_HISTORY`, about 1.3 KiB).
    pub fn history(self, on: bool) -> Self {
        self.flag(state::FLAG_HISTORY, on)
    }

    /// Creates the peer.
    ///
    /// Errors: [`ResultCode::Limit`] (16M live peers, or no fd for the event queue);
    /// [`ResultCode::NoMemory`].
    pub fn build(self) -> Result<PeerConnection, Error> {
        let peer = Peer::new(self.profile, self.flags).map_err(Error::new)?;
        let handle = registry::insert(peer).map_err(Error::new)?;
        Ok(PeerConnection { handle })
    }
}
