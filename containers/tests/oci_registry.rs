//! The module image, end to end: `make oci`'s image pushed to a real registry on 127.0.0.1
//! (Debian's `docker-registry`, the CNCF distribution server) with the commands the book
//! gives, pulled back with `skopeo`, and checked: one layer, a gzip tar whose only file is
//! `plugin.wasm`, byte for byte `dist/jwt_authz.wasm`, under the manifest and media types
//! Istio's `WasmPlugin` (`oci://`) and Envoy Gateway's `EnvoyExtensionPolicy` (`code.type:
//! Image`) pull.
//!
//! Both pull a Wasm image in either of two forms: a Docker or OCI image whose single layer
//! holds `plugin.wasm` (the form `FROM scratch` + one `COPY` builds: Envoy Gateway's "Build a
//! Wasm image" task; Istio's WasmPlugin reference, "compat" variant of the Wasm image
//! specification), or an OCI artifact whose layer is the bare module
//! (`application/vnd.module.wasm.content.layer.v1+wasm`). jwt-authz ships the first form, both
//! as `jwt-authz oci` writes it (an OCI manifest, pushed with skopeo) and as `docker build`
//! makes it (a Docker manifest, pushed with docker).

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use container_tests::{docker_run, output_of, ready_or_skip, workspace_root};
use devstack::TempDir;
use devstack::http;
use jwt_authz_cli::oci::{LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, MODULE_FILE};
use serde_json::Value;

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// A distribution registry on 127.0.0.1, its storage in a temporary directory; stopped on drop.
struct Registry {
    child: Child,
    addr: SocketAddr,
    _storage: TempDir,
}

