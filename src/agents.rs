//! ICE agent adapters: an agent's state number and the session's facts -> RTCIceTransportState
//! (pure).
//!
//! libnice (`NiceComponentState`) and libjuice (`juice_state_t`) both number their states 0..5,
//! like `pcstate_ice_transport_state`, with other meanings. A transport driven by an agent keeps
//! the agent's last state ([`AgentState`]) and the [`Facts`] the application gave: whether the
//! remote signalled end-of-candidates and whether a remote candidate was added. Its ICE state,
//! given by [`derive()`] from those and from whether its own gathering is complete, is recomputed
//! whenever one of them changes. An ICE restart (announced, or detected by [`is_restart`]) ends
//! the session's facts (restart continuity is `ice_source`'s). Everything here is a table lookup:
//! it runs on the update path.
//!
//! Sources read: libnice 0.1.21 (Debian 12's) and git 0.1.23-15-g16b364d2 (`agent/agent.h`,
//! `agent/agent.c`, `agent/conncheck.c`, `agent/component.c`, `agent/stream.c`; the state code is
//! the same in both; only the consent timeout differs, 10 s in 0.1.21 and 30 s from 0.1.22);
//! libjuice v1.7.2 (`include/juice/juice.h`, `src/agent.c`, `src/agent.h`); the W3C webrtc-pc
//! editor's draft of 2026-05 (RTCIceTransportState enumeration description).
//!
//! W3C facts the tables follow: "completed" and "failed" both require that the transport "has
//! finished gathering" and "received an indication that there are no more remote candidates";
//! "failed" is terminal until an ICE restart. A transport that "has finished checking all
//! existing candidate pairs and not found a connection (or consent checks, once successful, have
//! now failed), but it is still gathering and/or waiting for additional remote candidates" is
//! "disconnected".

use crate::constants::{PCSTATE_ICE_AGENT_LIBJUICE, PCSTATE_ICE_AGENT_LIBNICE};
use crate::error::ResultCode;
use crate::rules::IceTransportState;

/// An ICE agent whose state numbers pcstate understands (`PCSTATE_ICE_AGENT_*`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IceAgent {
    /// libnice: `NiceComponentState` of the transport's one component.
    Libnice = PCSTATE_ICE_AGENT_LIBNICE,
    /// libjuice: `juice_state_t` of the transport's agent.
    Libjuice = PCSTATE_ICE_AGENT_LIBJUICE,
}

impl IceAgent {
    /// The agent with this C number, or `None` for an unknown agent.
    pub(crate) const fn from_u32(v: u32) -> Option<IceAgent> {
        match v {
            PCSTATE_ICE_AGENT_LIBNICE => Some(IceAgent::Libnice),
            PCSTATE_ICE_AGENT_LIBJUICE => Some(IceAgent::Libjuice),
            _ => None,
        }
    }

    /// How many state numbers the agent defines (valid numbers are `0..state_count`).
    /// libnice: 6 (`NICE_COMPONENT_STATE_LAST` = 6 is a dummy); libjuice: 6.
    pub(crate) const fn state_count(self) -> u32 {
        self.table().len() as u32
    }

    /// The agent's table: `[agent state][facts]`, facts as in [`facts_index`].
    const fn table(self) -> &'static [[IceTransportState; COLUMNS]] {
        match self {
            IceAgent::Libnice => &LIBNICE,
            IceAgent::Libjuice => &LIBJUICE,
        }
    }

    /// Bit `n` of entry `old` is set when `old -> n` is an ICE restart.
    const fn restarts(self) -> &'static [u8] {
        match self {
            IceAgent::Libnice => &LIBNICE_RESTART,
            IceAgent::Libjuice => &LIBJUICE_RESTART,
        }
    }
}

/// A valid state number of a known agent (made only by [`agent_state`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AgentState {
    agent: IceAgent,
    state: u8,
}

impl AgentState {
    /// A state number known to be valid for `agent` (one taken apart from a valid `AgentState`).
    #[inline]
    pub(crate) const fn known(agent: IceAgent, state: u8) -> AgentState {
        debug_assert!((state as u32) < agent.state_count());
        AgentState { agent, state }
    }

    /// The agent's C number.
    #[inline]
    pub(crate) const fn agent_number(self) -> u8 {
        self.agent as u8
    }

    /// The agent's state number.
    #[inline]
    pub(crate) const fn state(self) -> u8 {
        self.state
    }
}

/// Checks an (agent, agent state) pair from C. Unknown agent: `InvalidArgument` (checked first);
/// state number out of the agent's range: `InvalidState`.
pub(crate) const fn agent_state(agent: u32, state: u32) -> Result<AgentState, ResultCode> {
    let Some(agent) = IceAgent::from_u32(agent) else {
        return Err(ResultCode::InvalidArgument);
    };
    if state >= agent.state_count() {
        return Err(ResultCode::InvalidState);
    }
    Ok(AgentState {
        agent,
        state: state as u8,
    })
}

