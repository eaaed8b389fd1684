//! E-mail: composing a message (multipart text and HTML, a stable `Message-ID`, the
//! RFC 8058 one-click `List-Unsubscribe` headers) and sending it over SMTP.

use crate::config::{SmtpConfig, SmtpSecurity};
use crate::templates::Rendered;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How a send ended, before the retry policy decides when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Ok,
    /// The server or the network failed for now (4xx, a timeout, a refused connection).
    Transient(String),
    /// The server refused for good (5xx), or the message cannot be made.
    Permanent(String),
}

/// One message to send.
pub struct Outgoing<'a> {
    pub to: &'a str,
    /// Without angle brackets: `n42.email@otklik.example`.
    pub message_id: String,
    pub rendered: &'a Rendered,
    pub unsubscribe_link: &'a str,
}

/// SMTP connections kept open at most (the campaign worker's concurrency).
pub const POOL_SIZE: u32 = 32;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(config: &SmtpConfig, from: &str) -> Result<Self, String> {
        let from: Mailbox = from.parse().map_err(|_| "the sender is not an address")?;
        let builder = match config.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| e.to_string())?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| e.to_string())?,
        };
        // Connections are kept and reused (up to as many as the worker sends at once), so a
        // message costs its MAIL, RCPT and DATA, not a new session.
        let mut builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_secs(config.timeout_seconds)))
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(POOL_SIZE));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, message: Outgoing<'_>) -> Sent {
        let email = match compose(&self.from, &message) {
            Ok(email) => email,
            Err(e) => return Sent::Permanent(e),
        };
        match self.transport.send(email).await {
            Ok(_) => Sent::Ok,
            Err(e) if refuses_recipient(&e) => Sent::Permanent(short(&e)),
            Err(e) => Sent::Transient(short(&e)),
        }
    }
}

/// Only the server's refusal of the address itself is final (550, 551, 553). Any other
/// 5xx — authentication, a sender the relay will not take, TLS required — is the
/// installation's to fix, and its messages must still go out once it is fixed.
fn refuses_recipient(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent()
        && e.status()
            .is_some_and(|code| ["550", "551", "553"].contains(&code.to_string().as_str()))
}

/// The error without the message or addresses: it goes to the outbox and the log.
fn short(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("smtp {code}"),
        None if e.is_timeout() => "smtp timeout".to_owned(),
        None => "smtp connection failed".to_owned(),
    }
}

fn compose(from: &Mailbox, message: &Outgoing<'_>) -> Result<Message, String> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|_| "invalid recipient address".to_owned())?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.rendered.subject.clone())
        .message_id(Some(format!("<{}>", message.message_id)))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", message.unsubscribe_link),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            message.rendered.text.clone(),
            message.rendered.html.clone(),
        ))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_message_carries_its_id_and_one_click_unsubscribe() {
        let rendered = Rendered {
            subject: "Дан ответ на обращение № 2026-0000001".into(),
            text: "Текст".into(),
            html: "<p>Текст</p>".into(),
        };
        let from: Mailbox = "Отклик <noreply@otklik.example>".parse().unwrap();
        let email = compose(
            &from,
            &Outgoing {
                to: "citizen@example.org",
                message_id: "n1.email@otklik.example".into(),
                rendered: &rendered,
                unsubscribe_link: "https://otklik.example/unsubscribe/1.answered.x",
            },
        )
        .unwrap();
        let raw = String::from_utf8(email.formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <n1.email@otklik.example>"),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe: <https://otklik.example/unsubscribe/1.answered.x>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("multipart/alternative"));
        assert!(compose(
            &from,
            &Outgoing {
                to: "not an address",
                message_id: "x@y".into(),
                rendered: &rendered,
                unsubscribe_link: "u"
            }
        )
        .is_err());
    }
}
