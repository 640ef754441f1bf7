//! The command line itself: help, usage errors and their exit status, the version, shell
//! completions, and the flags' forms (`--flag value`, `--flag=value`, a repeated flag's last
//! value) on the binary as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn jwt_authz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jwt-authz"))
        .args(args)
        .env_remove("AUTH0_DOMAIN")
        .env_remove("AUTH0_API_AUDIENCE")
        .env_remove("AUTH0_AUDIENCE")
        .env_remove("AUTH0_ALGORITHM")
        .output()
        .expect("jwt-authz runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_every_command_and_each_command_its_flags() {
    let help = jwt_authz(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = stdout(&help);
    assert!(text.contains("Usage: jwt-authz <COMMAND>"), "{text}");
    for command in ["check", "render", "convert", "oci", "dpop", "completions"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from:\n{text}"
        );
    }
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("version")),
        "`version` is hidden:\n{text}"
    );
    assert_eq!(
        stdout(&jwt_authz(&["-h"])).lines().next(),
        text.lines().next()
    );
    assert_eq!(stdout(&jwt_authz(&["help"])), text);

    let flags: [(&[&str], &[&str]); 7] = [
        (&["check"], &["--strict", "<FILE>..."]),
        (
            &["convert"],
            &["--strict", "-o, --output <FILE>", "<FILE>..."],
        ),
        (
            &["render"],
            &[
                "--auth0-domain <DOMAIN>",
                "--audience <AUDIENCE>",
                "--scope <SCOPE>",
                "--algorithm <ALGORITHM>",
                "--upstream <HOST:PORT>",
                "--listen <HOST:PORT>",
                "--admin <HOST:PORT>",
                "--module <PATH>",
                "--env-file <FILE>",
                "-o, --output <FILE>",
            ],
        ),
        (&["oci"], &["<MODULE>", "--out <DIR>", "--tag <TAG>"]),
        (
            &["dpop", "key"],
            &["-o, --output <FILE>", "[default: dpop-key.json]"],
        ),
        (
            &["dpop", "proof"],
            &[
                "--key <FILE>",
                "--method <METHOD>",
                "--url <URL>",
                "--token <TOKEN>",
                "--nonce <NONCE>",
            ],
        ),
        (&["dpop", "thumbprint"], &["--key <FILE>"]),
    ];
    for (command, expected) in flags {
        let help = jwt_authz(&[command, &["--help"]].concat());
        assert_eq!(help.status.code(), Some(0), "{command:?}");
        let text = stdout(&help);
        for flag in expected {
            assert!(
                text.contains(flag),
                "{command:?}: {flag} missing from:\n{text}"
            );
        }
    }
}

