//! The one result enum returned by every fallible C call (`pcstate_result`, a `uint32_t`).

/// The result of a pcstate call. Every function that can fail returns one of these (a `uint32_t`
/// in C before C23); on any result but `PCSTATE_RESULT_OK` nothing was changed and no
/// out-parameter was written.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL: an out-parameter, or an input such as the states
    /// given to `pcstate_transport_set_states`.
    NullArgument = 1,
    /// The peer handle is 0, was never issued, or has been freed.
    InvalidHandle = 2,
    /// The transport id is 0, was never added to this peer, or has been removed.
    UnknownTransport = 3,
    /// A state value is outside its enum.
    InvalidState = 4,
    /// An argument is not one the call accepts: an unknown profile, flag bit or ICE agent, a
    /// number outside the call's range (event limit, liveness durations), or a peer without the
    /// flag the call needs (event queue, history).
    InvalidArgument = 5,
    /// The peer is closed: transports can no longer be added, removed or updated.
    Closed = 6,
    /// No event is queued.
    Empty = 7,
    /// A bug inside pcstate was caught at the API boundary; the process keeps running.
    Panic = 8,
    /// A limit was reached: too many live peers (16M), too many transports on one peer (65,535),
    /// the peer's 2^32 - 1 transport ids used up, or no event fd (eventfd or pipe) could be had (the process's or
    /// the system's file descriptor limit).
    Limit = 9,
    /// The call would wait for a callback that is itself waiting for this thread's callback.
    WouldDeadlock = 10,
    /// Memory ran out; nothing was changed.
    NoMemory = 11,
}

impl ResultCode {
    /// Every code, in numeric order.
    pub const ALL: &'static [ResultCode] = &[
        ResultCode::Ok,
        ResultCode::NullArgument,
        ResultCode::InvalidHandle,
        ResultCode::UnknownTransport,
        ResultCode::InvalidState,
        ResultCode::InvalidArgument,
        ResultCode::Closed,
        ResultCode::Empty,
        ResultCode::Panic,
        ResultCode::Limit,
        ResultCode::WouldDeadlock,
        ResultCode::NoMemory,
    ];

    /// A short static description of a result code; unknown codes get a text that says so.
    pub fn message_with_nul(code: u32) -> &'static std::ffi::CStr {
        match Self::ALL.get(code as usize) {
            Some(ResultCode::Ok) => c"ok",
            Some(ResultCode::NullArgument) => c"a required pointer argument (input or output) was NULL",
            Some(ResultCode::InvalidHandle) => c"invalid peer handle (0, never issued, or freed)",
            Some(ResultCode::UnknownTransport) => {
                c"unknown transport (0, never added to this peer, or removed)"
            }
            Some(ResultCode::InvalidState) => c"state value out of range for its enum",
            Some(ResultCode::InvalidArgument) => {
                c"invalid argument (unknown profile, flag bit or ICE agent, number out of range, or the peer lacks the flag the call needs)"
            }
            Some(ResultCode::Closed) => c"the peer is closed",
            Some(ResultCode::Empty) => c"no event is queued",
            Some(ResultCode::Panic) => c"internal error: a panic was caught at the API boundary",
            Some(ResultCode::Limit) => {
                c"limit reached (too many live peers, too many transports on one peer or transport ids used up, or no event fd could be had)"
            }
            Some(ResultCode::WouldDeadlock) => {
                c"the call would wait for a callback that is waiting for this thread"
            }
            Some(ResultCode::NoMemory) => c"out of memory; nothing was changed",
            None => c"unknown result code",
        }
    }
}

/// What internal operations return.
pub type Result<T> = std::result::Result<T, ResultCode>;
