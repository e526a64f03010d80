//! One transport's update: its ICE source changed (set directly, an agent's state, a fact, a
//! restart), liveness told, its effective states stored and counted. The peer's state machine
//! (`state`) takes an [`Update`] with one table lookup and commits after it.

use crate::agents::{self, AgentState, Facts};
use crate::ice_source::{self, Source};
use crate::liveness::{Liveness, Phase};
use crate::rules::{Counts, GathererState, IceTransportState, Input};
use crate::transports::Entry;

/// One transport being updated, with what an update changes beside it: taken with one table
/// lookup.
pub(crate) struct Update<'a> {
    pub e: &'a mut Entry,
    pub counts: &'a mut Counts,
    pub live: Option<&'a mut Liveness>,
}

impl Update<'_> {
    /// Its ICE state before liveness (as set, or derived from its agent).
    #[inline(always)]
    pub(crate) fn reported(&self) -> IceTransportState {
        reported(self.e)
    }

    /// After its ICE inputs changed: liveness is told (`renewed`: the ICE state itself was
    /// reported, not a fact it depends on, which ends a failed reading), and its effective ICE
    /// state is stored and counted.
    #[inline(always)]
    pub(crate) fn settle(&mut self, renewed: bool) {
        let reported = self.reported();
        let phase = match self.live.as_deref_mut() {
            Some(l) => l.refresh(self.e.live, reported, renewed),
            None => Phase::Off,
        };
        self.store_ice(phase.effective(reported));
    }

    /// Its effective ICE state.
    #[inline(always)]
    pub(crate) fn effective(&self) -> IceTransportState {
        IceTransportState::ALL[self.e.get(Input::Ice) as usize]
    }

    /// Its ICE state is set directly: an agent that drove it no longer does, and that agent run's
    /// facts go with it (a later agent run starts without them). A restart hold lasts until a
    /// state that ends it is set.
    pub(crate) fn set_directly(&mut self, v: IceTransportState) {
        let source = self.e.source;
        let mut facts = source.facts();
        if source.agent_state().is_some() {
            facts = facts.without(Facts::SESSION);
        }
        if ice_source::ends_hold(v) {
            facts = facts.without(Facts::RESTARTING);
        }
        self.e.source = Source::direct(ice_source::held(v, facts), facts);
        self.settle(true);
    }

    /// Its agent reports state `new` (not the same as before).
    pub(crate) fn set_agent(&mut self, new: AgentState) {
        let old = self.e.source.agent_state();
        if let Some(old) = old
            && agents::is_restart(old, new)
        {
            self.restart(false);
        }
        let mut facts = self.e.source.facts();
        if ice_source::ends_hold(agents::derive(new, gathering_complete(self.e), facts))
            || old.is_some_and(|old| agents::skips_restart(old, new))
        {
            facts = facts.without(Facts::RESTARTING);
        }
        self.e.source = Source::agent(new, facts);
        self.settle(true);
    }

    /// An ICE restart began (`announced` by the application, or seen in the agent's states): the
    /// session's facts end, and a transport that read connected or completed is held at
    /// connected until its new checks conclude (see `ice_source::held`). An announced restart
    /// that holds the transport puts an agent that has not begun restarting back to its first
    /// state, so that the agent's
    /// own move back is the same restart (facts noted meanwhile stay) and a report that skips
    /// the restart ends the hold (`agents::skips_restart`).
    pub(crate) fn restart(&mut self, announced: bool) {
        let source = self.e.source;
        let facts = ice_source::restarted(source.facts(), self.effective());
        self.e.source = match source.agent_state() {
            Some(a) if announced && facts.has(Facts::RESTARTING) => {
                Source::agent(agents::announced_restart(a), facts)
            }
            Some(a) => Source::agent(a, facts),
            None => {
                // Completed no longer holds: its gathering and end-of-candidates were the old
                // session's.
                let now = match source.reported(false) {
                    IceTransportState::Completed => IceTransportState::Connected,
                    was => was,
                };
                Source::direct(ice_source::held(now, facts), facts)
            }
        };
    }

    /// Adds one fact; returns whether it is new.
    pub(crate) fn add_fact(&mut self, f: Facts) -> bool {
        let facts = self.e.source.facts();
        self.e.source = self.e.source.with_facts(facts.with(f));
        !facts.has(f)
    }

    /// Stores and counts its effective ICE state; returns whether it changed.
    #[inline(always)]
    pub(crate) fn store_ice(&mut self, effective: IceTransportState) -> bool {
        self.store(Input::Ice, effective as u8)
    }

    /// Stores and counts one of its effective states; returns whether it changed.
    #[inline(always)]
    pub(crate) fn store(&mut self, which: Input, v: u8) -> bool {
        let was = self.e.get(which);
        if was == v {
            return false;
        }
        self.e.set(which, v);
        self.counts.shift(which, was, v);
        true
    }
}

/// Whether a transport's own gathering is complete.
#[inline(always)]
pub(crate) fn gathering_complete(e: &Entry) -> bool {
    e.get(Input::Gatherer) == GathererState::Complete as u8
}

/// A transport's ICE state before liveness.
#[inline(always)]
pub(crate) fn reported(e: &Entry) -> IceTransportState {
    e.source.reported(gathering_complete(e))
}
