//! The systemd notify protocol: one datagram per message (`READY=1`, `STATUS=…`,
//! `RELOADING=1`, `STOPPING=1`, `WATCHDOG=1`) to the socket named by `$NOTIFY_SOCKET`
//! (a path, or an abstract name written `@name`). Without the variable every call does
//! nothing. This module only sends; when to send is the daemon's business.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use tracing::debug;

/// A handle on the notify socket, or on nothing.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, Target)>,
    watchdog: Option<Duration>,
}

#[derive(Debug)]
enum Target {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    /// The variables are left in place (changing the environment of a threaded process
    /// is unsafe), so children started later would see them too: pare starts none.
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|s| {
            let bytes = s.as_encoded_bytes();
            let t = match bytes.first()? {
                b'@' => Target::Abstract(bytes[1..].to_vec()),
                b'/' => Target::Path(PathBuf::from(&s)),
                _ => return None,
            };
            Some((UnixDatagram::unbound().ok()?, t))
        });
        let pid_ok = std::env::var("WATCHDOG_PID")
            .ok()
            .is_none_or(|p| p.trim() == std::process::id().to_string());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|&u| u > 0 && pid_ok)
            .map(Duration::from_micros);
        Notifier { target, watchdog }
    }

    /// Whether messages go anywhere.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// How often to send `WATCHDOG=1` (half the watchdog timeout), when asked for.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.target.as_ref()?;
        self.watchdog.map(|d| d / 2)
    }

    /// Sends one message (newline-separated `KEY=value` lines). Errors are only logged:
    /// a daemon does not stop because its supervisor is not listening.
    pub fn send(&self, msg: &str) {
        let Some((sock, target)) = &self.target else {
            return;
        };
        let r = match target {
            Target::Path(p) => sock.send_to(msg.as_bytes(), p),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name)
                    .and_then(|a| sock.send_to_addr(msg.as_bytes(), &a))
            }
        };
        if let Err(e) = r {
            debug!(error = %e, message = msg, "cannot notify systemd");
        }
    }

    pub fn ready(&self) {
        self.send("READY=1");
    }
    pub fn reloading(&self) {
        self.send("RELOADING=1");
    }
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }
    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }
    pub fn status(&self, text: &str) {
        // One line: a newline would start a new KEY=value.
        self.send(&format!("STATUS={}", text.replace('\n', " ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_datagrams_to_a_path() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("notify.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier {
            target: Some((UnixDatagram::unbound().unwrap(), Target::Path(path))),
            watchdog: Some(Duration::from_secs(10)),
        };
        n.ready();
        n.status("a\nb");
        let mut buf = [0u8; 64];
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"READY=1");
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"STATUS=a b");
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn abstract_names() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("pare-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        let n = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                Target::Abstract(name.into_bytes()),
            )),
            watchdog: None,
        };
        n.stopping();
        let mut buf = [0u8; 64];
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"STOPPING=1");
        assert_eq!(n.watchdog_interval(), None);
    }
}
