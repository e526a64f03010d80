//! ICE agent adapters: an agent's state number and the session's facts -> RTCIceTransportState
//! (pure), and restart continuity.
//!
//! libnice (`NiceComponentState`) and libjuice (`juice_state_t`) both number their states 0..5,
//! like `pcstate_ice_transport_state`, with other meanings. A transport driven by an agent keeps
//! the agent's last state ([`AgentState`]) and the [`Facts`] the application gave: whether the
//! remote signalled end-of-candidates and whether a remote candidate was added. Its ICE state,
//! given by [`derive()`] from those and from whether its own gathering is complete, is recomputed
//! whenever one of them changes. An ICE restart (announced, or detected by [`is_restart`]) clears
//! the session's facts; begun on a transport that read connected or completed, it also holds the
//! transport at connected until the new checks conclude ([`held`]), as libwebrtc does. Everything
//! here is a table lookup: it runs on the update path.
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

use crate::error::ResultCode;
use crate::rules::IceTransportState;

/// An ICE agent whose state numbers pcstate understands (`PCSTATE_ICE_AGENT_*`).
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IceAgent {
    /// libnice: `NiceComponentState` of the transport's one component.
    Libnice = 1,
    /// libjuice: `juice_state_t` of the transport's agent.
    Libjuice = 2,
}

