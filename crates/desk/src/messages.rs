//! The automatic messages of the desk, each editable by the provider, with friendly defaults, and
//! the `{{variable}}` rendering they (and quick replies) use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The longest text WhatsApp sends in one message.
pub const TEXT_MAX: usize = 4096;

/// The variables a template may use.
pub const VARIABLES: [&str; 7] = [
    "nome",
    "primeiro_nome",
    "protocolo",
    "agente",
    "fila",
    "empresa",
    "horario",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoMessage {
    Welcome,
    ChooseQueue,
    InvalidOption,
    Transfer,
    AgentStart,
    Thanks,
    OutOfHours,
    FallbackMoved,
    CsatRequest,
    CsatComment,
    CsatThanks,
}

impl AutoMessage {
    /// Every kind, in the order the admin form shows them.
    pub const ALL: [AutoMessage; 11] = [
        AutoMessage::Welcome,
        AutoMessage::ChooseQueue,
        AutoMessage::InvalidOption,
        AutoMessage::Transfer,
        AutoMessage::AgentStart,
        AutoMessage::Thanks,
        AutoMessage::OutOfHours,
        AutoMessage::FallbackMoved,
        AutoMessage::CsatRequest,
        AutoMessage::CsatComment,
        AutoMessage::CsatThanks,
    ];

    /// The key in settings JSON and form fields.
    pub fn key(self) -> &'static str {
        match self {
            AutoMessage::Welcome => "welcome",
            AutoMessage::ChooseQueue => "choose_queue",
            AutoMessage::InvalidOption => "invalid_option",
            AutoMessage::Transfer => "transfer",
            AutoMessage::AgentStart => "agent_start",
            AutoMessage::Thanks => "thanks",
            AutoMessage::OutOfHours => "out_of_hours",
            AutoMessage::FallbackMoved => "fallback_moved",
            AutoMessage::CsatRequest => "csat_request",
            AutoMessage::CsatComment => "csat_comment",
            AutoMessage::CsatThanks => "csat_thanks",
        }
    }

    pub fn from_key(key: &str) -> Option<AutoMessage> {
        AutoMessage::ALL.into_iter().find(|m| m.key() == key)
    }

    /// The field's label in the admin form.
    pub fn label_pt(self) -> &'static str {
        match self {
            AutoMessage::Welcome => "Boas-vindas",
            AutoMessage::ChooseQueue => "Escolha do setor (antes da lista de setores)",
            AutoMessage::InvalidOption => "Opção inválida",
            AutoMessage::Transfer => "Transferência para o setor (aguarde)",
            AutoMessage::AgentStart => "Início do atendimento pelo agente (opcional)",
            AutoMessage::Thanks => "Agradecimento ao encerrar",
            AutoMessage::OutOfHours => "Fora do horário de atendimento",
            AutoMessage::FallbackMoved => "Conversa encaminhada a outro setor",
            AutoMessage::CsatRequest => "Pedido de avaliação",
            AutoMessage::CsatComment => "Pedido de comentário sobre a avaliação",
            AutoMessage::CsatThanks => "Agradecimento pela avaliação",
        }
    }

    /// Whether the provider must keep a text: only the agent's greeting may be left empty (then
    /// it is not sent).
    pub fn required(self) -> bool {
        self != AutoMessage::AgentStart
    }

    /// The text used until the provider writes their own.
    pub fn default_text(self) -> &'static str {
        match self {
            AutoMessage::Welcome => {
                "Olá, {{primeiro_nome}}! Você está no atendimento da {{empresa}}. Seu protocolo é {{protocolo}}."
            }
            AutoMessage::ChooseQueue => {
                "Com qual setor você quer falar? Responda com o número da opção:"
            }
            AutoMessage::InvalidOption => {
                "Não entendi sua escolha. Responda só com o número de uma das opções, por favor."
            }
            AutoMessage::Transfer => {
                "Certo! Você está na fila do setor {{fila}}. Aguarde, em instantes alguém vai te atender."
            }
            AutoMessage::AgentStart => {
                "Olá, {{primeiro_nome}}! Aqui é {{agente}}, do setor {{fila}}. Como posso ajudar?"
            }
            AutoMessage::Thanks => {
                "Atendimento encerrado. Obrigado pelo contato, {{primeiro_nome}}! Protocolo: {{protocolo}}"
            }
            AutoMessage::OutOfHours => {
                "Estamos fora do horário de atendimento agora. Voltamos {{horario}} e vamos responder sua mensagem assim que possível."
            }
            AutoMessage::FallbackMoved => {
                "Para você não esperar mais, sua conversa foi passada para o setor {{fila}}. Já já alguém te responde."
            }
            AutoMessage::CsatRequest => {
                "Como você avalia este atendimento? Escolha uma nota de 1 a 5."
            }
            AutoMessage::CsatComment => {
                "Obrigado pela nota! Se quiser, escreva um comentário sobre o atendimento."
            }
            AutoMessage::CsatThanks => "Obrigado pela sua avaliação!",
        }
    }
}

