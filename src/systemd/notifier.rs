//! Sends `KEY=VALUE` lines to systemd's notify socket: one datagram each, over std's `UnixDatagram`.
//!
//! A few lines of our own rather than the sd-notify crate, which connects to `$NOTIFY_SOCKET`
//! verbatim and so cannot reach an `@abstract` address. systemd takes the sender's pid from
//! the kernel (SCM_CREDENTIALS), so with `NotifyAccess=main` any thread of the bot may send.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use super::address::{AddressError, NotifyAddress};

/// An unbound datagram socket and where to send to. Non-blocking: a full queue at systemd
/// drops that message rather than stalling the sender.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    to: SocketAddr,
    address: NotifyAddress,
}

/// Why a `Notifier` could not be made.
#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error("could not create a Unix datagram socket")]
    Socket(#[source] io::Error),
}

impl Notifier {
    /// A notifier for `$NOTIFY_SOCKET`, or `None` when it is unset (not started by systemd).
    pub fn from_env() -> Result<Option<Self>, NotifierError> {
        match std::env::var_os("NOTIFY_SOCKET") {
            None => Ok(None),
            Some(value) => Self::new(NotifyAddress::parse(&value)?).map(Some),
        }
    }

    pub fn new(address: NotifyAddress) -> Result<Self, NotifierError> {
        let to = address.socket_addr()?;
        let socket = UnixDatagram::unbound().map_err(NotifierError::Socket)?;
        socket
            .set_nonblocking(true)
            .map_err(NotifierError::Socket)?;
        Ok(Self {
            socket,
            to,
            address,
        })
    }

    pub fn address(&self) -> &NotifyAddress {
        &self.address
    }

    /// Send one message (newline-separated `KEY=VALUE` lines) as one datagram. The socket is
    /// named on every send, so a manager that re-created it (`daemon-reexec`) still hears us.
    pub fn send(&self, message: &str) -> io::Result<()> {
        let sent = self.socket.send_to_addr(message.as_bytes(), &self.to)?;
        if sent < message.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the notification was cut short",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_arrives_as_one_datagram_on_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let systemd = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::new(NotifyAddress::Path(path)).unwrap();
        notifier.send("READY=1\nSTATUS=up").unwrap();
        let mut buf = [0u8; 256];
        let n = systemd.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=up");
    }

    #[test]
    fn a_message_arrives_on_an_abstract_name() {
        use std::os::linux::net::SocketAddrExt as _;
        let name = format!("chatops-bot-notifier-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let systemd = UnixDatagram::bind_addr(&addr).unwrap();
        let notifier = Notifier::new(NotifyAddress::Abstract(name.into_bytes())).unwrap();
        notifier.send("WATCHDOG=1").unwrap();
        let mut buf = [0u8; 64];
        let n = systemd.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }

    #[test]
    fn nobody_listening_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = Notifier::new(NotifyAddress::Path(dir.path().join("gone"))).unwrap();
        assert!(notifier.send("READY=1").is_err());
    }
}