impl IceAgent {
    /// The agent with this C number, or `None` for an unknown agent.
    pub(crate) const fn from_u32(v: u32) -> Option<IceAgent> {
        match v {
            1 => Some(IceAgent::Libnice),
            2 => Some(IceAgent::Libjuice),
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
    /// have not concluded: see [`held`].
    pub(crate) const RESTARTING: Facts = Facts(4);
    /// The facts of one ICE session, which a restart or a detached agent ends.
    pub(crate) const SESSION: Facts = Facts(1 | 2);
    /// No fact.
    pub(crate) const NONE: Facts = Facts(0);
    /// Every fact.
    const ALL: Facts = Facts(1 | 2 | 4);

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
    assert!(Facts::ALL.0 >> (8 - FACTS_SHIFT) == 0);
};

impl Source {
    /// ICE state `s` set directly (held already), with `facts`.
    #[inline]
    pub(crate) const fn direct(s: IceTransportState, facts: Facts) -> Source {
        Source((s as u8) << STATE_SHIFT | facts.0 << FACTS_SHIFT)
    }

    /// Driven by an agent in state `a`, with `facts`.
    #[inline]
    pub(crate) const fn agent(a: AgentState, facts: Facts) -> Source {
        Source(a.agent as u8 | a.state << STATE_SHIFT | facts.0 << FACTS_SHIFT)
    }

    /// The agent's state, when an agent drives the ICE state.
    #[inline]
    pub(crate) const fn agent_state(self) -> Option<AgentState> {
        let state = self.0 >> STATE_SHIFT & STATE_BITS;
        match IceAgent::from_u32((self.0 & AGENT_BITS) as u32) {
            Some(agent) => Some(AgentState { agent, state }),
            None => None,
        }
    }

    /// The session's facts.
    #[inline]
    pub(crate) const fn facts(self) -> Facts {
        Facts(self.0 >> FACTS_SHIFT)
    }

    /// The same source with other facts.
    #[inline]
    pub(crate) const fn with_facts(self, facts: Facts) -> Source {
        Source(self.0 & !(Facts::ALL.0 << FACTS_SHIFT) | facts.0 << FACTS_SHIFT)
    }

    /// The ICE state before liveness: as set, or derived from the agent's state, whether
    /// gathering is complete and the facts (restart hold included).
    #[inline]
    pub(crate) const fn reported(self, gathering_complete: bool) -> IceTransportState {
        match self.agent_state() {
            Some(a) => derive(a, gathering_complete, self.facts()),
            None => IceTransportState::ALL[(self.0 >> STATE_SHIFT & STATE_BITS) as usize],
        }
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
/// complete (gatherer state `complete`), and the facts (restart continuity included). Never
/// `closed`: that comes only from closing the peer.
#[inline]
pub(crate) const fn derive(
    s: AgentState,
    gathering_complete: bool,
    facts: Facts,
) -> IceTransportState {
    let read = s.agent.table()[s.state as usize][facts_index(gathering_complete, facts)];
    held(read, facts)
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

/// The agent's state (before [`held`]): whether it ends a hold.
#[inline]
pub(crate) const fn unheld(
    s: AgentState,
    gathering_complete: bool,
    facts: Facts,
) -> IceTransportState {
    derive(s, gathering_complete, facts.without(Facts::RESTARTING))
}

/// Whether the agent moving from `old` to `new` starts a new ICE session (an ICE restart, or a
/// new agent reported on the same transport): the session's facts then no longer hold. A change of agent is a restart; so is, per agent, a move back to an earlier state of
/// the start-up sequence as listed at [`LIBNICE_RESTART`] and [`LIBJUICE_RESTART`].
#[inline]
pub(crate) const fn is_restart(old: AgentState, new: AgentState) -> bool {
    if old.agent as u32 != new.agent as u32 {
        return true;
    }
    old.agent.restarts()[old.state as usize] & (1 << new.state) != 0
}

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
mod tests {
    use super::*;

    /// What an agent state says, independent of the facts; the agents' names for each number.
    #[derive(Copy, Clone, Debug, PartialEq)]
    enum Says {
        Idle,
        Gathering,
        /// Checks run on candidate pairs that exist.
        CheckingPairs,
        /// Checks run once a remote candidate gives a pair (there may be none yet).
        CheckingOnceCandidates,
        Working,
        Concluded,
        GaveUp,
    }

    /// Each agent's states by number, with the name its header gives them.
    const LIBNICE_STATES: [(&str, Says); 6] = [
        ("NICE_COMPONENT_STATE_DISCONNECTED", Says::Idle),
        ("NICE_COMPONENT_STATE_GATHERING", Says::Gathering),
        ("NICE_COMPONENT_STATE_CONNECTING", Says::CheckingPairs),
        ("NICE_COMPONENT_STATE_CONNECTED", Says::Working),
        ("NICE_COMPONENT_STATE_READY", Says::Concluded),
        ("NICE_COMPONENT_STATE_FAILED", Says::GaveUp),
    ];
    const LIBJUICE_STATES: [(&str, Says); 6] = [
        ("JUICE_STATE_DISCONNECTED", Says::Idle),
        ("JUICE_STATE_GATHERING", Says::Gathering),
        ("JUICE_STATE_CONNECTING", Says::CheckingOnceCandidates),
        ("JUICE_STATE_CONNECTED", Says::Working),
        ("JUICE_STATE_COMPLETED", Says::Concluded),
        ("JUICE_STATE_FAILED", Says::GaveUp),
    ];

    fn states_of(agent: IceAgent) -> &'static [(&'static str, Says)] {
        match agent {
            IceAgent::Libnice => &LIBNICE_STATES,
            IceAgent::Libjuice => &LIBJUICE_STATES,
        }
    }

    /// The W3C reading, stated once: gathering and the remote's end-of-candidates matter only
    /// when the agent has concluded or given up, and both must hold for the terminal W3C states;
    /// checking needs a remote candidate.
    fn w3c(says: Says, gathering_complete: bool, remote_eoc: bool, remote_candidate: bool) -> I {
        let both = gathering_complete && remote_eoc;
        match says {
            Says::Idle | Says::Gathering => I::New,
            Says::CheckingPairs => I::Checking,
            Says::CheckingOnceCandidates if remote_candidate => I::Checking,
            Says::CheckingOnceCandidates => I::New,
            Says::Working => I::Connected,
            Says::Concluded if both => I::Completed,
            Says::Concluded => I::Connected,
            Says::GaveUp if both => I::Failed,
            Says::GaveUp => I::Disconnected,
        }
    }

    const AGENTS: [(u32, IceAgent); 2] = [(1, IceAgent::Libnice), (2, IceAgent::Libjuice)];

    /// The facts from two flags.
    fn facts(remote_eoc: bool, remote_candidate: bool) -> Facts {
        let mut f = Facts::NONE;
        if remote_eoc {
            f = f.with(Facts::REMOTE_END_OF_CANDIDATES);
        }
        if remote_candidate {
            f = f.with(Facts::REMOTE_CANDIDATE);
        }
        f
    }

    fn st(agent: IceAgent, n: u32) -> AgentState {
        agent_state(agent as u32, n).expect("valid")
    }

    #[test]
    fn every_row_of_both_tables() {
        let mut rows = 0;
        for (number, agent) in AGENTS {
            assert_eq!(IceAgent::from_u32(number), Some(agent));
            let states = states_of(agent);
            assert_eq!(agent.state_count() as usize, states.len());
            for (n, (name, says)) in states.iter().enumerate() {
                for bits in 0..8 {
                    let (gc, eoc, rc) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0);
                    let got = derive(st(agent, n as u32), gc, facts(eoc, rc));
                    assert_eq!(
                        got,
                        w3c(*says, gc, eoc, rc),
                        "{name} gc={gc} eoc={eoc} rc={rc}"
                    );
                    assert_ne!(got, I::Closed, "{name}");
                    rows += 1;
                }
            }
        }
        assert_eq!(rows, 2 * 6 * 8);
    }

    /// Every agent state, set ICE state and set of facts survives the one-byte `Source`.
    #[test]
    fn sources_round_trip() {
        for bits in 0..8u8 {
            let f = Facts(bits);
            for &s in IceTransportState::ALL {
                let src = Source::direct(s, f);
                assert_eq!(
                    (src.agent_state(), src.facts(), src.reported(true)),
                    (None, f, s)
                );
            }
            for (number, _) in AGENTS {
                for n in 0..6 {
                    let a = agent_state(number, n).unwrap();
                    let src = Source::agent(a, f);
                    assert_eq!((src.agent_state(), src.facts()), (Some(a), f));
                    assert_eq!(src.reported(true), derive(a, true, f));
                    let other = Facts(bits ^ 5);
                    assert_eq!(src.with_facts(other), Source::agent(a, other));
                }
            }
        }
    }

    /// Restart continuity: with the hold on, every reading that means "no connection yet" is
    /// connected, every other reading is unchanged and ends the hold.
    #[test]
    fn a_restart_holds_connected_until_the_checks_conclude() {
        let hold = Facts::RESTARTING;
        for &read in IceTransportState::ALL {
            let waiting = matches!(read, I::New | I::Checking);
            assert_eq!(held(read, hold), if waiting { I::Connected } else { read });
            assert_eq!(held(read, Facts::NONE), read);
            assert_eq!(ends_hold(read), !waiting);
        }
        for (number, _) in AGENTS {
            for n in 0..6 {
                let s = agent_state(number, n).unwrap();
                let all = facts(true, true);
                assert_eq!(
                    derive(s, true, all.with(hold)),
                    held(derive(s, true, all), hold)
                );
                assert_eq!(unheld(s, true, all.with(hold)), derive(s, true, all));
            }
        }
        // A restart clears the session's facts, and holds only a transport that was up.
        let all = facts(true, true);
        assert_eq!(restarted(all, I::Completed), hold);
        assert_eq!(restarted(all, I::Connected), hold);
        for read in [I::New, I::Checking, I::Disconnected, I::Failed, I::Closed] {
            assert_eq!(restarted(all.with(hold), read), Facts::NONE.with(hold));
            assert_eq!(restarted(all, read), Facts::NONE);
        }
    }

    /// The rows that matter most, spelled out: completed needs both facts; libnice 0 is new.
    #[test]
    fn key_rows_literally() {
        let nice = |n| st(IceAgent::Libnice, n);
        let juice = |n| st(IceAgent::Libjuice, n);
        let d = |s, gc, eoc| derive(s, gc, facts(eoc, false));
        assert_eq!(d(nice(4), true, true), I::Completed);
        assert_eq!(d(nice(4), true, false), I::Connected);
        assert_eq!(d(nice(4), false, true), I::Connected);
        assert_eq!(d(nice(3), true, true), I::Connected);
        assert_eq!(d(nice(0), false, false), I::New);
        assert_eq!(d(nice(1), true, true), I::New);
        assert_eq!(
            d(nice(2), false, false),
            I::Checking,
            "libnice: a pair exists"
        );
        assert_eq!(d(nice(5), true, true), I::Failed);
        assert_eq!(d(nice(5), true, false), I::Disconnected);
        assert_eq!(
            d(juice(2), false, false),
            I::New,
            "libjuice: no remote candidate yet"
        );
        assert_eq!(derive(juice(2), false, facts(false, true)), I::Checking);
        assert_eq!(d(juice(4), true, true), I::Completed);
        assert_eq!(d(juice(4), false, false), I::Connected);
        assert_eq!(d(juice(3), true, true), I::Connected);
        assert_eq!(d(juice(5), false, true), I::Disconnected);
        assert_eq!(d(juice(5), true, true), I::Failed);
    }

    #[test]
    fn bad_numbers() {
        for agent in [0, 3, 4, 255, u32::MAX] {
            for state in [0, 4, 6, u32::MAX] {
                assert_eq!(agent_state(agent, state), Err(ResultCode::InvalidArgument));
            }
            assert_eq!(IceAgent::from_u32(agent), None);
        }
        for (number, agent) in AGENTS {
            for state in [6, 7, 255, 256, 0x1_0004, u32::MAX] {
                assert_eq!(agent_state(number, state), Err(ResultCode::InvalidState));
            }
            for state in 0..6 {
                let s = agent_state(number, state).expect("in range");
                assert_eq!((s.agent, s.state as u32), (agent, state));
            }
        }
    }

    /// Every (old, new) pair of both agents against the list of restarts.
    #[test]
    fn restart_detection() {
        // (old, new) pairs that are restarts; every other pair of the same agent is not.
        let nice: &[(u32, u32)] = &[
            (1, 0),
            (2, 0),
            (2, 1),
            (3, 0),
            (3, 1),
            (4, 0),
            (4, 1),
            (5, 0),
            (5, 1),
        ];
        let juice: &[(u32, u32)] = &[
            (1, 0),
            (2, 0),
            (2, 1),
            (3, 0),
            (3, 1),
            (3, 2),
            (4, 0),
            (4, 1),
            (4, 2),
            (5, 0),
            (5, 1),
            (5, 2),
        ];
        let mut restarts = 0;
        for (agent, list) in [(IceAgent::Libnice, nice), (IceAgent::Libjuice, juice)] {
            for old in 0..6 {
                for new in 0..6 {
                    let want = list.contains(&(old, new));
                    let got = is_restart(st(agent, old), st(agent, new));
                    assert_eq!(got, want, "{agent:?} {old} -> {new}");
                    restarts += got as usize;
                }
            }
        }
        assert_eq!(restarts, nice.len() + juice.len());
        // The libnice moves back to CONNECTING that happen within a session are not restarts.
        for old in [3, 4, 5] {
            assert!(!is_restart(
                st(IceAgent::Libnice, old),
                st(IceAgent::Libnice, 2)
            ));
        }
        // Forward moves never are.
        for (_, agent) in AGENTS {
            for old in 0..6 {
                for new in old..6 {
                    assert!(!is_restart(st(agent, old), st(agent, new)));
                }
            }
        }
        // A different agent on the same transport is a new session, whatever the numbers.
        for a in 0..6 {
            for b in 0..6 {
                assert!(is_restart(
                    st(IceAgent::Libnice, a),
                    st(IceAgent::Libjuice, b)
                ));
                assert!(is_restart(
                    st(IceAgent::Libjuice, a),
                    st(IceAgent::Libnice, b)
                ));
            }
        }
    }

    /// A transport as a caller would keep it: the agent state and the remote end-of-candidates
    /// fact, recomputed on each change, with restarts clearing the fact.
    struct Transport {
        agent: Option<AgentState>,
        eoc: bool,
        gathering_complete: bool,
    }

    impl Transport {
        fn new() -> Self {
            Transport {
                agent: None,
                eoc: false,
                gathering_complete: false,
            }
        }
        fn set(&mut self, agent: IceAgent, n: u32) -> I {
            let new = st(agent, n);
            if self.agent.is_some_and(|old| is_restart(old, new)) {
                self.eoc = false;
            }
            self.agent = Some(new);
            self.ice()
        }
        fn ice(&self) -> I {
            derive(
                self.agent.expect("agent set"),
                self.gathering_complete,
                facts(self.eoc, true),
            )
        }
    }

    #[test]
    fn end_of_candidates_before_and_after_ready() {
        use IceAgent::Libnice as N;
        // After READY: connected until the fact arrives, then completed.
        let mut t = Transport::new();
        let seq: Vec<I> = [0, 1, 2, 3, 4].iter().map(|&n| t.set(N, n)).collect();
        assert_eq!(
            seq,
            [I::New, I::New, I::Checking, I::Connected, I::Connected]
        );
        t.gathering_complete = true;
        assert_eq!(t.ice(), I::Connected);
        t.eoc = true;
        assert_eq!(t.ice(), I::Completed);

        // Before READY: completed as soon as the agent concludes.
        let mut t = Transport::new();
        t.set(N, 1);
        t.eoc = true;
        t.gathering_complete = true;
        assert_eq!(t.set(N, 2), I::Checking);
        assert_eq!(t.set(N, 3), I::Connected);
        assert_eq!(t.set(N, 4), I::Completed);
        // A new pair (READY -> CONNECTED) keeps the fact: completed again at READY.
        assert_eq!(t.set(N, 3), I::Connected);
        assert_eq!(t.set(N, 4), I::Completed);
    }

    #[test]
    fn restart_clears_end_of_candidates() {
        use IceAgent::{Libjuice as J, Libnice as N};
        let mut t = Transport::new();
        t.gathering_complete = true;
        t.eoc = true;
        for n in [1, 2, 3, 4] {
            t.set(N, n);
        }
        assert_eq!(t.ice(), I::Completed);
        assert_eq!(t.set(N, 1), I::New); // nice_agent_restart
        assert!(!t.eoc);
        assert_eq!(t.set(N, 2), I::Checking);
        assert_eq!(t.set(N, 3), I::Connected);
        assert_eq!(t.set(N, 4), I::Connected); // until the remote's new end-of-candidates
        t.eoc = true;
        assert_eq!(t.ice(), I::Completed);
        // FAILED -> CONNECTING within a session keeps it; failed needs both facts.
        assert_eq!(t.set(N, 5), I::Failed);
        assert_eq!(t.set(N, 2), I::Checking);
        assert!(t.eoc);

        // libjuice: a new agent (back to DISCONNECTED) after FAILED.
        let mut t = Transport::new();
        t.gathering_complete = true;
        t.eoc = true;
        for n in [1, 2, 3, 4, 5] {
            t.set(J, n);
        }
        assert_eq!(t.ice(), I::Failed);
        assert_eq!(t.set(J, 0), I::New);
        assert!(!t.eoc);
        for n in [1, 2, 3, 4] {
            t.set(J, n);
        }
        assert_eq!(t.ice(), I::Connected);
    }
}
