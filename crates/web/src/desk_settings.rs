//! The desk settings a workspace edits: the automatic messages, the reopen grace period, the
//! satisfaction survey and whether Carnaval and Corpus Christi close the desk. Stored as JSON
//! through `DeskStore::save_desk_settings` in the engine's format ([`DeskSettings`]); missing
//! fields take their defaults, so a workspace that never saved anything works.

use balcao_desk::AutoMessage;
use balcao_domain::{Millis, WorkspaceId};
use balcao_store::{Store, StoreError};
use serde_json::Value;

pub use balcao_engine::desk::DeskSettings;

pub async fn load(store: &dyn Store, workspace: WorkspaceId) -> Result<DeskSettings, StoreError> {
    Ok(DeskSettings::from_stored(
        store.desk_settings(workspace).await?,
    ))
}

pub async fn save(
    store: &dyn Store,
    workspace: WorkspaceId,
    settings: &DeskSettings,
    now: Millis,
) -> Result<(), StoreError> {
    let value = serde_json::to_value(settings).expect("settings serialise");
    store.save_desk_settings(workspace, &value, now).await
}

/// Reads settings sent by an admin; every problem in pt-BR (a required message left empty, an
/// unknown variable, a text too long, a grace period out of range).
pub fn parse(value: &Value) -> Result<DeskSettings, Vec<String>> {
    let settings: DeskSettings = serde_json::from_value(value.clone())
        .map_err(|e| vec![format!("configuração inválida: {e}")])?;
    let mut problems: Vec<String> = Vec::new();
    if let Err(list) = settings.messages.validate() {
        problems.extend(list.into_iter().map(|(_, m)| m));
    }
    if settings.reopen_grace_secs > 7 * 24 * 3600 {
        problems.push("O prazo para reabrir deve ser de no máximo 7 dias.".into());
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(problems)
    }
}

/// The settings as the API shows them: every message with its current text (defaults filled).
pub fn to_json(settings: &DeskSettings) -> Value {
    let messages: serde_json::Map<String, Value> = AutoMessage::ALL
        .iter()
        .map(|m| {
            (
                m.key().to_owned(),
                Value::String(settings.messages.get(*m).to_owned()),
            )
        })
        .collect();
    serde_json::json!({
        "messages": messages,
        "reopen_grace_secs": settings.reopen_grace_secs,
        "csat_enabled": settings.csat_enabled,
        "include_optional_holidays": settings.include_optional_holidays,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_required_message_is_refused() {
        let problems = parse(&json!({"messages": {"welcome": "  "}})).unwrap_err();
        assert!(problems[0].contains("Boas-vindas"), "{problems:?}");
        assert!(parse(&json!({"messages": {"agent_start": ""}})).is_ok());
    }

    #[test]
    fn missing_fields_take_defaults() {
        let s = parse(&json!({})).unwrap();
        assert_eq!(s, DeskSettings::default());
        let shown = to_json(&s);
        assert_eq!(
            shown["messages"]["thanks"],
            AutoMessage::Thanks.default_text()
        );
    }
}
