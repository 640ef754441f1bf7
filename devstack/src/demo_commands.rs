//! The copy-paste curl session `make demo` prints.

use crate::stack::StackPorts;

/// Shell commands that walk through the filter's behaviour on a running stack.
///
/// Tokens are pulled out with sed rather than jq, which many machines lack.
pub fn demo_commands(ports: &StackPorts) -> String {
    let envoy = format!("http://127.0.0.1:{}", ports.envoy);
    let idp = format!("http://127.0.0.1:{}", ports.idp);
    let token_for = |client: &str, secret: &str| {
        format!(
            "curl -s -X POST {idp}/oauth/token -H 'content-type: application/json' \
             -d '{{\"grant_type\":\"client_credentials\",\"client_id\":\"{client}\",\
             \"client_secret\":\"{secret}\",\"audience\":\"https://api.example.com\"}}' \
             | sed -n 's/.*\"access_token\" *: *\"\\([^\"]*\\)\".*/\\1/p'"
        )
    };
    format!(
        "\
The stack is up:
  Envoy + filter   {envoy}  (admin http://127.0.0.1:{admin})
  dev IdP          {idp}  (issuer {idp}/)
  echo upstream    http://127.0.0.1:{upstream}

Try it from another terminal:

# Get a token for demo-client (scopes read:messages write:messages)
TOKEN=$({demo_token})

# Public route, no token needed: 200
curl -i {envoy}/api/public

# Protected route without a token: 401
curl -i {envoy}/api/private

# Protected route with the token: 200. The echo shows what reached the service: no token,
# but x-user-id and x-scopes from the verified claims (a client-sent x-user-id is dropped)
curl -i {envoy}/api/private -H \"authorization: Bearer $TOKEN\" -H \"x-user-id: admin\"

# A token for limited-client (scope read:profile only)
LIMITED=$({limited_token})

# /api/messages needs scope read:messages: 403 for limited-client
curl -i {envoy}/api/messages -H \"authorization: Bearer $LIMITED\"

# ... and 200 for demo-client
curl -i {envoy}/api/messages -H \"authorization: Bearer $TOKEN\"

# Counters by provider and reason, as Prometheus scrapes them
curl -s http://127.0.0.1:{admin}/stats/prometheus | grep '^jwt_authz'

Ctrl-C stops everything.
",
        admin = ports.admin,
        upstream = ports.upstream,
        demo_token = token_for("demo-client", "demo-secret"),
        limited_token = token_for("limited-client", "limited-secret"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_demo_urls() {
        let text = demo_commands(&StackPorts::demo());
        for expected in [
            "curl -s -X POST http://127.0.0.1:8081/oauth/token",
            "\"client_id\":\"demo-client\",\"client_secret\":\"demo-secret\"",
            "\"client_id\":\"limited-client\",\"client_secret\":\"limited-secret\"",
            "\"grant_type\":\"client_credentials\"",
            "curl -i http://127.0.0.1:10000/api/public\n",
            "curl -i http://127.0.0.1:10000/api/private\n",
            "curl -i http://127.0.0.1:10000/api/private -H \"authorization: Bearer $TOKEN\" -H \"x-user-id: admin\"",
            "curl -s http://127.0.0.1:9901/stats/prometheus | grep '^jwt_authz'",
            "curl -i http://127.0.0.1:10000/api/messages -H \"authorization: Bearer $LIMITED\"",
            "curl -i http://127.0.0.1:10000/api/messages -H \"authorization: Bearer $TOKEN\"",
            "http://127.0.0.1:9901",
            "http://127.0.0.1:8082",
            "Ctrl-C stops everything",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn follows_the_ports() {
        let ports = StackPorts {
            envoy: 20000,
            admin: 20001,
            idp: 20002,
            upstream: 20003,
        };
        let text = demo_commands(&ports);
        assert!(text.contains("http://127.0.0.1:20002/oauth/token"));
        assert!(text.contains("http://127.0.0.1:20000/api/messages"));
        assert!(!text.contains(":10000") && !text.contains(":8081"));
    }

    #[test]
    fn printed_token_commands_yield_tokens() {
        if std::process::Command::new("curl")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipping: curl is not installed");
            return;
        }
        let idp = devidp::Idp::start("127.0.0.1:0", devidp::IdpConfig::default()).unwrap();
        let ports = StackPorts {
            idp: idp.addr().port(),
            ..StackPorts::demo()
        };
        let text = demo_commands(&ports);
        for variable in ["TOKEN", "LIMITED"] {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{variable}=$(")))
                .unwrap();
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{line}\nprintf %s \"${variable}\""))
                .output()
                .unwrap();
            let token = String::from_utf8(output.stdout).unwrap();
            assert_eq!(
                token.split('.').count(),
                3,
                "{variable} is not a JWT: {token:?}"
            );
        }
    }
}
