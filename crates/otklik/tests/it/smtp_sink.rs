//! A real SMTP server on loopback for the notification tests: `tests/smtp/sink.py`
//! (aiosmtpd), which stores every message it accepts in a temporary directory and can be
//! told to refuse (451) or reject (550) messages, to play an SMTP outage.
//!
//! `scripts/test` installs aiosmtpd into its tools virtualenv and exports that venv's
//! python as `OTKLIK_SMTP_PYTHON`; without it, `$OTKLIK_TOOLS_DIR/venv/bin/python`
//! (default `/var/tmp/otklik-tools`) is tried. Nothing is downloaded here.
//!
//! [`Received`] reads the stored messages back as a person's mail client would show them:
//! headers unfolded, RFC 2047 subjects decoded, the text/plain and text/html parts of a
//! (multipart) message decoded from quoted-printable, base64, 7bit or 8bit — the shapes
//! that `lettre` 0.11 produces (`MultiPart::alternative_plain_html`).

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use base64::Engine as _;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The sink, running; stopped (killed) when dropped.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub rcpt_to: Vec<String>,
    /// The message as received (dot-unstuffed), CRLF line endings.
    pub raw: String,
    /// The top-level header fields in order, values unfolded and trimmed, not decoded.
    pub headers: Vec<(String, String)>,
}

/// The python that has aiosmtpd: `OTKLIK_SMTP_PYTHON`, else the tools venv's.
fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("OTKLIK_SMTP_PYTHON") {
        return PathBuf::from(path);
    }
    let default = Path::new(
        &std::env::var_os("OTKLIK_TOOLS_DIR").unwrap_or_else(|| "/var/tmp/otklik-tools".into()),
    )
    .join("venv/bin/python");
    assert!(
        default.is_file(),
        "no python with aiosmtpd for the SMTP sink: OTKLIK_SMTP_PYTHON is not set and {} does \
         not exist. Run `scripts/test` once (it installs aiosmtpd into that venv and exports \
         OTKLIK_SMTP_PYTHON), or set OTKLIK_SMTP_PYTHON to a python that has aiosmtpd 1.4.6.",
        default.display()
    );
    default
}

impl SmtpSink {
    /// Starts the sink on 127.0.0.1 on a free port and waits (up to 20 s) until it listens.
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().expect("a temporary directory for the SMTP sink");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/smtp/sink.py");
        let python = python();
        let mut child = Command::new(&python)
            .arg(script)
            .arg("--dir")
            .arg(dir.path())
            // Stdin stays open while the child is ours; if this process dies without
            // dropping the sink, the pipe closes and the sink exits by itself.
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} {script}: {e}", python.display()));

        let stdout = child.stdout.take().expect("the sink's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(read.map(|_| line));
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("reading the SMTP sink's port: {e}");
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the SMTP sink did not print its port within 20 s: {e}");
            }
        };
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let status = child.wait();
            panic!(
                "the SMTP sink did not start (it printed {line:?}, exit {status:?}; its error \
                 is above). Is aiosmtpd 1.4.6 installed in {}? `scripts/test` installs it.",
                python.display()
            );
        };
        SmtpSink { port, dir, child }
    }

    /// The directory the sink stores messages in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every message stored so far, in the order the sink accepted them.
    pub fn messages(&self) -> Vec<Received> {
        let mut emls: Vec<(u64, PathBuf)> = std::fs::read_dir(self.dir.path())
            .expect("the SMTP sink's directory")
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                if path.extension()? != "eml" {
                    return None;
                }
                let seq = path.file_stem()?.to_str()?.parse().ok()?;
                Some((seq, path))
            })
            .collect();
        emls.sort();
        emls.into_iter()
            .map(|(_, eml)| {
                let envelope: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(eml.with_extension("json")).expect("the message's envelope"),
                )
                .expect("the envelope is JSON");
                let raw = String::from_utf8_lossy(&std::fs::read(&eml).expect("the message"))
                    .into_owned();
                let headers = parse_headers(split_head(&raw).0);
                Received {
                    mail_from: envelope["mail_from"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    rcpt_to: envelope["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|r| r.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    raw,
                    headers,
                }
            })
            .collect()
    }

    /// Waits (polling every 50 ms) until at least `count` messages are stored and returns
    /// all of them; panics with what arrived if they do not within `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            if Instant::now() >= deadline {
                let summary: Vec<String> = messages
                    .iter()
                    .map(|m| format!("{:?} -> {:?}: {:?}", m.mail_from, m.rcpt_to, m.subject()))
                    .collect();
                panic!(
                    "the SMTP sink got {} message(s) within {timeout:?}, expected {count}: \
                     {summary:#?}",
                    messages.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// While on, every DATA is answered `451 4.3.0 Try again later` and nothing is stored.
    pub fn refuse(&self, on: bool) {
        self.fault(".refuse", on);
    }

    /// While on, every DATA is answered `550 5.1.1 Mailbox unavailable` and nothing is stored.
    pub fn reject(&self, on: bool) {
        self.fault(".reject", on);
    }

    fn fault(&self, name: &str, on: bool) {
        let path = self.dir.path().join(name);
        if on {
            std::fs::write(&path, b"").expect("creating the fault file");
        } else if let Err(e) = std::fs::remove_file(&path) {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::NotFound,
                "removing {path:?}: {e}"
            );
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Received {
    /// The first header field called `name` (any case), unfolded, not decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    /// The Subject, RFC 2047 encoded words decoded.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(decode_rfc2047)
    }

    /// The decoded text/plain part (the whole body of a message without MIME parts),
    /// line endings as `\n`. Panics when there is none.
    pub fn text_body(&self) -> String {
        find_part(&self.raw, "text/plain", true)
            .unwrap_or_else(|| panic!("no text/plain part in:\n{}", self.raw))
    }

    /// The decoded text/html part, line endings as `\n`. Panics when there is none.
    pub fn html_body(&self) -> String {
        find_part(&self.raw, "text/html", false)
            .unwrap_or_else(|| panic!("no text/html part in:\n{}", self.raw))
    }
}

/// Splits an entity into its header block and its body (at the first empty line).
fn split_head(entity: &str) -> (&str, &str) {
    if let Some(body) = entity
        .strip_prefix("\r\n")
        .or_else(|| entity.strip_prefix('\n'))
    {
        return ("", body); // a part without header fields
    }
    for sep in ["\r\n\r\n", "\n\n"] {
        if let Some(at) = entity.find(sep) {
            return (&entity[..at], &entity[at + sep.len()..]);
        }
    }
    (entity, "")
}

/// Header fields in order; a line starting with space or tab continues the one before.
fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.to_owned()));
        }
    }
    for (_, value) in &mut fields {
        *value = value.trim().to_owned();
    }
    fields
}

fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `text/plain; charset="utf-8"` → ("text/plain", [("charset", "utf-8")]).
fn content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = value.split(';');
    let mime = pieces
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect();
    (mime, params)
}

/// The decoded body of the first part of type `want` in `entity`, looking into multipart
/// parts; an entity without Content-Type is text/plain when `default_plain`.
fn find_part(entity: &str, want: &str, default_plain: bool) -> Option<String> {
    let (head, body) = split_head(entity);
    let headers = parse_headers(head);
    let (mime, params) = match header_in(&headers, "Content-Type") {
        Some(value) => content_type(value),
        None if default_plain => ("text/plain".to_owned(), Vec::new()),
        None => return None,
    };
    if mime.starts_with("multipart/") {
        let boundary = params.iter().find(|(k, _)| k == "boundary")?.1.clone();
        return multipart_parts(body, &boundary)
            .iter()
            .find_map(|part| find_part(part, want, true));
    }
    if mime != want {
        return None;
    }
    let encoding = header_in(&headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_else(|e| panic!("bad base64 body ({e}):\n{body}"))
        }
        "quoted-printable" => decode_qp(body),
        _ => body.as_bytes().to_vec(),
    };
    Some(String::from_utf8_lossy(&bytes).replace("\r\n", "\n"))
}

/// The parts of a multipart body, between `--boundary` lines up to `--boundary--`.
fn multipart_parts(body: &str, boundary: &str) -> Vec<String> {
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let marker = line.trim_end();
        if marker == close {
            parts.extend(current.take().map(|lines| lines.join("\r\n")));
            break;
        }
        if marker == open {
            parts.extend(current.take().map(|lines| lines.join("\r\n")));
            current = Some(Vec::new());
        } else if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    parts
}

/// Quoted-printable (RFC 2045 6.7): `=XX` is a byte, `=` at a line's end a soft break,
/// trailing whitespace is padding.
fn decode_qp(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let lines: Vec<&str> = body.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line
            .strip_suffix('\r')
            .unwrap_or(line)
            .trim_end_matches([' ', '\t']);
        let (line, soft) = match line.strip_suffix('=') {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        unhex(line, false, &mut out);
        if !soft && i + 1 < lines.len() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Turns each `=XX` into its byte (and `_` into a space, in RFC 2047 Q encoding).
fn unhex(text: &str, underscore_is_space: bool, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'_', _) if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Decodes RFC 2047 encoded words (`=?charset?B|Q?text?=`, UTF-8 or ASCII charsets);
/// whitespace between two adjacent encoded words is dropped, as the RFC says.
fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new(); // bytes of consecutive encoded words
    let mut gap = String::new(); // whitespace after an encoded word, kept if text follows
    let mut rest = value;
    while !rest.is_empty() {
        if let Some((bytes, len)) = encoded_word(rest) {
            gap.clear();
            pending.extend(bytes);
            rest = &rest[len..];
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        rest = &rest[c.len_utf8()..];
        if !pending.is_empty() && c.is_whitespace() {
            gap.push(c);
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut pending)));
        out.push_str(&std::mem::take(&mut gap));
        out.push(c);
    }
    out.push_str(&String::from_utf8_lossy(&pending));
    out.push_str(&gap);
    out
}