#[test]
fn no_command_prints_the_help_and_exits_2() {
    let output = jwt_authz(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    assert!(
        stderr(&output).contains("Usage: jwt-authz <COMMAND>"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unknown_flag_or_command_is_a_usage_error_with_exit_status_2() {
    let flag = jwt_authz(&["check", "--stirct", "envoy.yaml"]);
    assert_eq!(flag.status.code(), Some(2));
    assert!(stdout(&flag).is_empty());
    assert_eq!(
        stderr(&flag),
        "error: unexpected argument '--stirct' found\n\
         \n  tip: a similar argument exists: '--strict'\n\
         \nUsage: jwt-authz check --strict <FILE>...\n\
         \nFor more information, try '--help'.\n"
    );

    let book = std::fs::read_to_string(devstack::workspace_root().join("docs/src/cli.md"))
        .expect("the book's page");
    assert!(
        book.contains(&format!(
            "$ jwt-authz check --stirct envoy.yaml\n{}```",
            stderr(&flag)
        )),
        "the book shows this error as it is"
    );

    let command = jwt_authz(&["chek"]);
    assert_eq!(command.status.code(), Some(2));
    assert!(
        stderr(&command).starts_with(
            "error: unrecognized subcommand 'chek'\n\n  tip: a similar subcommand exists: 'check'\n"
        ),
        "{}",
        stderr(&command)
    );

    let missing = jwt_authz(&["dpop", "proof", "--key", "k.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        stderr(&missing),
        "error: the following required arguments were not provided:\n  \
         --method <METHOD>\n  --url <URL>\n\
         \nUsage: jwt-authz dpop proof --key <FILE> --method <METHOD> --url <URL>\n\
         \nFor more information, try '--help'.\n"
    );

    let value = jwt_authz(&["oci", "m.wasm", "--out"]);
    assert_eq!(value.status.code(), Some(2));
    assert!(
        stderr(&value)
            .starts_with("error: a value is required for '--out <DIR>' but none was supplied"),
        "{}",
        stderr(&value)
    );

    // An error the command finds itself has the same form and status.
    let render = jwt_authz(&["render", "--env-file", "/nonexistent/.env"]);
    assert_eq!(render.status.code(), Some(2));
    assert!(
        stderr(&render).starts_with("error: cannot read /nonexistent/.env: "),
        "{}",
        stderr(&render)
    );
    assert!(stderr(&render).ends_with("\n\nFor more information, try '--help'.\n"));
}

#[test]
fn version_prints_the_crate_version() {
    let expected = format!("jwt-authz {}\n", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V", "version"] {
        let output = jwt_authz(&[flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert_eq!(stdout(&output), expected, "{flag}");
    }
}

#[test]
fn completions_are_scripts_for_each_shell_naming_every_command() {
    for (shell, marker) in [
        ("bash", "complete -F _jwt__authz"),
        ("zsh", "#compdef jwt-authz"),
        ("fish", "complete -c jwt-authz"),
        ("elvish", "edit:completion:arg-completer[jwt-authz]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = jwt_authz(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}: {marker} missing");
        for word in [
            "check",
            "render",
            "convert",
            "oci",
            "dpop",
            "thumbprint",
            "strict",
            "nonce",
        ] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    let unknown = jwt_authz(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).starts_with(
            "error: invalid value 'tcsh' for '<SHELL>'\n  [possible values: bash, elvish, fish, powershell, zsh]\n"
        ),
        "{}",
        stderr(&unknown)
    );
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn flags_take_a_separate_or_inline_value_and_a_repeated_flag_keeps_its_last() {
    let dir = TempDir(std::env::temp_dir().join(format!("jwt-authz-cl-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let key = dir.0.join("key.json");
    let key = key.to_str().unwrap();

    let made = jwt_authz(&["dpop", "key", "-o", key]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let thumbprint = stdout(&made);
    assert_eq!(thumbprint.trim().len(), 43, "a SHA-256 in base64url");
    let again = jwt_authz(&["dpop", "key", "-o", key]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing key is never overwritten"
    );
    assert!(stderr(&again).starts_with(&format!("error: cannot create {key}: ")));

    let inline = jwt_authz(&["dpop", "thumbprint", &format!("--key={key}")]);
    assert_eq!(stdout(&inline), thumbprint);

    let proof = jwt_authz(&[
        "dpop",
        "proof",
        "--key",
        key,
        "--method",
        "PUT",
        "--method=GET",
        "--url",
        "https://api.example.com/orders?page=2",
        "--nonce",
        "n-1",
    ]);
    assert_eq!(proof.status.code(), Some(0), "{}", stderr(&proof));
    let proof = stdout(&proof);
    let claims = proof.trim().split('.').nth(1).expect("a JWS");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["htm"], "GET", "the last --method wins");
    assert_eq!(claims["htu"], "https://api.example.com/orders");
    assert_eq!(claims["nonce"], "n-1");
    assert!(claims.get("ath").is_none());

    let render = jwt_authz(&[
        "render",
        "--auth0-domain=first.auth0.com",
        "--auth0-domain",
        "tenant.eu.auth0.com",
        "--audience=https://api.example.com",
        "--scope",
        "read:a",
        "--scope=write:b",
        "--env-file",
        "/dev/null",
    ]);
    assert_eq!(render.status.code(), Some(0), "{}", stderr(&render));
    let yaml = stdout(&render);
    assert!(
        yaml.contains("\"issuer\": \"https://tenant.eu.auth0.com/\""),
        "{yaml}"
    );
    assert!(
        yaml.contains("\"read:a\"") && yaml.contains("\"write:b\""),
        "{yaml}"
    );
}
