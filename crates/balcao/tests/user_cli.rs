//! `balcao user add` creates the first staff member of a workspace from the configuration file,
//! with the password read from standard input, and refuses bad input with a clear message.

use balcao::bench::TempDir;
use std::io::Write;
use std::process::{Command, Stdio};

fn user_add(config: &std::path::Path, password: &str, args: &[&str]) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_balcao"))
        .args(["user", "add", "--config"])
        .arg(config)
        .args(args)
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run balcao");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test]
async fn the_first_admin_is_created_from_the_command_line() {
    let dir = TempDir::new("balcao-user-cli");
    let data = dir.0.join("data");
    let config = dir.0.join("balcao.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n[whatsapp]\napp_secret = \"s\"\nverify_token = \"v\"\n\
             [[workspaces]]\nslug = \"meuprovedor\"\nname = \"Meu Provedor\"\n"
        ),
    )
    .unwrap();
    let who = [
        "--workspace",
        "meuprovedor",
        "--email",
        "Admin@Provedor.com.br",
        "--name",
        "Ana Admin",
        "--role",
        "admin",
    ];
    let (ok, text) = user_add(&config, "uma-senha-boa", &who);
    assert!(ok, "{text}");
    assert!(
        text.contains("admin@provedor.com.br (admin) criado"),
        "{text}"
    );

    // Refused, each with its reason.
    let (ok, text) = user_add(&config, "uma-senha-boa", &who);
    assert!(!ok && text.contains("já está cadastrado"), "{text}");
    let mut short = who;
    short[3] = "outra@provedor.com.br";
    let (ok, text) = user_add(&config, "curta", &short);
    assert!(!ok && text.contains("pelo menos 8"), "{text}");
    let mut role = short;
    role[7] = "chefe";
    let (ok, text) = user_add(&config, "uma-senha-boa", &role);
    assert!(!ok && text.contains("papel inválido"), "{text}");
    let mut unknown = short;
    unknown[1] = "outro";
    let (ok, text) = user_add(&config, "uma-senha-boa", &unknown);
    assert!(!ok && text.contains("não está no arquivo"), "{text}");

    // Stored with a hash that verifies the password given, and nothing else.
    let store = balcao::app::open_store(None, &data).await.unwrap();
    let ws = store
        .workspace_by_slug("meuprovedor")
        .await
        .unwrap()
        .unwrap();
    let users = store.users(ws.id).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email, "admin@provedor.com.br");
    assert_eq!(users[0].role, balcao_store::Role::Admin);
    assert!(balcao_web::session::verify_password(
        &users[0].password_hash,
        "uma-senha-boa"
    ));
    assert!(!balcao_web::session::verify_password(
        &users[0].password_hash,
        "outra"
    ));
}