/// What the application told pcstate about a transport's ICE session, besides the agent's
/// state (bits of one byte).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Facts(u8);

impl Facts {
    /// The remote signalled end-of-candidates.
    pub(crate) const REMOTE_END_OF_CANDIDATES: Facts = Facts(1);
    /// The application added a remote candidate.
    pub(crate) const REMOTE_CANDIDATE: Facts = Facts(2);
    /// An ICE restart began while the transport read connected or completed, and its new checks
    /// have not concluded: see `ice_source::held`.
    pub(crate) const RESTARTING: Facts = Facts(4);
    /// The facts of one ICE session, which a restart or a detached agent ends.
    pub(crate) const SESSION: Facts = Facts(1 | 2);
    /// No fact.
    pub(crate) const NONE: Facts = Facts(0);
    /// Every fact.
    pub(crate) const ALL: Facts = Facts(1 | 2 | 4);

    /// The facts as bits (`ALL` at most).
    #[inline]
    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    /// The facts of these bits (those outside `ALL` dropped).
    #[inline]
    pub(crate) const fn from_bits(bits: u8) -> Facts {
        Facts(bits & Facts::ALL.0)
    }

    /// Whether every fact of `f` holds.
    #[inline]
    pub(crate) const fn has(self, f: Facts) -> bool {
        self.0 & f.0 == f.0
    }

    /// These facts with those of `f` added.
    #[inline]
    pub(crate) const fn with(self, f: Facts) -> Facts {
        Facts(self.0 | f.0)
    }

    /// These facts without those of `f`.
    #[inline]
    pub(crate) const fn without(self, f: Facts) -> Facts {
        Facts(self.0 & !f.0)
    }
}

/// The column of a table row: whether gathering is complete, whether the remote signalled
/// end-of-candidates, whether a remote candidate was added.
const fn facts_index(gathering_complete: bool, facts: Facts) -> usize {
    gathering_complete as usize
        | (facts.has(Facts::REMOTE_END_OF_CANDIDATES) as usize) << 1
        | (facts.has(Facts::REMOTE_CANDIDATE) as usize) << 2
}

/// How many fact combinations a table row has.
const COLUMNS: usize = 8;

/// The transport's RTCIceTransportState from its agent's state, whether its own gathering is
/// complete (gatherer state `complete`), and the session's facts; before restart continuity
/// (`ice_source::held`). Never `closed`: that comes only from closing the peer.
#[inline]
pub(crate) const fn derive(
    s: AgentState,
    gathering_complete: bool,
    facts: Facts,
) -> IceTransportState {
    s.agent.table()[s.state as usize][facts_index(gathering_complete, facts)]
}

/// Whether the agent moving from `old` to `new` starts a new ICE session (an ICE restart, or a
/// new agent reported on the same transport): the session's facts then no longer hold. A change
/// of agent is a restart; so is, per agent, a move back to an earlier state of the start-up
/// sequence as listed at [`LIBNICE_RESTART`] and [`LIBJUICE_RESTART`].
#[inline]
pub(crate) const fn is_restart(old: AgentState, new: AgentState) -> bool {
    if old.agent as u32 != new.agent as u32 {
        return true;
    }
    old.agent.restarts()[old.state as usize] & (1 << new.state) != 0
}

/// The state an agent in `a` is put in when the application announces an ICE restart
/// (`pcstate_transport_restart_ice`): its first state (DISCONNECTED), from which no move counts as
/// a restart, unless it already went back to gathering (the restart is under way: it stays).
#[inline]
pub(crate) const fn announced_restart(a: AgentState) -> AgentState {
    if a.state <= GATHERING {
        a
    } else {
        AgentState::known(a.agent, 0)
    }
}

/// Whether `new` skips the restart that an announced restart left the agent waiting for in its
/// first state: an agent that really restarts reports GATHERING (libnice from inside
/// `nice_agent_restart`; a new libjuice agent from inside `juice_gather_candidates`); one that
/// goes on to CONNECTING or beyond without it never restarted (the restart was rolled back), and
/// the hold ends.
#[inline]
pub(crate) const fn skips_restart(old: AgentState, new: AgentState) -> bool {
    old.agent as u32 == new.agent as u32 && old.state == 0 && new.state > GATHERING
}

/// GATHERING's number in both agents' tables.
const GATHERING: u8 = 1;

use IceTransportState as I;

/// A row whose reading does not depend on whether a remote candidate was added: the reading by
/// (gathering complete, remote end-of-candidates), columns ordered as [`facts_index`]: (neither),
/// (gathering complete), (remote end-of-candidates), (both).
const fn any_candidates(r: [I; 4]) -> [I; COLUMNS] {
    [r[0], r[1], r[2], r[3], r[0], r[1], r[2], r[3]]
}

