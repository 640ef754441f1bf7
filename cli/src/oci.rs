//! The module as an OCI image layout, without a container engine: one
//! `application/vnd.oci.image.layer.v1.tar+gzip` layer holding `plugin.wasm`, which is what
//! Istio's and Envoy Gateway's image fetchers extract (the "compat" Wasm image format, the
//! same as `FROM scratch` + `COPY plugin.wasm`). The output is reproducible: the same module
//! gives the same digests.

use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The file name the Wasm image fetchers look for.
pub const MODULE_FILE: &str = "plugin.wasm";

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `sha256:…` of the manifest: the image digest registries report after a push.
    pub manifest_digest: String,
    /// Hex SHA-256 of the module itself.
    pub module_sha256: String,
}

/// Writes `module` as an image tagged `tag` into the layout directory `dir` (replacing an
/// earlier layout there; any other non-empty directory is refused).
pub fn write_layout(module: &[u8], dir: &Path, tag: &str) -> Result<Image, String> {
    if tag.is_empty()
        || !tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(format!("{tag:?} is not a valid image tag"));
    }
    prepare(dir)?;
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)
        .map_err(|e| format!("cannot create {}: {e}", blobs.display()))?;
    let write_blob = |bytes: &[u8]| -> Result<(String, usize), String> {
        let hex = sha256_hex(bytes);
        let path = blobs.join(&hex);
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok((format!("sha256:{hex}"), bytes.len()))
    };

    let tar = layer_tar(module)?;
    let diff_id = format!("sha256:{}", sha256_hex(&tar));
    let (layer_digest, layer_size) = write_blob(&gzip(&tar)?)?;
    let config = json!({
        "architecture": "wasm",
        "os": "wasi",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}
    });
    let (config_digest, config_size) = write_blob(&to_json(&config)?)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": layer_digest, "size": layer_size}],
        "annotations": {
            "org.opencontainers.image.title": "jwt-authz",
            "org.opencontainers.image.description": "Proxy-Wasm filter verifying OAuth2 bearer tokens (plugin.wasm)",
            "org.opencontainers.image.version": tag
        }
    });
    let (manifest_digest, manifest_size) = write_blob(&to_json(&manifest)?)?;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [{
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": manifest_digest,
            "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }]
    });
    write(&dir.join("index.json"), &to_json(&index)?)?;
    write(
        &dir.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    Ok(Image {
        manifest_digest,
        module_sha256: sha256_hex(module),
    })
}

fn prepare(dir: &Path) -> Result<(), String> {
    let is_layout = dir.join("oci-layout").is_file();
    let is_empty = std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none());
    if dir.exists() && !is_layout && !is_empty {
        return Err(format!(
            "{} exists and is not an OCI image layout: refusing to write into it",
            dir.display()
        ));
    }
    if is_layout {
        std::fs::remove_dir_all(dir)
            .map_err(|e| format!("cannot replace {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// A tar stream with the one file `plugin.wasm`: fixed owner, mode and time.
fn layer_tar(module: &[u8]) -> Result<Vec<u8>, String> {
    let mut header = tar::Header::new_ustar();
    header
        .set_path(MODULE_FILE)
        .map_err(|e| format!("tar header: {e}"))?;
    header.set_size(module.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append(&header, module)
        .map_err(|e| format!("tar: {e}"))?;
    builder.into_inner().map_err(|e| format!("tar: {e}"))
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    // mtime 0 and no file name in the gzip header: the same input gives the same blob.
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).map_err(|e| format!("gzip: {e}"))?;
    encoder.finish().map_err(|e| format!("gzip: {e}"))
}

fn to_json(value: &serde_json::Value) -> Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|e| e.to_string())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::io::Read;

    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn temp_dir(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("jwt-authz-oci-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Dir(dir)
    }

    fn blob(dir: &Path, digest: &str) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").unwrap();
        let bytes = std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap();
        assert_eq!(sha256_hex(&bytes), hex, "blob content matches its digest");
        bytes
    }

    /// Reads the layout back as an image fetcher does: index -> manifest -> one gzip layer
    /// whose tar holds plugin.wasm.
    fn read_back(dir: &Path, tag: &str) -> (Vec<u8>, Value) {
        let layout: Value =
            serde_json::from_slice(&std::fs::read(dir.join("oci-layout")).unwrap()).unwrap();
        assert_eq!(layout["imageLayoutVersion"], "1.0.0");
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let entry = &index["manifests"][0];
        assert_eq!(
            entry["annotations"]["org.opencontainers.image.ref.name"],
            tag
        );
        let manifest_bytes = blob(dir, entry["digest"].as_str().unwrap());
        assert_eq!(entry["size"], manifest_bytes.len());
        let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
        assert_eq!(manifest["mediaType"], MANIFEST_MEDIA_TYPE);
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1, "exactly one layer");
        assert_eq!(layers[0]["mediaType"], LAYER_MEDIA_TYPE);
        let gz = blob(dir, layers[0]["digest"].as_str().unwrap());
        assert_eq!(layers[0]["size"], gz.len());
        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut tar_bytes)
            .unwrap();
        let config: Value =
            serde_json::from_slice(&blob(dir, manifest["config"]["digest"].as_str().unwrap()))
                .unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            format!("sha256:{}", sha256_hex(&tar_bytes))
        );
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let mut files = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            files.push((entry.path().unwrap().to_string_lossy().into_owned(), data));
        }
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, MODULE_FILE);
        (files.remove(0).1, manifest)
    }

    #[test]
    fn the_layout_holds_the_module_as_plugin_wasm() {
        let dir = temp_dir("layout");
        let module = b"\0asm\x01\0\0\0 not really a module".to_vec();
        let image = write_layout(&module, &dir.0, "0.1.0").unwrap();
        let (extracted, manifest) = read_back(&dir.0, "0.1.0");
        assert_eq!(extracted, module);
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.version"],
            "0.1.0"
        );
        assert_eq!(image.module_sha256, sha256_hex(&module));
    }

    #[test]
    fn the_same_module_gives_the_same_digest_and_a_rewrite_replaces_the_layout() {
        let dir = temp_dir("repro");
        let first = write_layout(b"one", &dir.0, "t").unwrap();
        let again = write_layout(b"one", &dir.0, "t").unwrap();
        assert_eq!(first, again);
        let other = write_layout(b"two", &dir.0, "t").unwrap();
        assert_ne!(first.manifest_digest, other.manifest_digest);
        let blobs = std::fs::read_dir(dir.0.join("blobs/sha256"))
            .unwrap()
            .count();
        assert_eq!(blobs, 3, "only the new image's manifest, config and layer");
    }

    #[test]
    fn refuses_a_directory_that_is_not_a_layout_and_bad_tags() {
        let dir = temp_dir("refuse");
        std::fs::create_dir_all(&dir.0).unwrap();
        std::fs::write(dir.0.join("precious.txt"), "keep").unwrap();
        assert!(
            write_layout(b"m", &dir.0, "t")
                .unwrap_err()
                .contains("not an OCI image layout")
        );
        assert!(dir.0.join("precious.txt").is_file());
        assert!(
            write_layout(b"m", &dir.0, "bad tag")
                .unwrap_err()
                .contains("not a valid image tag")
        );
    }
}
