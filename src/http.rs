//! The bounded HTTP server behind `watch --metrics-listen` (and whatever else serves on
//! loopback later): it owns the listening socket, the connections and their limits; the
//! caller hands in the routes, a function from a request to a response.
//!
//! Every resource a client can make it spend is bounded, because the port is open to
//! every local process and a stuck or hostile client must not stall the scrapes:
//!
//! - at most `MAX_CONNECTIONS` connections (fewer under a low descriptor limit), a thread
//!   each; a new one evicts the oldest that is not being answered;
//! - a request head is at most `MAX_HEAD_BYTES` and `MAX_HEADERS` headers, and must arrive
//!   within `HEAD_DEADLINE`; the body is never read;
//! - an answer must be taken within `WRITE_DEADLINE`;
//! - one request per connection (`Connection: close`): a client that pipelines requests
//!   and never reads their answers costs one answer and is hung up on.
//!
//! The request head is parsed by httparse; the loop around it is ours, synchronous, with
//! blocking sockets and deadlines (no async runtime). An accept error that a full
//! descriptor table or a vanished client explains is waited out; any other ends the
//! server, and `Serving::failure` says why so that its owner can stop too.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Connections held at once; more evict the oldest (see `Connections::admit`).
pub const MAX_CONNECTIONS: usize = 32;
/// The most bytes of a request line and headers read from one connection.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most headers in one request.
pub const MAX_HEADERS: usize = 64;
/// How long a client has to send its whole request head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// How long a client has to take its whole answer.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// The pause after an accept error that waiting can cure (no descriptor left).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Where a server binds: `text` as host:port, or a port alone on loopback. Anything but
/// loopback needs `allow_remote`: usage history is private. `flag` and `allow_flag` name
/// the options in errors.
pub fn listen_address(
    text: &str,
    allow_remote: bool,
    flag: &str,
    allow_flag: &str,
) -> Result<SocketAddr> {
    let text = text.trim();
    let addr = if let Ok(port) = text.parse::<u16>() {
        SocketAddr::from(([127, 0, 0, 1], port))
    } else {
        text.to_socket_addrs()
            .with_context(|| format!("{flag} {text:?}: not an address (host:port)"))?
            .next()
            .with_context(|| format!("{flag} {text:?}: resolves to no address"))?
    };
    if !addr.ip().is_loopback() && !allow_remote {
        anyhow::bail!(
            "{flag} {addr} is reachable from other machines; add {allow_flag} if that is meant"
        );
    }
    Ok(addr)
}

/// A request head, borrowed from the connection's buffer.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// What follows `?` in the target, or "".
    pub query: &'a str,
    headers: &'a [httparse::Header<'a>],
}

impl Request<'_> {
    /// The value of the first header called `name` (in any case), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    }
}

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: String) -> Response {
        Response {
            status,
            content_type,
            body,
        }
    }

    pub fn text(status: u16, body: String) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body)
    }

    /// Status line, headers and body, as sent.
    fn to_bytes(&self) -> Vec<u8> {
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len()
        );
        [head.as_bytes(), self.body.as_bytes()].concat()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "",
    }
}

pub type Routes = dyn Fn(&Request) -> Response + Send + Sync;

/// A server running on threads of its own.
pub struct Serving {
    failure: Arc<OnceLock<String>>,
}

impl Serving {
    /// Why the server stopped, if it has: it only stops when it cannot go on.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }
}

/// Binds `addr` now (so a taken port is an error at once) and answers with `routes` until
/// the process ends. Should the listener fail for good, `on_failure` is called once, after
/// `Serving::failure` has the reason.
pub fn serve(
    name: &'static str,
    addr: SocketAddr,
    routes: Box<Routes>,
    on_failure: impl FnOnce() + Send + 'static,
) -> Result<Serving> {
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let failure = Arc::new(OnceLock::new());
    let reported = failure.clone();
    thread::Builder::new()
        .name("http-accept".into())
        .spawn(move || {
            let cause = accept_loop(&listener, Arc::from(routes));
            let message = format!("the {name} on {addr} stopped: {cause:#}");
            let _ = reported.set(message);
            on_failure();
        })
        .with_context(|| format!("cannot start the {name}'s thread"))?;
    Ok(Serving { failure })
}

