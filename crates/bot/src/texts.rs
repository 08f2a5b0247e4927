//! Every message the bot sends, as a template a workspace can edit, with a tiny renderer.
//!
//! Templates use `{{variable}}` (spaces inside the braces are allowed). Each text accepts the
//! variables listed next to it plus the global ones, [`GLOBAL_VARIABLES`] (`{{empresa}}`,
//! `{{protocolo}}`). A workspace stores its texts as JSON; keys it leaves out keep the pt-BR
//! default, unknown keys are refused (a typo would otherwise silently keep the default), and
//! [`Texts::validate`] refuses templates with unknown variables, unclosed braces or no content.
//!
//! Button and row titles are texts too: the bot truncates them to WhatsApp's limits when it
//! builds a message, so an over-long edit never makes a send fail.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Variables every template may use.
pub const GLOBAL_VARIABLES: [&str; 2] = ["empresa", "protocolo"];

/// One text: its JSON key, its template and the variables it accepts besides the global ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextEntry<'a> {
    pub name: &'static str,
    pub template: &'a str,
    pub variables: &'static [&'static str],
}

macro_rules! define_texts {
    ($( $(#[doc = $doc:literal])* $name:ident [$($var:literal),*] = $default:expr; )*) => {
        /// The bot's texts (pt-BR defaults). See the module documentation for the template rules.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Texts {
            $( $(#[doc = $doc])* pub $name: String, )*
        }

        impl Default for Texts {
            fn default() -> Self {
                Texts { $( $name: String::from($default), )* }
            }
        }

        impl Texts {
            /// Every text with the variables it accepts, in declaration order.
            pub fn entries(&self) -> Vec<TextEntry<'_>> {
                vec![ $( TextEntry {
                    name: stringify!($name),
                    template: &self.$name,
                    variables: &[$($var),*],
                }, )* ]
            }
        }
    };
}

define_texts! {
    /// First reply of every conversation: carries the Anatel protocol with date and time.
    greeting ["data", "hora"] = "Olá! 👋 Você está no atendimento automático da *{{empresa}}*.\nProtocolo *{{protocolo}}*, aberto em {{data}} às {{hora}}.";
    /// Answer to "qual meu protocolo".
    protocol ["data", "hora"] = "Seu protocolo de atendimento é *{{protocolo}}*, aberto em {{data}} às {{hora}}.";
    welcome_customer ["nome"] = "Encontrei seu cadastro, {{nome}}! 😊";
    /// Used for {{nome}} when the management system has no name.
    customer_fallback_name [] = "cliente";
    ask_document_not_found_by_phone [] = "Não encontrei um cadastro com este número de WhatsApp. Por favor, digite o *CPF* ou *CNPJ* do titular do contrato (só os números).";
    ask_document [] = "Para continuar, digite o *CPF* ou *CNPJ* do titular do contrato (só os números).";
    document_invalid_length ["quantidade"] = "Não consegui entender esse documento: o CPF tem 11 dígitos e o CNPJ tem 14, e a mensagem tem {{quantidade}}. Confira e digite novamente.";
    document_invalid_check_digit ["tipo"] = "Esse {{tipo}} não é válido: os dígitos verificadores não conferem. Confira se nenhum número foi trocado ou esquecido e digite novamente.";
    document_invalid_repeated ["tipo"] = "Esse {{tipo}} não é válido: todos os dígitos são iguais. Digite o documento do titular do contrato.";
    document_invalid [] = "Esse CPF/CNPJ não é válido. Confira e digite novamente só os números.";
    document_not_found ["tipo", "documento"] = "Não encontrei cadastro com o {{tipo}} {{documento}}. Confira o número e digite novamente. Se você ainda não é cliente, digite *atendente* para falar com a nossa equipe.";
    choose_customer [] = "Encontrei mais de um cadastro com este número. Qual deles você quer atender?";
    choose_customer_none [] = "Nenhum desses";
    customer_row_no_document ["codigo"] = "Cadastro {{codigo}}";
    confirm_identity ["tipo", "documento"] = "Encontrei um cadastro para o {{tipo}} {{documento}}, mas este WhatsApp não está registrado nele. Para proteger os dados do titular, informe o *telefone com DDD* ou o *e-mail* cadastrado no contrato.";
    confirm_identity_failed [] = "Esse dado não confere com o cadastro. Tente novamente com o telefone (com DDD) ou o e-mail cadastrado no contrato.";
    identity_confirmed ["nome"] = "Obrigado, {{nome}}! Cadastro confirmado. ✅";
    choose_contract [] = "Você tem mais de um contrato. Qual deles?";
    contract_row_title ["contrato"] = "Contrato {{contrato}}";
    contract_row_description ["contrato", "situacao"] = "Contrato {{contrato}} · {{situacao}}";
    no_contract [] = "Não encontrei um contrato ativo no seu cadastro.";
    menu_intro [] = "Como posso ajudar? Digite o número da opção ou toque em *Ver opções*:";
    menu_button [] = "Ver opções";
    menu_invoice [] = "2ª via / Pix";
    menu_invoice_description [] = "Boleto, código Pix e PDF da sua fatura";
    menu_debts [] = "Débitos em aberto";
    menu_debts_description [] = "Faturas pendentes e o valor total";
    menu_unlock [] = "Desbloqueio de confiança";
    menu_unlock_description [] = "Libera a conexão enquanto o pagamento compensa";
    menu_connection [] = "Internet sem conexão";
    menu_connection_description [] = "Verificar sua conexão e abrir chamado";
    menu_human [] = "Falar com atendente";
    menu_human_description [] = "Atendimento com uma pessoa da nossa equipe";
    choice_button [] = "Escolher";
    /// Body of the second and following list messages when a choice has more than 10 options.
    list_continued ["parte", "partes"] = "Mais opções ({{parte}}/{{partes}}):";
    invalid_input [] = "Desculpe, não entendi. 🤔";
    media_not_understood [] = "Por aqui eu só consigo ler mensagens de texto. 🙏";
    escape_hint [] = "Digite *menu* para voltar ao início ou *atendente* para falar com uma pessoa.";
    /// Sent when a message only starts a query (the answer follows when the system replies).
    looking_up [] = "Só um instante, estou consultando… ⏳";
    please_wait [] = "Um momento, estou consultando o sistema… ⏳";
    please_wait_noted [] = "Anotado! Só um instante enquanto termino a consulta. ⏳";
    write_pending [] = "Estou concluindo a sua solicitação; já te mostro o menu. ⏳";
    invoices_none [] = "Boa notícia: não há faturas em aberto no seu cadastro. ✅";
    choose_invoice ["quantidade"] = "Você tem {{quantidade}} faturas em aberto. Qual delas você quer?";
    invoice_row_title ["vencimento"] = "Venc. {{vencimento}}";
    invoice_row_description ["valor", "situacao"] = "{{valor}} · {{situacao}}";
    invoice_summary_open ["vencimento", "valor"] = "Fatura com vencimento em *{{vencimento}}*\nValor: *{{valor}}*";
    invoice_summary_overdue ["vencimento", "valor", "valor_original"] = "Fatura *vencida* em {{vencimento}}\nValor original: {{valor_original}}\nValor atualizado com multa e juros: *{{valor}}*";
    invoice_summary_overdue_plain ["vencimento", "valor"] = "Fatura *vencida* em {{vencimento}}\nValor: *{{valor}}* (multa e juros podem ser cobrados na próxima fatura)";
    invoice_partial_note ["pago"] = "Já recebemos {{pago}} desta fatura; o valor acima é o que falta.";
    invoice_choose_method [] = "Como você prefere pagar?";
    invoice_choose_method_overdue [] = "Como você prefere pagar? Se precisar negociar, toque em *Negociar*.";
    button_pix [] = "Pix";
    button_boleto [] = "Boleto";
    button_billing [] = "Falar com financeiro";
    button_negotiate [] = "Negociar";
    invoice_pix_intro [] = "Código Pix copia e cola (copie a próxima mensagem e cole no app do seu banco):";
    invoice_boleto_intro [] = "Linha digitável do boleto:";
    invoice_pdf_caption ["vencimento"] = "Boleto com vencimento em {{vencimento}}";
    invoice_link ["link"] = "Link para pagamento: {{link}}";
    invoice_no_pix [] = "Esta fatura não tem Pix disponível.";
    invoice_no_boleto [] = "Esta fatura não tem boleto disponível.";
    invoice_no_method [] = "Não encontrei uma forma de pagamento para esta fatura por aqui; o financeiro pode te ajudar.";
    debts_header ["quantidade"] = "Você tem {{quantidade}} fatura(s) em aberto:";
    debts_line ["vencimento", "valor", "situacao"] = "• {{vencimento}} — {{valor}} ({{situacao}})";
    debts_more ["quantidade"] = "… e mais {{quantidade}} fatura(s).";
    debts_total ["total"] = "Total em aberto: *{{total}}*";
    debts_next [] = "Quer a 2ª via de alguma delas?";
    status_open [] = "em aberto";
    status_overdue [] = "vencida";
    status_partial [] = "paga em parte";
    unlock_confirm ["contrato"] = "Vou pedir o *desbloqueio de confiança* do contrato {{contrato}}. Ele libera a conexão por alguns dias enquanto o pagamento é compensado. Deseja continuar?";
    button_yes [] = "Sim";
    button_no [] = "Não";
    unlock_cancelled [] = "Tudo bem, não pedi o desbloqueio.";
    unlock_granted_until ["ate", "protocolo_liberacao"] = "Pronto! ✅ Sua conexão foi liberada em confiança até *{{ate}}*. Protocolo da liberação: {{protocolo_liberacao}}. Se a internet não voltar em alguns minutos, reinicie o roteador.";
    unlock_granted_days ["dias", "protocolo_liberacao"] = "Pronto! ✅ Sua conexão foi liberada em confiança por *{{dias}} dia(s)*. Protocolo da liberação: {{protocolo_liberacao}}. Se a internet não voltar em alguns minutos, reinicie o roteador.";
    unlock_granted ["protocolo_liberacao"] = "Pronto! ✅ Sua conexão foi liberada em confiança. Protocolo da liberação: {{protocolo_liberacao}}. Se a internet não voltar em alguns minutos, reinicie o roteador.";
    unlock_refused_already_used [] = "Não foi possível liberar: o desbloqueio de confiança já foi usado neste período e a fatura continua em aberto. Você pode pagar pela 2ª via/Pix ou falar com o financeiro.";
    unlock_refused_not_blocked [] = "Seu contrato não está bloqueado, então não há o que desbloquear. Se você está sem internet, toque em *Internet sem conexão*.";
    unlock_refused_inactive [] = "Este contrato está cancelado ou inativo, por isso o desbloqueio de confiança não é possível. O financeiro pode te ajudar.";
    unlock_refused_not_found [] = "Não encontrei esse contrato no sistema para fazer a liberação. O financeiro pode verificar para você.";
    unlock_refused_policy [] = "As regras da {{empresa}} não permitem o desbloqueio de confiança neste caso (por exemplo, bloqueio administrativo ou prazo já excedido). O financeiro pode te ajudar.";
    unlock_refused_unknown [] = "O sistema não autorizou o desbloqueio de confiança. O financeiro pode verificar para você.";
    connection_offline [] = "Verifiquei: sua conexão aparece *desconectada* no nosso sistema. Vamos tentar resolver:\n1. Desligue o roteador (e o aparelho da fibra, se houver) da tomada, espere 30 segundos e ligue de novo.\n2. Confira se os cabos estão bem encaixados e se alguma luz está vermelha.\n3. Aguarde uns 2 minutos.\n\nA internet voltou?";
    connection_online [] = "Verifiquei: sua conexão aparece *online* no nosso sistema, então o problema pode estar no roteador ou no Wi-Fi:\n1. Desligue o roteador da tomada, espere 30 segundos e ligue de novo.\n2. Confira se os cabos estão bem encaixados.\n3. Aguarde uns 2 minutos e teste perto do roteador.\n\nA internet voltou?";
    connection_unknown [] = "Não consegui ver o estado da sua conexão agora, mas vamos tentar o básico:\n1. Desligue o roteador da tomada, espere 30 segundos e ligue de novo.\n2. Confira se os cabos estão bem encaixados e se alguma luz está vermelha.\n3. Aguarde uns 2 minutos.\n\nA internet voltou?";
    connection_question [] = "A internet voltou?";
    button_back_yes [] = "Sim, voltou";
    button_back_no [] = "Não voltou";
    connection_back [] = "Que ótimo! 🎉";
    connection_ticket_opened ["chamado"] = "Abri o chamado *{{chamado}}* para a nossa equipe técnica verificar a sua conexão. Você será avisado por aqui. Protocolo do atendimento: {{protocolo}}.";
    connection_suspended_debt [] = "Sua conexão está *suspensa por pendência financeira*. Vou buscar sua fatura: depois do pagamento a conexão é restabelecida em até 24 horas (se preferir, peça o desbloqueio de confiança).";
    connection_blocked_other ["situacao"] = "Sua conexão está bloqueada ({{situacao}}) e isso precisa ser visto pela nossa equipe.";
    anything_else [] = "Posso ajudar em algo mais?";
    button_menu [] = "Menu principal";
    button_human [] = "Falar com atendente";
    button_finish [] = "Não, obrigado";
    button_connection [] = "Sem conexão";
    button_invoice [] = "2ª via / Pix";
    button_unlock [] = "Desbloqueio";
    already_paid [] = "Se você já pagou, a baixa costuma levar alguns minutos no Pix e até 3 dias úteis no boleto. Se a sua internet está bloqueada, posso pedir o *desbloqueio de confiança*; para enviar o comprovante, fale com o financeiro.";
    goodbye [] = "Obrigado pelo contato! 😊 Seu protocolo é {{protocolo}}. Até mais!";
    thanks_nothing_done [] = "Por nada! Se precisar de algo, é só escolher uma opção.";
    choose_sector [] = "Com qual setor você quer falar?";
    sector_billing [] = "Financeiro";
    sector_support [] = "Suporte técnico";
    sector_sales [] = "Comercial";
    sector_cancellation [] = "Cancelamento";
    handoff ["setor"] = "Vou te transferir para o setor *{{setor}}*: em instantes uma pessoa da nossa equipe continua por aqui, já sabendo o que você pediu. Seu protocolo é *{{protocolo}}*.";
    handed_off_waiting ["setor"] = "Sua conversa já está com a nossa equipe ({{setor}}). Em instantes alguém responde por aqui. Protocolo {{protocolo}}.";
    cancel_retention [] = "Poxa, que pena! 😕 Quero entender o que aconteceu e cuidar do seu pedido com atenção.";
    negotiate [] = "Certo, vamos ver a melhor forma de negociar.";
    too_many_invalid [] = "Parece que não estou conseguindo te ajudar por aqui.";
    too_many_document_attempts [] = "Não consegui localizar o seu cadastro.";
    identity_not_confirmed [] = "Não consegui confirmar os dados do titular por aqui.";
    erp_unavailable [] = "Desculpe! 😓 Nosso sistema está fora do ar ou muito lento agora e não consegui concluir a consulta.";
    erp_failed [] = "Desculpe! 😓 Não consegui concluir essa consulta no nosso sistema agora.";
    erp_not_supported [] = "Essa opção não está disponível no atendimento automático.";
    inactivity_reminder ["minutos"] = "Você ainda está por aí? 🙂 É só responder para continuar. Sem resposta, encerro este atendimento em {{minutos}} minutos.";
    inactivity_close [] = "Como não tivemos resposta, encerrei este atendimento. Se precisar, é só mandar uma mensagem. Protocolo {{protocolo}}.";
    opt_out [] = "Pronto, você não vai mais receber mensagens automáticas de cobrança por aqui. Se mudar de ideia, fale com a nossa equipe.";
    /// A reply to a billing reminder whose invoice is no longer open (paid or cancelled).
    reminder_invoice_not_open [] = "A fatura desse lembrete não está mais em aberto no nosso sistema. Se você já pagou, obrigado! ✅";
    /// After `reminder_invoice_not_open` when other invoices are still open.
    reminder_other_invoices ["quantidade"] = "Você ainda tem {{quantidade}} fatura(s) em aberto. Quer a 2ª via?";
    /// After `reminder_invoice_not_open` when nothing else is open; the conversation ends.
    reminder_nothing_open [] = "Não há outras faturas em aberto no seu cadastro. Obrigado por manter tudo em dia! 😊 Se precisar, é só mandar uma mensagem. Protocolo {{protocolo}}.";
    /// Negotiating the invoice of a reminder: the options follow, numbered.
    negotiation_options ["vencimento", "valor"] = "Vamos negociar a fatura com vencimento em {{vencimento}} ({{valor}}). O que fica melhor para você? Digite o número ou toque na opção:";
    negotiation_pay_in_full [] = "Pagar o total agora";
    negotiation_new_due_date [] = "Nova data";
    negotiation_instalments [] = "Parcelar";
    /// Before the handoff to the billing team, which agrees new due dates.
    negotiation_new_due_date_noted [] = "Anotei que você quer uma *nova data de vencimento*. Quem combina isso é a nossa equipe financeira.";
    /// Before the handoff to the billing team, which agrees instalments.
    negotiation_instalments_noted [] = "Anotei que você quer *parcelar*. Quem combina as condições é a nossa equipe financeira.";
    /// "Já paguei" and the system shows the invoice paid: the conversation ends resolved.
    payment_confirmed ["vencimento"] = "Confirmei aqui: o pagamento da fatura com vencimento em {{vencimento}} já consta no nosso sistema. Obrigado! ✅ Se a sua conexão estava suspensa, ela volta sozinha em alguns minutos (se não voltar, reinicie o roteador). Protocolo {{protocolo}}.";
    /// "Já paguei" and the reminder's invoice is not in the registration chosen (or is
    /// cancelled): before the handoff to the billing team.
    reminder_invoice_not_found [] = "Não encontrei essa fatura neste cadastro.";
    /// No longer sent (a missing invoice is not a payment); kept so saved texts still load.
    payment_not_open [] = "A fatura desse lembrete não consta mais como em aberto no nosso sistema. Obrigado! ✅ Se a sua conexão estava suspensa, ela volta sozinha em alguns minutos (se não voltar, reinicie o roteador). Protocolo {{protocolo}}.";
    /// "Já paguei" and the system still shows the invoice open.
    receipt_request ["vencimento", "valor"] = "Ainda não consta o pagamento da fatura com vencimento em {{vencimento}} ({{valor}}) no nosso sistema. Pagamentos por Pix costumam aparecer em minutos, e por boleto em até 3 dias úteis.\n\nSe você já pagou, envie aqui uma *foto* ou o *PDF* do comprovante que eu encaminho para o financeiro conferir.";
    button_no_receipt [] = "Não tenho";
    /// Asked for the receipt again (a text or an audio came instead).
    receipt_again [] = "Para conferir o pagamento, envie uma *foto* ou o *PDF* do comprovante. Se não tiver, toque em *Não tenho*.";
    /// Silence while waiting for the receipt (instead of the usual reminder).
    receipt_reminder ["minutos"] = "Ainda estou aguardando o comprovante (foto ou PDF). Se não tiver, toque em *Não tenho*. Em {{minutos}} minutos passo o seu atendimento para o financeiro conferir o pagamento.";
    /// Before the handoff when the receipt arrived.
    receipt_received [] = "Recebi o seu comprovante, obrigado! 🙏";
    /// Before the handoff when the subscriber has no receipt.
    receipt_missing [] = "Sem problemas!";
    /// Before the handoff when no receipt came in time.
    receipt_timeout [] = "Como o comprovante não chegou, vou pedir para o financeiro conferir o seu pagamento.";
}

/// Something wrong with one template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TextProblem {
    UnknownVariable {
        text: &'static str,
        variable: String,
        allowed: Vec<&'static str>,
    },
    Unclosed {
        text: &'static str,
    },
    EmptyVariable {
        text: &'static str,
    },
    Empty {
        text: &'static str,
    },
}

impl fmt::Display for TextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextProblem::UnknownVariable {
                text,
                variable,
                allowed,
            } => write!(
                f,
                "texto \"{text}\": variável desconhecida {{{{{variable}}}}} (disponíveis: {})",
                allowed.join(", ")
            ),
            TextProblem::Unclosed { text } => {
                write!(
                    f,
                    "texto \"{text}\": \"{{{{\" sem o \"}}}}\" correspondente"
                )
            }
            TextProblem::EmptyVariable { text } => {
                write!(f, "texto \"{text}\": \"{{{{}}}}\" sem nome de variável")
            }
            TextProblem::Empty { text } => write!(f, "texto \"{text}\" está vazio"),
        }
    }
}