impl Registry {
    fn start() -> Registry {
        let storage = TempDir::new("jwt-authz-registry").expect("a temporary directory");
        let port = devstack::free_port().expect("a free port");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: {addr}}}\n",
                storage.path().join("data").display()
            ),
        )
        .expect("the registry's config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let registry = Registry {
            child,
            addr,
            _storage: storage,
        };
        let started = Instant::now();
        while !http::get(addr, "/v2/", &[]).is_ok_and(|r| r.status == 200) {
            assert!(started.elapsed() < Duration::from_secs(15), "registry up");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    /// The registry's manifest for `name:tag` as a client accepting both manifest kinds gets
    /// it: (media type, digest, manifest).
    fn manifest(&self, name: &str, tag: &str) -> (String, String, Value) {
        let accept = format!("{MANIFEST_MEDIA_TYPE}, {DOCKER_MANIFEST}");
        let response = http::get(
            self.addr,
            &format!("/v2/{name}/manifests/{tag}"),
            &[("accept", &accept)],
        )
        .expect("the registry answers");
        assert_eq!(response.status, 200, "{name}:{tag}: {}", response.text());
        let media_type = response
            .header("content-type")
            .unwrap_or_default()
            .to_string();
        let digest = response
            .header("docker-content-digest")
            .unwrap_or_default()
            .to_string();
        (
            media_type,
            digest,
            response.json().expect("a JSON manifest"),
        )
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(program: &str, args: &[&str]) -> String {
    output_of(
        Command::new(program).args(args),
        &format!("{program} {}", args.join(" ")),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    let path = layout.join("blobs/sha256").join(hex);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The image at `tag` of the OCI image layout `layout`: its manifest's digest and manifest.
fn layout_manifest(layout: &Path, tag: &str) -> (String, Value) {
    let index = read_json(&layout.join("index.json"));
    let entry = index["manifests"]
        .as_array()
        .expect("index.json lists manifests")
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"))
        .clone();
    let digest = entry["digest"].as_str().expect("digest").to_string();
    let manifest = serde_json::from_slice(&blob(layout, &digest)).expect("a JSON manifest");
    (digest, manifest)
}

/// The files of a gzip tar layer: (path, bytes).
fn layer_files(layer: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    let mut files = Vec::new();
    for entry in archive.entries().expect("a tar layer") {
        let mut entry = entry.expect("a tar entry");
        let path = entry.path().expect("a path").display().to_string();
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("the entry's bytes");
        files.push((path, bytes));
    }
    files
}

/// Pulls `reference` with skopeo into a fresh OCI layout and checks it holds the module as
/// its one layer's only file.
fn pull_and_check(reference: &str, module: &[u8], scratch: &Path, name: &str) {
    let layout = scratch.join(name);
    let destination = format!("oci:{}:pulled", layout.display());
    run(
        "skopeo",
        &["copy", "--src-tls-verify=false", reference, &destination],
    );
    let (_, manifest) = layout_manifest(&layout, "pulled");
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "{reference}: one layer: {manifest}");
    let layer = blob(&layout, layers[0]["digest"].as_str().expect("digest"));
    let files = layer_files(&layer);
    let names: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        names,
        [MODULE_FILE],
        "{reference}: the layer holds plugin.wasm alone"
    );
    assert!(
        files[0].1 == module,
        "{reference}: plugin.wasm ({} bytes) is not dist/jwt_authz.wasm ({} bytes)",
        files[0].1.len(),
        module.len()
    );
}

/// The registry's manifest for `name:tag`: of `media_type`, one layer of `layer_type`.
fn assert_pullable(registry: &Registry, name: &str, tag: &str, media_type: &str, layer_type: &str) {
    let (served_type, digest, manifest) = registry.manifest(name, tag);
    assert_eq!(served_type, media_type, "{name}:{tag}");
    assert_eq!(manifest["mediaType"], media_type, "{manifest}");
    assert_eq!(manifest["schemaVersion"], 2);
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "{manifest}");
    assert_eq!(layers[0]["mediaType"], layer_type, "{manifest}");
    assert!(digest.starts_with("sha256:"), "{name}:{tag}: {digest:?}");
}

#[test]
fn the_module_image_goes_through_a_registry_unchanged() {
    if !ready_or_skip(
        "the module image through a registry (containers/tests/oci_registry.rs)",
        &["docker-registry", "skopeo"],
    ) {
        return;
    }
    let root = workspace_root();
    let module = std::fs::read(root.join("dist/jwt_authz.wasm"))
        .expect("dist/jwt_authz.wasm: run make build");
    let layout = root.join("dist/oci");
    assert!(
        layout.join("index.json").is_file(),
        "dist/oci: run make oci"
    );
    let tag = env!("CARGO_PKG_VERSION");
    let scratch = TempDir::new("jwt-authz-oci").expect("a temporary directory");
    let registry = Registry::start();
    let host = registry.addr.to_string();

    // As the book says, from the layout `make oci` writes (plain HTTP on 127.0.0.1 needs the
    // TLS flag).
    let (layout_digest, _) = layout_manifest(&layout, tag);
    let target = format!("docker://{host}/jwt-authz:{tag}");
    run(
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:{tag}", layout.display()),
            &target,
        ],
    );
    assert_pullable(
        &registry,
        "jwt-authz",
        tag,
        MANIFEST_MEDIA_TYPE,
        LAYER_MEDIA_TYPE,
    );
    let (_, pushed_digest, _) = registry.manifest("jwt-authz", tag);
    assert_eq!(
        pushed_digest, layout_digest,
        "the registry serves the very manifest make oci wrote (the digest to pin)"
    );
    pull_and_check(&target, &module, scratch.path(), "from-layout");

    // As the book says, with Docker: build from dist/, push.
    let image = format!("{host}/jwt-authz-docker:{tag}");
    // The Dockerfile path and the context are relative to the repository root, as in the book.
    output_of(
        container_tests::docker().current_dir(&root).args([
            "build",
            "-q",
            "-f",
            "deploy/oci/Dockerfile",
            "-t",
            &image,
            "dist",
        ]),
        "docker build",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    docker_run(&["push", &image]).unwrap_or_else(|e| panic!("{e}"));
    assert_pullable(
        &registry,
        "jwt-authz-docker",
        tag,
        DOCKER_MANIFEST,
        DOCKER_LAYER,
    );
    pull_and_check(
        &format!("docker://{image}"),
        &module,
        scratch.path(),
        "from-docker",
    );
    let _ = docker_run(&["image", "rm", &image]);
}