/// The facts-dependent rows: completed and failed need both gathering complete and the remote's
/// end-of-candidates.
const CONCLUDED: [I; COLUMNS] =
    any_candidates([I::Connected, I::Connected, I::Connected, I::Completed]);
const GAVE_UP: [I; COLUMNS] =
    any_candidates([I::Disconnected, I::Disconnected, I::Disconnected, I::Failed]);
/// An agent state that runs checks whether or not a candidate pair exists: checking once a
/// remote candidate was added, new before (W3C "checking" needs a remote candidate; "new" is
/// "waiting for remote candidates ... and has not yet started checking").
const CHECKS_ONCE_A_REMOTE_CANDIDATE: [I; COLUMNS] = [
    I::New,
    I::New,
    I::New,
    I::New,
    I::Checking,
    I::Checking,
    I::Checking,
    I::Checking,
];

/// libnice `NiceComponentState` -> RTCIceTransportState. Transitions cited are from
/// `agent_signal_component_state_change` (agent.c), whose assertion lists every allowed one.
///
/// - 0 `DISCONNECTED` ("No activity scheduled") -> **new**. Only the initial state: set in
///   `nice_component_init` (component.c) and never entered again (no transition leads back to
///   it): nothing has started, which is W3C new, not disconnected (checks ran and found or kept
///   nothing). GStreamer's nicetransport.c maps it to disconnected, a row the
///   `component-state-changed` signal never reaches.
/// - 1 `GATHERING` -> **new**. Entered by `nice_agent_gather_candidates` (agent.c) and by
///   `nice_stream_restart` (stream.c, ICE restart); left for CONNECTING as soon as the first
///   candidate pair exists (`priv_conn_check_add_for_candidate_pair_matched`, conncheck.c), so
///   it means "no pair to check yet": W3C new ("gathering and/or waiting for remote candidates,
///   and has not yet started checking"), whatever the facts.
/// - 2 `CONNECTING` -> **checking**. A pair exists (a remote candidate was added or a
///   peer-reflexive one discovered) and no pair works yet: W3C checking ("may also still be
///   gathering"). Also entered from CONNECTED when the selected pair's TCP socket goes away
///   (`conn_check_prune_socket`) and from FAILED when new pairs come (W3C checking also covers
///   "consent checks have failed on all previously successful candidate pairs").
/// - 3 `CONNECTED` ("At least one working candidate pair") -> **connected**: checks are still
///   running (libnice goes READY only once no check is left, below), which is W3C connected
///   ("found a usable connection, but is still checking other candidate pairs").
/// - 4 `READY` ("ICE concluded, candidate pair selection is now final") -> **completed** when
///   gathering is complete and the remote signalled end-of-candidates, else **connected**.
///   libnice enters READY when a pair is nominated and no check is pending
///   (`conn_check_update_check_list_state_for_ready`, conncheck.c) without looking at either
///   fact, whereas W3C completed needs both. READY goes back to CONNECTED when a new pair is
///   formed or a failed higher-priority pair is re-checked (conncheck.c).
/// - 5 `FAILED` -> **failed** when gathering is complete and the remote signalled
///   end-of-candidates, else **disconnected**. libnice enters FAILED when every pair failed and
///   it stayed idle for `idle-timeout` (5 s; `priv_update_check_list_failed_components`,
///   conncheck.c), on consent loss (`priv_conn_remote_consent_tick_agent_locked`), consent
///   revocation, or a dead selected socket; since 0.1.17 it never waits for
///   `nice_agent_peer_candidate_gathering_done` (the `peer_gathering_done` flag is no longer
///   read), and it leaves FAILED for CONNECTING when new remote candidates arrive. Without the
///   two facts that is W3C's transient disconnected ("finished checking all existing candidate
///   pairs and not found a connection (or consent checks ... have now failed), but it is still
///   gathering and/or waiting for additional remote candidates"); with them, W3C failed.
/// - 6 `LAST` is a dummy: out of range.
pub(crate) const LIBNICE: [[I; COLUMNS]; 6] = [
    [I::New; COLUMNS],       // 0 DISCONNECTED
    [I::New; COLUMNS],       // 1 GATHERING
    [I::Checking; COLUMNS],  // 2 CONNECTING: a pair exists
    [I::Connected; COLUMNS], // 3 CONNECTED
    CONCLUDED,               // 4 READY
    GAVE_UP,                 // 5 FAILED
];