/// Why a workspace's texts were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextsError {
    #[error("textos do robô inválidos (JSON): {0}")]
    Json(String),
    #[error("textos do robô inválidos: {}", list(.0))]
    Invalid(Vec<TextProblem>),
}

fn list(problems: &[TextProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A piece of a parsed template.
enum Piece<'a> {
    Literal(&'a str),
    Variable(&'a str),
}

/// Splits a template into literals and variables; `Err` carries the problem (without the text
/// name, filled in by the caller).
fn parse(template: &str) -> Result<Vec<Piece<'_>>, fn(&'static str) -> TextProblem> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Literal(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(|text| TextProblem::Unclosed { text });
        };
        let name = after[..close].trim();
        if name.is_empty() {
            return Err(|text| TextProblem::EmptyVariable { text });
        }
        pieces.push(Piece::Variable(name));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest));
    }
    Ok(pieces)
}

/// Fills `{{variables}}` in `template`. A variable without a value renders as nothing, so a
/// template that slipped past validation never shows braces to a subscriber; a template with
/// unclosed braces renders as written.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let Ok(pieces) = parse(template) else {
        return template.to_owned();
    };
    let mut out = String::with_capacity(template.len() + 32);
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Variable(name) => {
                if let Some((_, value)) = values.iter().find(|(key, _)| *key == name) {
                    out.push_str(value);
                }
            }
        }
    }
    out
}

