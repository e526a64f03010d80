//! The Rust API's error: a C result code other than OK, with the C message.

use std::fmt;

use crate::error::ResultCode;

/// Why a call failed: the [`ResultCode`] the same C call returns (never [`ResultCode::Ok`]).
/// As in C, a call that fails changes nothing.
///
/// ```
/// use pcstate::{PeerConnection, Profile, ResultCode};
///
/// let pc = PeerConnection::new(Profile::W3c)?;
/// let err = pc.transport(7).unwrap_err();
/// assert_eq!(err.code(), ResultCode::UnknownTransport);
/// assert_eq!(err.to_string(), "unknown transport (0, never added to this peer, or removed)");
/// # Ok::<(), pcstate::Error>(())
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Error(ResultCode);

impl Error {
    /// Wraps a failed call's code.
    pub(crate) fn new(code: ResultCode) -> Self {
        debug_assert_ne!(code, ResultCode::Ok);
        Error(code)
    }

    /// The result code, as the C API returns it.
    pub fn code(self) -> ResultCode {
        self.0
    }

    /// The C API's message for the code (`pcstate_result_message`).
    pub fn message(self) -> &'static str {
        ResultCode::message_with_nul(self.0 as u32)
            .to_str()
            .unwrap_or("unknown result code")
    }
}

impl From<Error> for ResultCode {
    fn from(e: Error) -> Self {
        e.0
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?}: {})", self.0, self.message())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}