/// libjuice `juice_state_t` -> RTCIceTransportState. Transitions cited are the
/// `agent_change_state` calls in src/agent.c; libjuice never re-enters its first three states.
///
/// - 0 `JUICE_STATE_DISCONNECTED` -> **new**: the initial state (`agent_create`), never entered
///   again.
/// - 1 `JUICE_STATE_GATHERING` -> **new**: set at the start of `agent_gather_candidates` and
///   left in the same call once the host candidates exist.
/// - 2 `JUICE_STATE_CONNECTING` -> **checking** once the application noted a remote candidate,
///   **new** before. libjuice enters it at the end of `agent_gather_candidates`, once the host
///   candidates exist, whether or not a remote candidate is known (server-reflexive and relayed
///   gathering go on); W3C checking needs a remote candidate, which the state number cannot
///   tell. Checks run here once pairs exist (`agent_add_remote_candidate`,
///   `agent_set_remote_description`).
/// - 3 `JUICE_STATE_CONNECTED` -> **connected**: a pair succeeded and is selected but none is
///   nominated yet (`agent_bookkeeping`): W3C connected.
/// - 4 `JUICE_STATE_COMPLETED` -> **completed** when gathering is complete and the remote
///   signalled end-of-candidates, else **connected**. libjuice enters it as soon as a pair is
///   nominated (`agent_bookkeeping`, "Completed"), without waiting for other checks or either
///   fact.
/// - 5 `JUICE_STATE_FAILED` -> **failed** when gathering is complete and the remote signalled
///   end-of-candidates, else **disconnected** (same W3C reading as libnice FAILED). Entered when
///   the nominated pair fails (consent expired after 30 s, `CONSENT_TIMEOUT` in agent.h), when
///   the RFC 8863 connectivity timer (`ICE_PAC_TIMEOUT`, 39.5 s) expires with no pair left, or
///   on a connection error (`agent_conn_fail`); `agent_bookkeeping` keeps running afterwards,
///   so a late success can still move it to CONNECTED or COMPLETED.
pub(crate) const LIBJUICE: [[I; COLUMNS]; 6] = [
    [I::New; COLUMNS],              // 0 DISCONNECTED
    [I::New; COLUMNS],              // 1 GATHERING
    CHECKS_ONCE_A_REMOTE_CANDIDATE, // 2 CONNECTING
    [I::Connected; COLUMNS],        // 3 CONNECTED
    CONCLUDED,                      // 4 COMPLETED
    GAVE_UP,                        // 5 FAILED
];

/// The set of states `s` with `s < before`, as a bitmask.
const fn below(before: u8) -> u8 {
    (1u8 << before) - 1
}

/// libnice restarts, by old state: a move back to GATHERING from CONNECTING, CONNECTED, READY or
/// FAILED (`nice_agent_restart` -> `nice_stream_restart` signals GATHERING for every component;
/// FAILED -> GATHERING also happens when `nice_agent_gather_candidates` is called again on a
/// failed component, which is taken as a restart too: the stricter reading, it only delays
/// "completed" until the remote's next end-of-candidates), or back to DISCONNECTED from any
/// later state (libnice never does that; it means a new component on this transport). Moves back
/// to CONNECTING are not restarts: libnice makes them within a session (CONNECTED -> CONNECTING
/// when a TCP socket dies, FAILED -> CONNECTING when new remote candidates arrive), and the
/// remote's end-of-candidates still holds.
pub(crate) const LIBNICE_RESTART: [u8; 6] = [
    0,        // from DISCONNECTED: never
    below(1), // from GATHERING: -> DISCONNECTED
    below(2), // from CONNECTING: -> DISCONNECTED, GATHERING
    below(2), // from CONNECTED
    below(2), // from READY
    below(2), // from FAILED
];

/// libjuice restarts, by old state: any move back to DISCONNECTED, GATHERING or CONNECTING.
/// libjuice itself never moves back (one `agent_gather_candidates` per agent; a changed remote
/// ufrag/pwd is refused: "ICE restart is not supported", agent.c), so such a move means the
/// application replaced the agent, which is how a libjuice user restarts ICE.
pub(crate) const LIBJUICE_RESTART: [u8; 6] = [
    0,        // from DISCONNECTED: never
    below(1), // from GATHERING: -> DISCONNECTED
    below(2), // from CONNECTING: -> DISCONNECTED, GATHERING
    below(3), // from CONNECTED: -> DISCONNECTED, GATHERING, CONNECTING
    below(3), // from COMPLETED
    below(3), // from FAILED
];

// Every row has one entry per fact combination, and every restart mask stays within the agent.
const _: () = {
    let agents = [IceAgent::Libnice, IceAgent::Libjuice];
    let mut a = 0;
    while a < agents.len() {
        let n = agents[a].state_count();
        assert!(agents[a].restarts().len() as u32 == n && n <= 8);
        let mut s = 0;
        while s < n as usize {
            assert!(agents[a].restarts()[s] as u32 >> n == 0);
            s += 1;
        }
        a += 1;
    }
};

#[cfg(test)]
mod tests;