/// Takes connections until the listener fails for good (a panic counts: the thread's end
/// is reported all the same).
fn accept_loop(listener: &TcpListener, routes: Arc<Routes>) -> anyhow::Error {
    let connections = Arc::new(Connections::new(connection_cap()));
    let accepting = std::panic::AssertUnwindSafe(|| {
        // Said once per spell of exhaustion, not every `ACCEPT_BACKOFF`.
        let mut exhausted = false;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    exhausted = false;
                    connections.admit(stream, &routes);
                }
                Err(err) => match cure(&err) {
                    Cure::Retry => {
                        log::debug!("http: a connection lost before it was taken: {err}")
                    }
                    Cure::Wait => {
                        if !exhausted {
                            log::warn!("http: cannot accept a connection now ({err}); retrying");
                        }
                        exhausted = true;
                        connections.evict_oldest();
                        thread::sleep(ACCEPT_BACKOFF);
                    }
                    Cure::None => {
                        return anyhow::Error::new(err).context("cannot accept connections");
                    }
                },
            }
        }
    });
    std::panic::catch_unwind(accepting)
        .unwrap_or_else(|_| anyhow::anyhow!("the accepting thread panicked"))
}

/// What cures an accept error.
enum Cure {
    /// Taking the next connection: this one failed on its own (accept(2) passes on a
    /// pending connection's network errors, to be treated as "try again").
    Retry,
    /// Time and a descriptor: none or no memory is left for now (evicting a connection
    /// frees one).
    Wait,
    /// Nothing: the listener itself is broken.
    None,
}

fn cure(err: &io::Error) -> Cure {
    use rustix::io::Errno;
    let errno = err.raw_os_error().map(Errno::from_raw_os_error);
    let is = |these: &[Errno]| errno.is_some_and(|errno| these.contains(&errno));
    if is(&[Errno::MFILE, Errno::NFILE, Errno::NOBUFS, Errno::NOMEM]) {
        Cure::Wait
    } else if is(&[
        Errno::CONNABORTED,
        Errno::INTR,
        Errno::AGAIN,
        Errno::PROTO,
        Errno::PERM,
        Errno::NETDOWN,
        Errno::NOPROTOOPT,
        Errno::HOSTDOWN,
        Errno::NONET,
        Errno::HOSTUNREACH,
        Errno::OPNOTSUPP,
        Errno::NETUNREACH,
    ]) {
        Cure::Retry
    } else {
        Cure::None
    }
}

/// `MAX_CONNECTIONS`, or a quarter of the descriptor limit if that is less: the rest is
/// the watch's (the ledger, transcripts, notification).
fn connection_cap() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let quarter = limit.map_or(usize::MAX, |n| usize::try_from(n / 4).unwrap_or(usize::MAX));
    MAX_CONNECTIONS.min(quarter).max(1)
}

/// The connections being served, and which may be evicted.
struct Connections {
    cap: usize,
    open: Mutex<Vec<Held>>,
    next_id: std::sync::atomic::AtomicU64,
}

struct Held {
    id: u64,
    /// A handle on the same socket, to shut it down from here (which ends any read or
    /// write its thread is blocked in).
    stream: TcpStream,
    since: Instant,
    /// Running the routes: not evicted while its answer is being made (once made, an
    /// answer the client is slow to take may be).
    answering: bool,
}

impl Connections {
    fn new(cap: usize) -> Connections {
        Connections {
            cap,
            open: Mutex::new(Vec::with_capacity(cap)),
            next_id: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Held>> {
        // The list stays whole whatever panicked while holding it (each change is one push
        // or remove).
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `stream` on a thread of its own, making room first if all are taken; a
    /// connection that finds every one answering is closed at once.
    fn admit(self: &Arc<Self>, stream: TcpStream, routes: &Arc<Routes>) {
        if self.lock().len() >= self.cap && !self.evict_oldest() {
            log::debug!(
                "http: all {} connections are answering; one refused",
                self.cap
            );
            return;
        }
        let Ok(handle) = stream.try_clone() else {
            return;
        };
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().push(Held {
            id,
            stream: handle,
            since: Instant::now(),
            answering: false,
        });
        let (connections, routes) = (self.clone(), routes.clone());
        let spawned = thread::Builder::new().name("http".into()).spawn(move || {
            let _release = Release(&connections, id);
            if let Err(err) = serve_connection(stream, routes.as_ref(), |on| {
                connections.set_answering(id, on)
            }) {
                log::debug!("http: connection {id}: {err}");
            }
        });
        if let Err(err) = spawned {
            log::warn!("http: cannot start a connection's thread: {err}");
            self.release(id);
        }
    }

    /// Shuts down the connection held longest that is not answering; whether there was one.
    fn evict_oldest(&self) -> bool {
        let mut open = self.lock();
        let oldest = open
            .iter()
            .enumerate()
            .filter(|(_, held)| !held.answering)
            .min_by_key(|(_, held)| held.since)
            .map(|(index, _)| index);
        match oldest {
            Some(index) => {
                let _ = open
                    .swap_remove(index)
                    .stream
                    .shutdown(std::net::Shutdown::Both);
                true
            }
            None => false,
        }
    }

    fn set_answering(&self, id: u64, on: bool) {
        if let Some(held) = self.lock().iter_mut().find(|held| held.id == id) {
            held.answering = on;
        }
    }

    fn release(&self, id: u64) {
        self.lock().retain(|held| held.id != id);
    }
}

/// Frees a connection's place when its thread ends, a panic included.
struct Release<'a>(&'a Connections, u64);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.release(self.1);
    }
}

