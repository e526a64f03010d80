//! The agents' tables against the W3C reading stated once, restart detection, and a transport
//! as a caller keeps it.

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