impl Texts {
    /// Reads a workspace's texts: keys left out keep the default, unknown keys are refused, and
    /// the result must pass [`Texts::validate`].
    pub fn from_json(json: &str) -> Result<Texts, TextsError> {
        let texts: Texts =
            serde_json::from_str(json).map_err(|error| TextsError::Json(error.to_string()))?;
        texts.validate()?;
        Ok(texts)
    }

    /// Checks every template: not blank, braces closed, only known variables.
    pub fn validate(&self) -> Result<(), TextsError> {
        let mut problems = Vec::new();
        for entry in self.entries() {
            if entry.template.trim().is_empty() {
                problems.push(TextProblem::Empty { text: entry.name });
                continue;
            }
            match parse(entry.template) {
                Err(problem) => problems.push(problem(entry.name)),
                Ok(pieces) => {
                    for piece in pieces {
                        let Piece::Variable(name) = piece else {
                            continue;
                        };
                        let known =
                            entry.variables.contains(&name) || GLOBAL_VARIABLES.contains(&name);
                        if !known {
                            let mut allowed: Vec<&'static str> = entry.variables.to_vec();
                            allowed.extend(GLOBAL_VARIABLES);
                            problems.push(TextProblem::UnknownVariable {
                                text: entry.name,
                                variable: name.to_owned(),
                                allowed,
                            });
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TextsError::Invalid(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_every_name_is_unique() {
        let texts = Texts::default();
        texts.validate().unwrap();
        let mut names: Vec<_> = texts.entries().iter().map(|e| e.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn renders_variables_with_and_without_spaces() {
        let out = render(
            "Olá {{nome}}, protocolo {{ protocolo }}.",
            &[("nome", "Ana"), ("protocolo", "123")],
        );
        assert_eq!(out, "Olá Ana, protocolo 123.");
    }

    #[test]
    fn a_variable_without_value_renders_empty_and_unclosed_braces_stay() {
        assert_eq!(render("a{{x}}b", &[]), "ab");
        assert_eq!(render("a{{x b", &[("x", "1")]), "a{{x b");
    }

    #[test]
    fn json_overrides_keep_defaults_for_missing_keys() {
        let texts = Texts::from_json(r#"{"goodbye": "Tchau! {{protocolo}}"}"#).unwrap();
        assert_eq!(texts.goodbye, "Tchau! {{protocolo}}");
        assert_eq!(texts.menu_button, Texts::default().menu_button);
    }

    #[test]
    fn unknown_variables_are_refused_with_the_allowed_list() {
        let error = Texts::from_json(r#"{"welcome_customer": "Oi {{nme}}"}"#).unwrap_err();
        let TextsError::Invalid(problems) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(
            problems,
            &vec![TextProblem::UnknownVariable {
                text: "welcome_customer",
                variable: "nme".into(),
                allowed: vec!["nome", "empresa", "protocolo"],
            }]
        );
        assert!(error.to_string().contains("{{nme}}"), "{error}");
    }

    #[test]
    fn global_variables_are_accepted_everywhere() {
        let texts = Texts::from_json(r#"{"menu_intro": "{{empresa}}: {{protocolo}}"}"#).unwrap();
        assert_eq!(texts.menu_intro, "{{empresa}}: {{protocolo}}");
    }

    #[test]
    fn unknown_keys_unclosed_braces_and_blank_texts_are_refused() {
        assert!(matches!(
            Texts::from_json(r#"{"greting": "oi"}"#),
            Err(TextsError::Json(_))
        ));
        let error = Texts::from_json(
            r#"{"goodbye": "tchau {{protocolo", "menu_button": "  ", "protocol": "{{ }}"}"#,
        )
        .unwrap_err();
        let TextsError::Invalid(problems) = error else {
            panic!();
        };
        assert!(problems.contains(&TextProblem::Unclosed { text: "goodbye" }));
        assert!(problems.contains(&TextProblem::Empty {
            text: "menu_button"
        }));
        assert!(problems.contains(&TextProblem::EmptyVariable { text: "protocol" }));
    }
}