/// Reads one request head, answers it and closes. `answering(true)` is called before the
/// routes run, `answering(false)` after.
fn serve_connection(
    mut stream: TcpStream,
    routes: &Routes,
    answering: impl Fn(bool),
) -> io::Result<()> {
    let mut buffer = vec![0; MAX_HEAD_BYTES];
    let response = match read_head(&mut stream, &mut buffer)? {
        Head::Complete(length) => {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Request::new(&mut headers);
            parsed
                .parse(&buffer[..length])
                .map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
            let target = parsed.path.unwrap_or("/");
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let request = Request {
                method: parsed.method.unwrap_or(""),
                path,
                query,
                headers: parsed.headers,
            };
            answering(true);
            let response = routes(&request);
            answering(false);
            response
        }
        Head::Refused(status, why) => Response::text(status, format!("{why}\n")),
    };
    write_within(&mut stream, &response.to_bytes(), WRITE_DEADLINE)
}

enum Head {
    /// A whole request head, this long, at the start of the buffer.
    Complete(usize),
    /// A request not answered: the status and why.
    Refused(u16, &'static str),
}

/// Reads into `buffer` until it holds a whole request head, the head proves too big or
/// malformed, or `HEAD_DEADLINE` passes.
fn read_head(stream: &mut TcpStream, buffer: &mut [u8]) -> io::Result<Head> {
    let deadline = Instant::now() + HEAD_DEADLINE;
    let mut filled = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Head::Refused(408, "the request took too long to arrive"));
        }
        stream.set_read_timeout(Some(left))?;
        let read = match stream.read(&mut buffer[filled..]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += read;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::Request::new(&mut headers).parse(&buffer[..filled]) {
            Ok(httparse::Status::Complete(length)) => return Ok(Head::Complete(length)),
            Ok(httparse::Status::Partial) if filled < buffer.len() => {}
            Ok(httparse::Status::Partial) => {
                return Ok(Head::Refused(431, "the request head is too large"));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Ok(Head::Refused(431, "the request has too many headers"));
            }
            Err(_) => return Ok(Head::Refused(400, "not an HTTP request")),
        }
    }
}

/// Writes all of `bytes` unless the client takes longer than `limit` over it all.
fn write_within(stream: &mut TcpStream, mut bytes: &[u8], limit: Duration) -> io::Result<()> {
    let deadline = Instant::now() + limit;
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the client did not take its answer",
            ));
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_broken_listener_ends_the_server() {
        let error = |errno: rustix::io::Errno| io::Error::from_raw_os_error(errno.raw_os_error());
        assert!(matches!(cure(&error(rustix::io::Errno::MFILE)), Cure::Wait));
        assert!(matches!(
            cure(&error(rustix::io::Errno::CONNABORTED)),
            Cure::Retry
        ));
        assert!(matches!(cure(&error(rustix::io::Errno::INVAL)), Cure::None));
        assert!(matches!(cure(&error(rustix::io::Errno::BADF)), Cure::None));
    }

    /// A head that arrives in pieces is read whole, and the routes see its parts.
    #[test]
    fn a_head_in_pieces_reaches_the_routes() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let routes = |request: &Request| {
            let seen = format!(
                "{} {} {} {:?}",
                request.method,
                request.path,
                request.query,
                request.header("x-ASKED")
            );
            Response::text(200, seen)
        };
        let _serving = serve("test server", addr, Box::new(routes), || {}).unwrap();
        let mut stream = TcpStream::connect(addr).unwrap();
        for piece in ["GET /a?b=c HT", "TP/1.1\r\nX-Asked: y", "es\r\n\r\n"] {
            stream.write_all(piece.as_bytes()).unwrap();
            thread::sleep(Duration::from_millis(50));
        }
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("Connection: close\r\n"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\nGET /a b=c Some(\"yes\")"),
            "{answer}"
        );
    }
}