/// The provider's texts; a kind missing from the map uses its default. Serialised as a JSON
/// object keyed by [`AutoMessage::key`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AutoMessages(pub BTreeMap<AutoMessage, String>);

impl AutoMessages {
    /// The text of `kind`: the provider's, or the default when there is none (or, for a required
    /// message, when it is blank). Empty for a disabled optional message.
    pub fn get(&self, kind: AutoMessage) -> &str {
        match self.0.get(&kind) {
            Some(text) if !kind.required() || !text.trim().is_empty() => text,
            _ => kind.default_text(),
        }
    }

    /// The text to send, `None` when the message is disabled (an empty optional message).
    pub fn text(&self, kind: AutoMessage) -> Option<&str> {
        Some(self.get(kind)).filter(|t| !t.trim().is_empty())
    }

    /// The text to send, rendered with `vars`.
    pub fn render(&self, kind: AutoMessage, vars: &Vars) -> Option<String> {
        self.text(kind).map(|t| render(t, vars))
    }

    pub fn set(&mut self, kind: AutoMessage, text: impl Into<String>) {
        self.0.insert(kind, text.into());
    }

    /// Every problem of the provider's texts, in the admin form's order, with the reason in
    /// Portuguese: a blank required message, a text longer than WhatsApp sends, an unknown
    /// `{{variable}}` (a typo would reach subscribers verbatim).
    pub fn validate(&self) -> Result<(), Vec<(AutoMessage, String)>> {
        let mut problems = Vec::new();
        for kind in AutoMessage::ALL {
            let Some(text) = self.0.get(&kind) else {
                continue;
            };
            if kind.required() && text.trim().is_empty() {
                problems.push((
                    kind,
                    format!("A mensagem \"{}\" é obrigatória.", kind.label_pt()),
                ));
                continue;
            }
            let len = text.chars().count();
            if len > TEXT_MAX {
                problems.push((
                    kind,
                    format!("A mensagem tem {len} caracteres; o máximo é {TEXT_MAX}."),
                ));
            }
            let unknown = unknown_variables(text);
            if !unknown.is_empty() {
                let list: Vec<String> = unknown.iter().map(|v| format!("{{{{{v}}}}}")).collect();
                problems.push((
                    kind,
                    format!(
                        "Variável desconhecida: {}. Use {}.",
                        list.join(", "),
                        known_variables_hint()
                    ),
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn known_variables_hint() -> String {
    let all: Vec<String> = VARIABLES.iter().map(|v| format!("{{{{{v}}}}}")).collect();
    all.join(", ")
}

/// The values of the variables. A known variable without a value renders as nothing (and the
/// space or comma before it goes too: "Olá, {{primeiro_nome}}!" → "Olá!").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vars {
    /// The subscriber's name.
    pub nome: Option<String>,
    /// Defaults to the first word of `nome`.
    pub primeiro_nome: Option<String>,
    pub protocolo: Option<String>,
    /// The agent's name.
    pub agente: Option<String>,
    /// The queue's name.
    pub fila: Option<String>,
    /// The provider's name.
    pub empresa: Option<String>,
    /// When the desk opens again, in words ("amanhã às 08:00").
    pub horario: Option<String>,
}

impl Vars {
    /// The value of a known variable (`Some("")` when known but empty), `None` when unknown.
    fn value(&self, name: &str) -> Option<String> {
        let v = |o: &Option<String>| o.as_deref().unwrap_or("").trim().to_owned();
        Some(match name {
            "nome" => v(&self.nome),
            "primeiro_nome" => match &self.primeiro_nome {
                Some(p) => p.trim().to_owned(),
                None => v(&self.nome)
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            },
            "protocolo" => v(&self.protocolo),
            "agente" => v(&self.agente),
            "fila" => v(&self.fila),
            "empresa" => v(&self.empresa),
            "horario" => v(&self.horario),
            _ => return None,
        })
    }
}

/// The `{{...}}` names in `template` that are not variables.
pub fn unknown_variables(template: &str) -> Vec<String> {
    let vars = Vars::default();
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            break;
        };
        let name = after[..close].trim().to_lowercase();
        if vars.value(&name).is_none() && !out.contains(&name) {
            out.push(name);
        }
        rest = &after[close + 2..];
    }
    out
}

/// Replaces `{{nome}}`, `{{primeiro_nome}}`, `{{protocolo}}`, `{{agente}}`, `{{fila}}`,
/// `{{empresa}}` and `{{horario}}` (spaces inside the braces and case are ignored). Unknown
/// variables and unclosed braces are left as written.
pub fn render(template: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = after[..close].trim().to_lowercase();
        rest = &after[close + 2..];
        match vars.value(&name) {
            Some(value) if !value.is_empty() => out.push_str(&value),
            Some(_) => {
                // Nothing to say: drop the separator that introduced the value ("Olá, !").
                let next = rest.chars().next();
                if next.is_none_or(|c| ",.!?;:)\n".contains(c)) {
                    let trimmed = out.trim_end_matches([' ', ',']).len();
                    out.truncate(trimmed);
                }
            }
            None => {
                out.push_str("{{");
                out.push_str(&after[..close]);
                out.push_str("}}");
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vars() -> Vars {
        Vars {
            nome: Some("Maria da Silva".into()),
            primeiro_nome: None,
            protocolo: Some("202603020000123".into()),
            agente: Some("João".into()),
            fila: Some("Financeiro".into()),
            empresa: Some("NetRápida".into()),
            horario: Some("amanhã às 08:00".into()),
        }
    }

    #[test]
    fn renders_every_variable() {
        let text =
            "{{nome}}|{{primeiro_nome}}|{{protocolo}}|{{agente}}|{{fila}}|{{empresa}}|{{horario}}";
        assert_eq!(
            render(text, &vars()),
            "Maria da Silva|Maria|202603020000123|João|Financeiro|NetRápida|amanhã às 08:00"
        );
        assert_eq!(render("Oi {{ NOME }}", &vars()), "Oi Maria da Silva");
        let mut v = vars();
        v.primeiro_nome = Some("Mari".into());
        assert_eq!(render("{{primeiro_nome}}", &v), "Mari");
    }

    #[test]
    fn unknown_variables_and_stray_braces_stay() {
        assert_eq!(
            render("{{cpf}} e {{nome}}", &vars()),
            "{{cpf}} e Maria da Silva"
        );
        assert_eq!(render("a {{nome", &vars()), "a {{nome");
        assert_eq!(render("}} {{}} {", &vars()), "}} {{}} {");
        assert_eq!(
            unknown_variables("{{cpf}} {{ Nome }} {{cpf}} {{x"),
            vec!["cpf"]
        );
    }

    #[test]
    fn missing_values_leave_no_dangling_separator() {
        let none = Vars::default();
        assert_eq!(render("Olá, {{primeiro_nome}}!", &none), "Olá!");
        assert_eq!(render("Oi {{nome}}, tudo bem?", &none), "Oi, tudo bem?");
        assert_eq!(render("Fila {{fila}} agora", &none), "Fila  agora");
        assert_eq!(render("Protocolo: {{protocolo}}", &none), "Protocolo:");
    }

    #[test]
    fn defaults_and_overrides() {
        let mut m = AutoMessages::default();
        assert_eq!(
            m.get(AutoMessage::Welcome),
            AutoMessage::Welcome.default_text()
        );
        m.set(AutoMessage::Welcome, "Bem-vindo à {{empresa}}");
        assert_eq!(
            m.render(AutoMessage::Welcome, &vars()).as_deref(),
            Some("Bem-vindo à NetRápida")
        );
        // The optional greeting can be turned off by leaving it empty.
        assert!(m.text(AutoMessage::AgentStart).is_some());
        m.set(AutoMessage::AgentStart, "  ");
        assert_eq!(m.text(AutoMessage::AgentStart), None);
        // A blank required message that slipped through still sends the default.
        m.set(AutoMessage::Thanks, "");
        assert_eq!(
            m.get(AutoMessage::Thanks),
            AutoMessage::Thanks.default_text()
        );
    }

    #[test]
    fn validation_refuses_blank_required_messages_and_typos() {
        let mut m = AutoMessages::default();
        assert_eq!(m.validate(), Ok(()));
        m.set(AutoMessage::AgentStart, "");
        assert_eq!(m.validate(), Ok(()), "the greeting is optional");
        m.set(AutoMessage::Thanks, " \n");
        m.set(AutoMessage::Transfer, "Aguarde, {{nme}}");
        m.set(AutoMessage::CsatThanks, "x".repeat(TEXT_MAX + 1));
        let problems = m.validate().unwrap_err();
        let kinds: Vec<AutoMessage> = problems.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            vec![
                AutoMessage::Transfer,
                AutoMessage::Thanks,
                AutoMessage::CsatThanks
            ]
        );
        assert!(problems[0].1.contains("{{nme}}"), "{}", problems[0].1);
        assert_eq!(
            problems[1].1,
            "A mensagem \"Agradecimento ao encerrar\" é obrigatória."
        );
    }

    #[test]
    fn kinds_metadata() {
        for kind in AutoMessage::ALL {
            assert_eq!(AutoMessage::from_key(kind.key()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.key().into())
            );
            assert!(!kind.label_pt().is_empty());
            assert!(
                unknown_variables(kind.default_text()).is_empty(),
                "{kind:?}"
            );
            assert_eq!(kind.required(), kind != AutoMessage::AgentStart);
        }
        assert_eq!(AutoMessage::from_key("nope"), None);
    }

    #[test]
    fn settings_json_shape() {
        let mut m = AutoMessages::default();
        m.set(AutoMessage::ChooseQueue, "Escolha:");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"choose_queue":"Escolha:"}"#);
        let back: AutoMessages = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }

    proptest! {
        #[test]
        fn rendering_never_panics(template in any::<String>(), name in proptest::option::of(any::<String>())) {
            let v = Vars { nome: name, ..Vars::default() };
            let _ = render(&template, &v);
            let _ = unknown_variables(&template);
        }

        #[test]
        fn text_without_braces_is_unchanged(text in "[^{}]*") {
            prop_assert_eq!(render(&text, &vars()), text);
        }

        #[test]
        fn unknown_variables_render_verbatim(name in "[a-z_]{1,12}", before in "[^{}]{0,10}", after in "[^{}]{0,10}") {
            prop_assume!(!VARIABLES.contains(&name.as_str()));
            let text = format!("{before}{{{{{name}}}}}{after}");
            prop_assert_eq!(render(&text, &vars()), text);
        }
    }
}
