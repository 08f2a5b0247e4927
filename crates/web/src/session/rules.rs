//! Pure access rules: password policy, login throttling, cookies, and who may see which
//! conversation. No IO, so every rule is tested with plain values.

use balcao_domain::{Millis, UserId};
use balcao_store::{LoginThrottle, QueueId, Role, ThrottleRule};

/// Failed logins allowed per key (e-mail, IP) inside one window before the key is locked.
pub const MAX_LOGIN_FAILURES: u32 = 5;
/// The throttle window, and how long a locked key stays locked.
pub const LOGIN_WINDOW_MS: Millis = 15 * 60 * 1000;
/// A browser session lasts a working day plus margin; after that the agent logs in again.
pub const SESSION_TTL_MS: Millis = 14 * 3600 * 1000;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A password that satisfies the policy (8–128 characters, not only spaces).
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub fn parse(raw: &str) -> Result<NewPassword, String> {
        let chars = raw.chars().count();
        if raw.trim().is_empty() || chars < MIN_PASSWORD_CHARS {
            return Err(format!(
                "a senha precisa ter pelo menos {MIN_PASSWORD_CHARS} caracteres"
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!(
                "a senha pode ter no máximo {MAX_PASSWORD_CHARS} caracteres"
            ));
        }
        Ok(NewPassword(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address as staff log in with it: trimmed, lowercased, one `@` with text on both
/// sides and a dot in the domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = raw.trim().to_lowercase();
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if valid && email.len() <= 254 {
            Ok(Email(email))
        } else {
            Err("e-mail inválido".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How failed logins lock a key (e-mail or address): five inside fifteen minutes lock it for
/// fifteen minutes.
pub const LOGIN_THROTTLE: ThrottleRule = ThrottleRule {
    window_millis: LOGIN_WINDOW_MS,
    max_failures: MAX_LOGIN_FAILURES,
    lock_millis: LOGIN_WINDOW_MS,
};

/// How long (ms) the key must still wait, when it is locked now.
pub fn locked_for(record: Option<&LoginThrottle>, now: Millis) -> Option<Millis> {
    record
        .and_then(|r| r.locked_until)
        .filter(|until| *until > now)
        .map(|until| until - now)
}

/// The pt-BR answer to a locked login.
pub fn locked_message(wait_ms: Millis) -> String {
    let minutes = (wait_ms + 59_999) / 60_000;
    let unit = if minutes == 1 { "minuto" } else { "minutos" };
    format!("Muitas tentativas de login sem sucesso. Aguarde {minutes} {unit} e tente novamente.")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// A `Set-Cookie` value for a session-scoped secret: not readable by scripts, not sent on
/// cross-site subrequests, `Secure` when the site is served over HTTPS.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// Constant-time comparison of two secrets (CSRF tokens).
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// pt-BR name of a role.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Agent => "Atendente",
        Role::Supervisor => "Supervisor(a)",
        Role::Admin => "Administrador(a)",
    }
}

/// Sees every queue of the workspace, the board, and may reassign.
pub fn supervises(role: Role) -> bool {
    role.sees_all_queues()
}

/// Changes the configuration: queues, messages, hours, users.
pub fn administers(role: Role) -> bool {
    role == Role::Admin
}

/// Whether a staff member may see (and act on) a desk conversation: supervisors and admins see
/// everything; an agent sees the conversations of the queues they belong to and those assigned
/// (or transferred) to them.
pub fn may_see(
    role: Role,
    user_id: UserId,
    member_of: &[QueueId],
    queue_id: Option<QueueId>,
    agent_id: Option<UserId>,
) -> bool {
    supervises(role)
        || agent_id == Some(user_id)
        || queue_id.is_some_and(|q| member_of.contains(&q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn password_policy() {
        assert!(NewPassword::parse("curta").is_err());
        assert!(NewPassword::parse("        ").is_err());
        assert!(NewPassword::parse("boa senha 1").is_ok());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", NewPassword::parse("segredo123").unwrap()),
            "NewPassword(***)"
        );
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Ana@Provedor.COM.br ").unwrap().as_str(),
            "ana@provedor.com.br"
        );
        for bad in [
            "",
            "ana",
            "@x.com",
            "ana@",
            "ana@x",
            "a b@x.com",
            "a@@x.com",
            "a@x.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_lock_lasts_until_its_end() {
        let throttle = LoginThrottle {
            key: "email:a@b.co".into(),
            failures: 5,
            window_started_at: 0,
            locked_until: Some(10_000),
        };
        assert_eq!(locked_for(Some(&throttle), 4_000), Some(6_000));
        assert_eq!(locked_for(Some(&throttle), 10_000), None);
        assert_eq!(locked_for(None, 0), None);
    }

    #[test]
    fn locked_message_rounds_up_minutes() {
        assert!(locked_message(1).contains("1 minuto "));
        assert!(locked_message(LOGIN_WINDOW_MS).contains("15 minutos"));
    }

    #[test]
    fn cookies() {
        let h = "a=1; balcao_session=abc; b=2";
        assert_eq!(cookie_value(h, "balcao_session"), Some("abc"));
        assert_eq!(cookie_value(h, "balcao"), None);
        let c = set_cookie("s", "v", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("Secure"));
        assert!(!set_cookie("s", "v", 60, false).contains("Secure"));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn agents_see_their_queues_and_their_chats_only() {
        let (me, other) = (UserId(7), UserId(8));
        let q = QueueId;
        assert!(may_see(Role::Agent, me, &[q(1), q(2)], Some(q(2)), None));
        assert!(may_see(Role::Agent, me, &[q(1)], Some(q(3)), Some(me)));
        assert!(!may_see(Role::Agent, me, &[q(1)], Some(q(3)), Some(other)));
        assert!(!may_see(Role::Agent, me, &[q(1)], None, None));
        assert!(may_see(Role::Supervisor, me, &[], Some(q(3)), Some(other)));
        assert!(may_see(Role::Admin, me, &[], None, None));
    }

    proptest! {
        #[test]
        fn cookie_round_trip(value in "[A-Za-z0-9]{1,64}") {
            let header = format!("x=y; balcao_session={value}");
            prop_assert_eq!(cookie_value(&header, "balcao_session"), Some(value.as_str()));
        }
    }
}
