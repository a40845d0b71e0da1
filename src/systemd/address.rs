//! What systemd puts in the environment: `$NOTIFY_SOCKET` (a path or an `@abstract` name) and `$WATCHDOG_USEC`/`$WATCHDOG_PID`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where systemd listens for notifications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyAddress {
    /// A socket file, e.g. `/run/systemd/notify`.
    Path(PathBuf),
    /// A Linux abstract socket name: `@name` in the variable, the `@` standing for a NUL byte.
    Abstract(Vec<u8>),
}

/// Why `$NOTIFY_SOCKET` or the watchdog variables cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("NOTIFY_SOCKET={0:?} is neither an absolute path nor an @abstract name (vsock is not supported)")]
    Unsupported(String),
    #[error("NOTIFY_SOCKET={0:?} is longer than a Unix socket address allows")]
    TooLong(String),
    #[error("WATCHDOG_USEC={0:?} is not a positive number of microseconds")]
    WatchdogUsec(String),
    #[error("WATCHDOG_PID={0:?} is not a process id")]
    WatchdogPid(String),
}

impl NotifyAddress {
    /// Reads `$NOTIFY_SOCKET`'s value.
    pub fn parse(value: &OsStr) -> Result<Self, AddressError> {
        let bytes = value.as_bytes();
        match bytes.first() {
            Some(b'/') => Ok(Self::Path(PathBuf::from(value))),
            Some(b'@') if bytes.len() > 1 => Ok(Self::Abstract(bytes[1..].to_vec())),
            _ => Err(AddressError::Unsupported(
                value.to_string_lossy().into_owned(),
            )),
        }
    }

    /// The address to send datagrams to.
    pub fn socket_addr(&self) -> Result<SocketAddr, AddressError> {
        let addr = match self {
            Self::Path(path) => SocketAddr::from_pathname(path),
            Self::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt as _;
                SocketAddr::from_abstract_name(name)
            }
        };
        addr.map_err(|_| AddressError::TooLong(self.to_string()))
    }
}

impl std::fmt::Display for NotifyAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
        }
    }
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, when the watchdog is on and meant
/// for this process (`$WATCHDOG_PID` unset or `own_pid`), as `sd_watchdog_enabled` decides.
pub fn watchdog_period(
    usec: Option<&OsStr>,
    pid: Option<&OsStr>,
    own_pid: u32,
) -> Result<Option<Duration>, AddressError> {
    let Some(usec) = usec else {
        return Ok(None);
    };
    let text = usec.to_string_lossy();
    let micros = text
        .parse::<u64>()
        .ok()
        .filter(|&micros| micros > 0)
        .ok_or_else(|| AddressError::WatchdogUsec(text.clone().into_owned()))?;
    if let Some(pid) = pid {
        let text = pid.to_string_lossy();
        let pid = text
            .parse::<u32>()
            .ok()
            .filter(|&pid| pid > 0)
            .ok_or_else(|| AddressError::WatchdogPid(text.clone().into_owned()))?;
        if pid != own_pid {
            return Ok(None);
        }
    }
    Ok(Some(Duration::from_micros(micros) / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NotifyAddress, AddressError> {
        NotifyAddress::parse(OsStr::new(text))
    }

    #[test]
    fn a_path_is_a_socket_file() {
        assert_eq!(
            parse("/run/systemd/notify"),
            Ok(NotifyAddress::Path("/run/systemd/notify".into()))
        );
        let addr = parse("/run/systemd/notify").unwrap().socket_addr().unwrap();
        assert_eq!(
            addr.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
    }

    #[test]
    fn an_at_sign_is_an_abstract_name() {
        use std::os::linux::net::SocketAddrExt as _;
        let address = parse("@/org/freedesktop/systemd1/notify/42").unwrap();
        assert_eq!(
            address,
            NotifyAddress::Abstract(b"/org/freedesktop/systemd1/notify/42".to_vec())
        );
        assert_eq!(address.to_string(), "@/org/freedesktop/systemd1/notify/42");
        let addr = address.socket_addr().unwrap();
        assert_eq!(
            addr.as_abstract_name(),
            Some(&b"/org/freedesktop/systemd1/notify/42"[..])
        );
        assert!(addr.as_pathname().is_none());
    }

    #[test]
    fn anything_else_is_refused() {
        for text in ["", "@", "relative/notify", "vsock:2:1234"] {
            assert_eq!(
                parse(text),
                Err(AddressError::Unsupported(text.into())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn an_address_too_long_for_sun_path_is_refused() {
        let long = format!("/{}", "x".repeat(200));
        assert!(matches!(
            parse(&long).unwrap().socket_addr(),
            Err(AddressError::TooLong(_))
        ));
        let long = format!("@{}", "x".repeat(200));
        assert!(matches!(
            parse(&long).unwrap().socket_addr(),
            Err(AddressError::TooLong(_))
        ));
    }

    fn period(usec: Option<&str>, pid: Option<&str>) -> Result<Option<Duration>, AddressError> {
        watchdog_period(usec.map(OsStr::new), pid.map(OsStr::new), 4242)
    }

    #[test]
    fn the_watchdog_is_fed_every_half_interval_when_it_is_ours() {
        let half = Some(Duration::from_secs(15));
        assert_eq!(period(Some("30000000"), None), Ok(half));
        assert_eq!(period(Some("30000000"), Some("4242")), Ok(half));
        assert_eq!(
            period(Some("30000000"), Some("1")),
            Ok(None),
            "another process's"
        );
        assert_eq!(period(None, Some("4242")), Ok(None), "no watchdog");
    }

    #[test]
    fn bad_watchdog_variables_are_errors() {
        assert!(matches!(
            period(Some("0"), None),
            Err(AddressError::WatchdogUsec(_))
        ));
        assert!(matches!(
            period(Some("30s"), None),
            Err(AddressError::WatchdogUsec(_))
        ));
        assert!(matches!(
            period(Some("30000000"), Some("me")),
            Err(AddressError::WatchdogPid(_))
        ));
    }
}
