//! The note an attendant reads when the bot hands a conversation over (pt-BR, staff-facing).
//! Documents are redacted here too: the summary lands in the inbox and in logs.

use crate::state::BotState;
use balcao_intent::Intent;

fn intent_label(intent: Intent) -> &'static str {
    match intent {
        Intent::Invoice => "2ª via / Pix",
        Intent::Debts => "débitos em aberto",
        Intent::Unlock => "desbloqueio de confiança",
        Intent::Connection => "internet sem conexão",
        Intent::Human => "falar com atendente",
        Intent::Cancel => "cancelamento",
        Intent::AlreadyPaid => "informou que já pagou",
        Intent::OptOut => "não receber mensagens automáticas",
        Intent::Protocol => "número de protocolo",
        Intent::Menu => "menu",
        Intent::Greeting => "saudação",
        Intent::Thanks => "agradecimento",
        Intent::Yes => "sim",
        Intent::No => "não",
        Intent::Number => "opção numérica",
        Intent::Document => "CPF/CNPJ",
        Intent::Unknown => "não compreendido",
    }
}

pub(crate) fn handoff_summary(state: &BotState, reason: &str) -> String {
    let mut lines = vec![
        format!(
            "Resumo do atendimento automático — protocolo {}",
            state.protocol
        ),
        format!("Motivo da transferência: {reason}"),
    ];
    match &state.identified {
        Some(identified) => {
            let customer = &identified.customer;
            let document = customer
                .document
                .as_ref()
                .map(|d| format!("{} {}", d.kind(), d.redacted()))
                .unwrap_or_else(|| "sem CPF/CNPJ no cadastro".to_owned());
            lines.push(format!(
                "Cliente: {} (código {}, {document}) — {}",
                customer.name.trim(),
                customer.erp_id,
                identified.verification.label()
            ));
        }
        None => lines.push("Cliente: não identificado".to_owned()),
    }
    if let Some(contract) = &state.contract {
        let plan = contract
            .plan_name
            .as_deref()
            .map(|p| format!(" — {p}"))
            .unwrap_or_default();
        lines.push(format!(
            "Contrato: {}{plan} ({})",
            contract.erp_id,
            contract.status.label()
        ));
    }
    if let Some(reminder) = &state.reminder {
        let step = reminder
            .step
            .as_deref()
            .map(|step| format!(" {}", crate::ladder::step_label(step)))
            .unwrap_or_default();
        lines.push(format!(
            "Régua de cobrança: respondeu ao lembrete{step} da fatura {}",
            reminder.invoice_id
        ));
    }
    if !state.intents.is_empty() {
        let subjects: Vec<&str> = state.intents.iter().map(|i| intent_label(*i)).collect();
        lines.push(format!("Pedidos: {}", subjects.join(", ")));
    }
    if !state.journal.is_empty() {
        lines.push("O que o robô fez:".to_owned());
        lines.extend(state.journal.iter().map(|line| format!("- {line}")));
    }
    lines.join("\n")
}
