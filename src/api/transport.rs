//! `Transport`: one of a peer's transports, whose ICE, DTLS and gatherer states the application
//! reports.

use super::{Error, PeerConnection};
use crate::agents;
use crate::rules::{DtlsTransportState, GathererState, IceTransportState, TransportStates};

/// One transport of a [`PeerConnection`] (an RTCDtlsTransport with its RTCIceTransport), borrowed
/// from its peer: its id and the peer. Ids are 1, 2, 3, ... per peer and never reused; a
/// transport is found again by id with [`PeerConnection::transport`]. Copying it copies the
/// reference, not the transport.
///
/// A transport cannot outlive its peer:
///
/// ```compile_fail,E0597
/// use pcstate::{PeerConnection, Profile};
///
/// let t = {
///     let pc = PeerConnection::new(Profile::W3c)?;
///     pc.add_transport()?
/// };
/// # Ok::<(), pcstate::Error>(())
/// ```
#[derive(Copy, Clone)]
pub struct Transport<'a> {
    pc: &'a PeerConnection,
    id: u32,
}

/// An ICE agent whose own state numbers pcstate reads (`PCSTATE_ICE_AGENT_*`); the tables are in
/// `docs/feeding.md`.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IceAgent {
    /// libnice: `NiceComponentState` of the transport's component (DISCONNECTED 0, GATHERING 1,
    /// CONNECTING 2, CONNECTED 3, READY 4, FAILED 5).
    Libnice,
    /// libjuice: `juice_state_t` (DISCONNECTED 0, GATHERING 1, CONNECTING 2, CONNECTED 3,
    /// COMPLETED 4, FAILED 5).
    Libjuice,
}

impl IceAgent {
    fn engine(self) -> agents::IceAgent {
        match self {
            IceAgent::Libnice => agents::IceAgent::Libnice,
            IceAgent::Libjuice => agents::IceAgent::Libjuice,
        }
    }
}

/// New states for [`Transport::set_states`]: `None` keeps the transport's current state.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StateUpdate {
    /// The ICE state to set (detaching the transport from its ICE agent), or `None`.
    pub ice: Option<IceTransportState>,
    /// The DTLS state to set, or `None`.
    pub dtls: Option<DtlsTransportState>,
    /// The gatherer state to set, or `None`.
    pub gatherer: Option<GathererState>,
}

impl From<TransportStates> for StateUpdate {
    fn from(s: TransportStates) -> Self {
        StateUpdate {
            ice: Some(s.ice),
            dtls: Some(s.dtls),
            gatherer: Some(s.gatherer),
        }
    }
}

impl<'a> Transport<'a> {
    pub(crate) fn new(pc: &'a PeerConnection, id: u32) -> Self {
        Transport { pc, id }
    }

