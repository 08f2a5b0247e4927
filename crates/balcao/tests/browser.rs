//! Browser test of the simulator's phone page in headless Chromium over WebDriver: a person types
//! a message on the phone, it reaches the app and appears through the API; the app's reply with
//! buttons shows on the phone and a tap comes back as an interactive reply.

mod common;

use common::webdriver::{Browser, browser_available};
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_chats_on_the_phone_page() {
    if !browser_available() {
        return;
    }
    let h = Harness::start().await;
    let b = Browser::start().await;
    b.goto(&h.url("/simulator")).await;
    let number = b.find("#phone-number").await;
    b.clear(&number).await;
    b.type_into(&number, "5511987654321").await;
    let name = b.find("#phone-name").await;
    b.clear(&name).await;
    b.type_into(&name, "Márcia").await;
    b.click(&b.find("#open-chat").await).await;
    let input = b.find("#message-input").await;
    b.type_into(&input, "quero a segunda via da fatura").await;
    b.click(&b.find("#send-button").await).await;
    b.wait_for_text(".msg.in .text", "quero a segunda via da fatura")
        .await;

    let conv = eventually(10, "conversation through the API", || async {
        let (_, v) = h.api_get("/api/v1/conversations?wa_id=5511987654321").await;
        v["conversations"]
            .as_array()
            .and_then(|a| a.first().cloned())
    })
    .await;
    assert_eq!(conv["contact_name"], "Márcia");
    let id = conv["id"].as_i64().unwrap();
    let msgs = h.messages_of(id).await;
    assert_eq!(msgs[0]["text"], "quero a segunda via da fatura");

    let (status, _) = h
        .api_post(&format!("/api/v1/conversations/{id}/messages"), json!({"content": {"type": "buttons", "body": "Escolha uma opção", "buttons": [{"id": "pix", "title": "Pix"}, {"id": "boleto", "title": "Boleto"}]}}))
        .await;
    assert_eq!(status, 202);
    b.wait_for_text(".msg.out .text", "Escolha uma opção").await;
    let pix = b.wait_for_text(".msg button.reply", "Pix").await;
    b.click(&pix).await;
    eventually(10, "button reply through the API", || async {
        let msgs = h.messages_of(id).await;
        msgs.iter()
            .any(|m| m["type"] == "interactive" && m["text"] == "Pix")
            .then_some(())
    })
    .await;
    if let Ok(path) = std::env::var("BALCAO_SCREENSHOT") {
        std::fs::write(path, b.screenshot_png().await).unwrap();
    }
}