/// One encoded word at the start of `s`: its decoded bytes and its length in `s`.
fn encoded_word(s: &str) -> Option<(Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (_charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    if text.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "b" | "B" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "q" | "Q" => {
            let mut bytes = Vec::new();
            unhex(text, true, &mut bytes);
            bytes
        }
        _ => return None,
    };
    let len = s.len() - inner.len() + end + 2;
    Some((bytes, len))
}

mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    const SUBJECT: &str = "Обращение № 42 принято: «Яма на Ленина»";
    const TEXT: &str = "Здравствуйте, Иван!\nВаше обращение № 42 «Яма на улице Ленина, 15» \
                        принято в работу и передано в службу благоустройства.\n\
                        = знак равенства и хвостовой пробел \n";
    const HTML: &str = "<p>Здравствуйте, Иван!</p>";

    /// A message shaped as lettre 0.11 writes one with `MultiPart::alternative_plain_html`:
    /// the Subject in two folded base64 encoded words (split inside the text), the plain
    /// part quoted-printable (soft breaks inside multibyte characters, a trailing space as
    /// `=20`), the html part base64. Its sequence of lines, CRLF-joined.
    fn lettre_shaped(boundary: &str) -> String {
        [
            "From: =?utf-8?b?0J7RgtC60LvQuNC6?= <noreply@otklik.test>",
            "To: ivan@example.test",
            "Subject: =?utf-8?b?0J7QsdGA0LDRidC10L3QuNC1IOKEliA0MiA=?=",
            " =?utf-8?b?0L/RgNC40L3Rj9GC0L46IMKr0K/QvNCwINC90LAg0JvQtdC90LjQvdCwwrs=?=",
            "MIME-Version: 1.0",
            "Date: Fri, 05 Dec 2025 10:00:00 +0000",
            "Content-Type: multipart/alternative;",
            &format!(" boundary=\"{boundary}\""),
            "",
            &format!("--{boundary}"),
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "=D0=97=D0=B4=D1=80=D0=B0=D0=B2=D1=81=D1=82=D0=B2=D1=83=D0=B9=D1=82=D0=B5, =",
            "=D0=98=D0=B2=D0=B0=D0=BD!",
            "=D0=92=D0=B0=D1=88=D0=B5 =D0=BE=D0=B1=D1=80=D0=B0=D1=89=D0=B5=D0=BD=D0=B8=",
            "=D0=B5 =E2=84=96 42 =C2=AB=D0=AF=D0=BC=D0=B0 =D0=BD=D0=B0 =D1=83=D0=BB=D0=",
            "=B8=D1=86=D0=B5 =D0=9B=D0=B5=D0=BD=D0=B8=D0=BD=D0=B0, 15=C2=BB =D0=BF=D1=80=",
            "=D0=B8=D0=BD=D1=8F=D1=82=D0=BE =D0=B2 =D1=80=D0=B0=D0=B1=D0=BE=D1=82=D1=83 =",
            "=D0=B8 =D0=BF=D0=B5=D1=80=D0=B5=D0=B4=D0=B0=D0=BD=D0=BE =D0=B2 =D1=81=D0=BB=",
            "=D1=83=D0=B6=D0=B1=D1=83 =D0=B1=D0=BB=D0=B0=D0=B3=D0=BE=D1=83=D1=81=D1=82=",
            "=D1=80=D0=BE=D0=B9=D1=81=D1=82=D0=B2=D0=B0.",
            "=3D =D0=B7=D0=BD=D0=B0=D0=BA =D1=80=D0=B0=D0=B2=D0=B5=D0=BD=D1=81=D1=82=D0=",
            "=B2=D0=B0 =D0=B8 =D1=85=D0=B2=D0=BE=D1=81=D1=82=D0=BE=D0=B2=D0=BE=D0=B9 =D0=",
            "=BF=D1=80=D0=BE=D0=B1=D0=B5=D0=BB=20",
            "",
            &format!("--{boundary}"),
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
            "PHA+0JfQtNGA0LDQstGB0YLQstGD0LnRgtC1LCDQmNCy0LDQvSE8L3A+",
            &format!("--{boundary}--"),
            "",
        ]
        .join("\r\n")
    }

    fn received(raw: String) -> Received {
        let headers = parse_headers(split_head(&raw).0);
        Received {
            mail_from: String::new(),
            rcpt_to: Vec::new(),
            raw,
            headers,
        }
    }

    #[test]
    fn decodes_lettre_shaped_messages() {
        let m = received(lettre_shaped("OtklikBoundary0123"));
        assert_eq!(m.subject().as_deref(), Some(SUBJECT));
        assert_eq!(
            decode_rfc2047(m.header("from").unwrap()),
            "Отклик <noreply@otklik.test>"
        );
        assert_eq!(m.header("MIME-VERSION"), Some("1.0"));
        assert_eq!(m.text_body(), TEXT);
        assert_eq!(m.html_body(), HTML);

        // A single-part 8bit message, a Q-encoded subject with plain text around it.
        let m = received(
            "Subject: =?UTF-8?Q?=D0=9E=D1=82=D0=B2=D0=B5=D1=82_=D0=B3=D0=BE=D1=82=D0=BE=D0=B2?= \
             (#42)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: \
             8bit\r\n\r\nОтвет готов.\r\nСпасибо.\r\n"
                .to_owned(),
        );
        assert_eq!(m.subject().as_deref(), Some("Ответ готов (#42)"));
        assert_eq!(m.text_body(), "Ответ готов.\nСпасибо.\n");
    }

    /// Reads one (possibly multi-line) SMTP reply.
    async fn reply(conn: &mut BufReader<TcpStream>) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), conn.read_line(&mut line))
                .await
                .expect("an SMTP reply within 10 s")
                .unwrap();
            assert!(n > 0, "the SMTP sink closed the connection after {all:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    async fn command(conn: &mut BufReader<TcpStream>, line: &str) -> String {
        conn.get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        reply(conn).await
    }

    /// One whole transaction; returns the reply to the end of DATA.
    async fn send(conn: &mut BufReader<TcpStream>, message: &str) -> String {
        assert!(command(conn, "MAIL FROM:<noreply@otklik.test>")
            .await
            .starts_with("250"));
        assert!(command(conn, "RCPT TO:<ivan@example.test>")
            .await
            .starts_with("250"));
        assert!(command(conn, "RCPT TO:<audit@example.test>")
            .await
            .starts_with("250"));
        assert!(command(conn, "DATA").await.starts_with("354"));
        // The message ends with CRLF; the lone dot ends DATA.
        command(conn, &format!("{message}.")).await
    }

    #[tokio::test]
    async fn sink_receives_and_refuses() {
        let sink = SmtpSink::start();
        let stream = TcpStream::connect(("127.0.0.1", sink.port)).await.unwrap();
        let mut conn = BufReader::new(stream);
        assert!(reply(&mut conn).await.starts_with("220"));
        assert!(command(&mut conn, "EHLO otklik.test")
            .await
            .starts_with("250"));

        let reply = send(&mut conn, &lettre_shaped("first")).await;
        assert!(reply.starts_with("250"), "{reply}");
        let messages = sink.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(m.mail_from, "noreply@otklik.test");
        assert_eq!(m.rcpt_to, ["ivan@example.test", "audit@example.test"]);
        assert_eq!(m.raw, lettre_shaped("first"));
        assert_eq!(m.subject().as_deref(), Some(SUBJECT));
        assert_eq!(m.text_body(), TEXT);
        assert_eq!(m.html_body(), HTML);

        // An outage: a transient failure, nothing stored.
        sink.refuse(true);
        let reply = send(&mut conn, &lettre_shaped("refused")).await;
        assert!(reply.starts_with("451 4.3.0"), "{reply}");
        // A permanent failure: 550, nothing stored.
        sink.refuse(false);
        sink.reject(true);
        let reply = send(&mut conn, &lettre_shaped("rejected")).await;
        assert!(reply.starts_with("550 5.1.1"), "{reply}");
        sink.reject(false);
        assert_eq!(sink.messages().len(), 1);

        // Back up: accepted and stored after the first.
        let reply = send(&mut conn, &lettre_shaped("second")).await;
        assert!(reply.starts_with("250"), "{reply}");
        let messages = sink.wait_for(2, Duration::from_secs(10)).await;
        assert_eq!(messages.len(), 2);
        assert!(messages[1].raw.contains("--second--"));
        assert_eq!(messages[1].text_body(), TEXT);
        assert!(command(&mut conn, "QUIT").await.starts_with("221"));
    }
}
