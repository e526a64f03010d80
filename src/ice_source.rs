//! Where a transport's ICE state comes from, in one byte: set directly, or an ICE agent's state
//! with the session's facts; and restart continuity, which holds a restarted transport connected.

use crate::agents::{self, AgentState, Facts, IceAgent};
use crate::rules::IceTransportState;

use IceTransportState as I;

/// Where a transport's ICE state comes from, with its session's facts, in one byte: bits 0-1 the
/// agent (0: the application sets the state directly), bits 2-4 the agent's state number or the
/// ICE state set (restart hold applied), bits 5-7 the [`Facts`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Source(u8);

const AGENT_BITS: u8 = 0b11;
const STATE_SHIFT: u32 = 2;
const STATE_BITS: u8 = 0b111;
const FACTS_SHIFT: u32 = 5;

// Every agent number, state number and fact fits its field.
const _: () = {
    assert!(IceAgent::Libnice as u8 <= AGENT_BITS && IceAgent::Libjuice as u8 <= AGENT_BITS);
    assert!(IceAgent::Libnice.state_count() <= 8 && IceAgent::Libjuice.state_count() <= 8);
    assert!(IceTransportState::COUNT <= 8);
    assert!(Facts::ALL.bits() >> (8 - FACTS_SHIFT) == 0);
};

impl Source {
    /// ICE state `s` set directly (held already), with `facts`.
    #[inline]
    pub(crate) const fn direct(s: IceTransportState, facts: Facts) -> Source {
        Source((s as u8) << STATE_SHIFT | facts.bits() << FACTS_SHIFT)
    }

    /// Driven by an agent in state `a`, with `facts`.
    #[inline]
    pub(crate) const fn agent(a: AgentState, facts: Facts) -> Source {
        Source(a.agent_number() | a.state() << STATE_SHIFT | facts.bits() << FACTS_SHIFT)
    }

    /// The agent's state, when an agent drives the ICE state.
    #[inline]
    pub(crate) const fn agent_state(self) -> Option<AgentState> {
        match IceAgent::from_u32((self.0 & AGENT_BITS) as u32) {
            Some(agent) => Some(AgentState::known(agent, self.0 >> STATE_SHIFT & STATE_BITS)),
            None => None,
        }
    }

    /// The session's facts.
    #[inline]
    pub(crate) const fn facts(self) -> Facts {
        Facts::from_bits(self.0 >> FACTS_SHIFT)
    }

    /// The same source with other facts.
    #[inline]
    pub(crate) const fn with_facts(self, facts: Facts) -> Source {
        Source(self.0 & !(Facts::ALL.bits() << FACTS_SHIFT) | facts.bits() << FACTS_SHIFT)
    }

    /// The ICE state before liveness: as set, or derived from the agent's state, whether
    /// gathering is complete and the facts, restart hold included.
    #[inline]
    pub(crate) const fn reported(self, gathering_complete: bool) -> IceTransportState {
        match self.agent_state() {
            Some(a) => held(
                agents::derive(a, gathering_complete, self.facts()),
                self.facts(),
            ),
            None => IceTransportState::ALL[(self.0 >> STATE_SHIFT & STATE_BITS) as usize],
        }
    }
}

/// Restart continuity, the one place it is written: while a restart begun on a connected or
/// completed transport goes on ([`Facts::RESTARTING`]), a state that means "no connection yet"
/// (new: re-gathering; checking: re-checking) reads connected, because the old candidate pair
/// keeps carrying the media (libwebrtc keeps its transport connected until the new checks
/// conclude, and so do Chromium and Firefox through `restartIce()`). Any other state ends the
/// hold ([`ends_hold`]).
#[inline]
pub(crate) const fn held(read: IceTransportState, facts: Facts) -> IceTransportState {
    match read {
        I::New | I::Checking if facts.has(Facts::RESTARTING) => I::Connected,
        read => read,
    }
}

/// Whether a transport that reads `read` (before [`held`]) has ended a restart: its new checks
/// concluded (connected, completed) or failed (disconnected, failed), or it was closed.
#[inline]
pub(crate) const fn ends_hold(read: IceTransportState) -> bool {
    !matches!(read, I::New | I::Checking)
}

/// What an ICE restart leaves of the facts of a transport that reads `effective`: the session's
/// facts go; the hold begins when the transport read connected or completed.
#[inline]
pub(crate) const fn restarted(facts: Facts, effective: IceTransportState) -> Facts {
    let facts = facts.without(Facts::SESSION);
    match effective {
        I::Connected | I::Completed => facts.with(Facts::RESTARTING),
        _ => facts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::{agent_state, derive};

    const AGENTS: [u32; 2] = [IceAgent::Libnice as u32, IceAgent::Libjuice as u32];

    /// Every agent state, set ICE state and set of facts survives the one byte.
    #[test]
    fn sources_round_trip() {
        for bits in 0..8u8 {
            let f = Facts::from_bits(bits);
            for &s in IceTransportState::ALL {
                let src = Source::direct(s, f);
                assert_eq!(
                    (src.agent_state(), src.facts(), src.reported(true)),
                    (None, f, s)
                );
            }
            for number in AGENTS {
                for n in 0..6 {
                    let a = agent_state(number, n).unwrap();
                    let src = Source::agent(a, f);
                    assert_eq!((src.agent_state(), src.facts()), (Some(a), f));
                    assert_eq!(src.reported(true), held(derive(a, true, f), f));
                    let other = Facts::from_bits(bits ^ 5);
                    assert_eq!(src.with_facts(other), Source::agent(a, other));
                }
            }
        }
    }

    /// Restart continuity: with the hold on, every reading that means "no connection yet" is
    /// connected, every other reading is unchanged and ends the hold; a restart ends the
    /// session's facts and holds only a transport that was up.
    #[test]
    fn a_restart_holds_connected_until_the_checks_conclude() {
        let hold = Facts::RESTARTING;
        for &read in IceTransportState::ALL {
            let waiting = matches!(read, I::New | I::Checking);
            assert_eq!(held(read, hold), if waiting { I::Connected } else { read });
            assert_eq!(held(read, Facts::NONE), read);
            assert_eq!(ends_hold(read), !waiting);
        }
        let all = Facts::REMOTE_END_OF_CANDIDATES.with(Facts::REMOTE_CANDIDATE);
        for number in AGENTS {
            for n in 0..6 {
                let a = agent_state(number, n).unwrap();
                assert_eq!(derive(a, true, all.with(hold)), derive(a, true, all));
                assert_eq!(
                    Source::agent(a, all.with(hold)).reported(true),
                    held(derive(a, true, all), hold)
                );
            }
        }
        assert_eq!(restarted(all, I::Completed), hold);
        assert_eq!(restarted(all, I::Connected), hold);
        for read in [I::New, I::Checking, I::Disconnected, I::Failed, I::Closed] {
            assert_eq!(restarted(all.with(hold), read), Facts::NONE.with(hold));
            assert_eq!(restarted(all, read), Facts::NONE);
        }
    }
}