    /// The transport's id within its peer (0 only for a transport added after close with
    /// `ignore_after_close`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The peer it belongs to.
    pub fn peer(&self) -> &'a PeerConnection {
        self.pc
    }

    /// Sets the ICE state, detaching the transport from an ICE agent; setting it again ends a
    /// failed liveness reading.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport) (removed);
    /// [`Closed`](crate::ResultCode::Closed); [`NoMemory`](crate::ResultCode::NoMemory).
    pub fn set_ice_state(&self, state: IceTransportState) -> Result<(), Error> {
        let id = self.id;
        self.pc.update(|p| Ok(((), p.state.set_ice(id, state)?)))
    }

    /// Sets the DTLS state.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport);
    /// [`Closed`](crate::ResultCode::Closed).
    pub fn set_dtls_state(&self, state: DtlsTransportState) -> Result<(), Error> {
        let id = self.id;
        self.pc.update(|p| Ok(((), p.state.set_dtls(id, state)?)))
    }

    /// Sets the ICE gatherer state; an agent-driven ICE state is recomputed in the same commit.
    ///
    /// Errors: as [`set_ice_state`](Self::set_ice_state).
    pub fn set_gatherer_state(&self, state: GathererState) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .update(|p| Ok(((), p.state.set_gatherer(id, state)?)))
    }

    /// Sets several states at once: one commit, events only for the net change. A given ICE
    /// state is set as by [`set_ice_state`](Self::set_ice_state); a kept one stays
    /// agent-derived.
    ///
    /// Errors: as [`set_ice_state`](Self::set_ice_state).
    pub fn set_states(&self, states: StateUpdate) -> Result<(), Error> {
        let id = self.id;
        self.pc.update(|p| {
            let b = p
                .state
                .set_states(id, states.ice, states.dtls, states.gatherer)?;
            Ok(((), b))
        })
    }

    /// Reports the state of the ICE agent driving the transport (`agent_state` is the agent's
    /// own state number); the ICE state is then derived from it, the gatherer state, the
    /// remote's end-of-candidates and whether a remote candidate was noted (libjuice CONNECTING
    /// reads checking only once [`note_remote_candidate`](Self::note_remote_candidate) was
    /// called, new before). An agent going back to an earlier state is an ICE restart, held as
    /// [`restart_ice`](Self::restart_ice) holds it. [`set_ice_state`](Self::set_ice_state)
    /// detaches the agent again, ending its run's facts. The tables are in `docs/feeding.md`.
    ///
    /// Errors: [`InvalidState`](crate::ResultCode::InvalidState) (number out of the agent's
    /// range); [`UnknownTransport`](crate::ResultCode::UnknownTransport);
    /// [`Closed`](crate::ResultCode::Closed); [`NoMemory`](crate::ResultCode::NoMemory).
    pub fn set_ice_agent_state(&self, agent: IceAgent, agent_state: u32) -> Result<(), Error> {
        let id = self.id;
        let a = agents::agent_state(agent.engine() as u32, agent_state).map_err(Error::new)?;
        self.pc
            .update(|p| Ok(((), p.state.set_agent_state(id, a)?)))
    }

    /// Records that the remote signalled the end of its candidates for this transport (kept
    /// until the ICE session ends: [`restart_ice`](Self::restart_ice), a restart seen in the
    /// agent's states, or the agent detached). Idempotent.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport);
    /// [`Closed`](crate::ResultCode::Closed); [`NoMemory`](crate::ResultCode::NoMemory).
    pub fn set_remote_end_of_candidates(&self) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .update(|p| Ok(((), p.state.set_remote_end_of_candidates(id)?)))
    }

    /// Records that a remote candidate was given to the transport's ICE agent
    /// (`nice_agent_set_remote_candidates`, `juice_add_remote_candidate`, `addIceCandidate`): an
    /// agent state that runs checks before any pair exists (libjuice CONNECTING) reads checking
    /// from then on, new before; libnice CONNECTING reads checking either way. Kept until the ICE
    /// session ends (as [`set_remote_end_of_candidates`](Self::set_remote_end_of_candidates)).
    /// Idempotent.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport);
    /// [`Closed`](crate::ResultCode::Closed); [`NoMemory`](crate::ResultCode::NoMemory).
    pub fn note_remote_candidate(&self) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .update(|p| Ok(((), p.state.note_remote_candidate(id)?)))
    }

    /// Says that an ICE restart began on the transport (`restartIce()`, an ICE-restart offer or
    /// answer applied); call it before restarting the agent and before the new session's remote
    /// candidates. The session's facts end. A transport that reads connected or completed then
    /// reads connected while its agent gathers and checks again, until the agent reports a state
    /// that reads connected, completed, disconnected or failed (for an ICE state set directly:
    /// until one of those is set), as browsers keep a transport connected through
    /// `restartIce()`. With liveness on, silence still makes it disconnected and failed. The
    /// steps per agent are in `docs/feeding.md`.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport);
    /// [`Closed`](crate::ResultCode::Closed); [`NoMemory`](crate::ResultCode::NoMemory).
    pub fn restart_ice(&self) -> Result<(), Error> {
        let id = self.id;
        self.pc.update(|p| Ok(((), p.state.restart_ice(id)?)))
    }

    /// Notes that something arrived on the transport at `now_ns` (call it per received packet;
    /// see [`PeerConnection::set_liveness`]). Does nothing when liveness is off.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport);
    /// [`Closed`](crate::ResultCode::Closed); [`NoMemory`](crate::ResultCode::NoMemory).
    pub fn note_alive(&self, now_ns: u64) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .update(|p| Ok(((), p.state.note_alive(id, now_ns)?)))
    }

    /// The effective states: ICE after agent derivation and liveness (what the aggregates use);
    /// ICE and DTLS read closed once the peer is closed.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport).
    pub fn states(&self) -> Result<TransportStates, Error> {
        let id = self.id;
        self.pc.read(|p| p.state.transport(id)).map_err(Error::new)
    }

    /// The states as reported: ICE as set or as derived from its agent, before liveness.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport).
    pub fn reported_states(&self) -> Result<TransportStates, Error> {
        let id = self.id;
        self.pc.read(|p| p.state.reported(id)).map_err(Error::new)
    }

    /// Removes the transport; the aggregates are recomputed at once.
    ///
    /// Errors: [`UnknownTransport`](crate::ResultCode::UnknownTransport);
    /// [`Closed`](crate::ResultCode::Closed).
    pub fn remove(self) -> Result<(), Error> {
        self.pc.remove_transport(self.id)
    }
}

impl std::fmt::Debug for Transport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").field("id", &self.id).finish()
    }
}
