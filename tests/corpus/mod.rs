//! The attack corpus: named requests, each with the exact answer jwt-authz must give and the
//! verdict of Envoy's native `jwt_authn` on the same provider. Where the two differ, the case
//! names the reason, which the book lists in `docs/src/security/jwt-authn.md`.
//!
//! Every request goes to a route that requires a token from the provider `idp`, which reads
//! `Authorization: Bearer` only, trusts one issuer and one audience, and publishes two keys
//! (the current one signs, the previous one still verifies).

use devidp::KeyPair;
use devidp::forge::{Signer, b64, forge, sign_as_sent, with_signature};
use serde_json::{Value, json};
use std::sync::Arc;

/// What jwt-authz must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ours {
    /// Let through to the upstream, without the token.
    Allowed,
    /// 401 `missing_token`, with the bare challenge.
    Missing,
    /// 401 `invalid_token` with this description.
    Invalid(&'static str),
    /// 400 `invalid_request`: more than one token.
    TwoTokens,
    /// Refused by Envoy before any filter runs, with this status.
    Envoy(u16),
}

impl Ours {
    pub fn allows(&self) -> bool {
        *self == Ours::Allowed
    }
}

/// Where jwt-authz and native `jwt_authn` deliberately decide a request differently. Each is a
/// bullet of the book's "Where it differs from jwt_authn" that starts with
/// [`Difference::bullet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    // jwt-authz refuses what jwt_authn lets through:
    ExpRequired,
    IatChecked,
    CritRefused,
    OneSpelling,
    SizeCapped,
    KidNeeded,
    WholeValue,
    // jwt_authn refuses what jwt-authz lets through; the token is verified all the same:
    SchemeCaseInsensitive,
    CommaSeparatedCredentials,
}

impl Difference {
    pub const ALL: [Difference; 9] = [
        Difference::ExpRequired,
        Difference::IatChecked,
        Difference::CritRefused,
        Difference::OneSpelling,
        Difference::SizeCapped,
        Difference::KidNeeded,
        Difference::WholeValue,
        Difference::SchemeCaseInsensitive,
        Difference::CommaSeparatedCredentials,
    ];

    /// Whether jwt-authz is the stricter side (it refuses, `jwt_authn` allows).
    pub fn stricter(self) -> bool {
        !matches!(
            self,
            Difference::SchemeCaseInsensitive | Difference::CommaSeparatedCredentials
        )
    }

    /// How the book's bullet for this difference begins.
    pub fn bullet(self) -> &'static str {
        match self {
            Difference::ExpRequired => "- **`exp` is required.**",
            Difference::IatChecked => "- **`iat` in the future is refused.**",
            Difference::CritRefused => "- **`crit` is refused.**",
            Difference::OneSpelling => "- **One spelling per token.**",
            Difference::SizeCapped => "- **Tokens are capped in size.**",
            Difference::KidNeeded => "- **An empty `kid` names no key.**",
            Difference::WholeValue => "- **The token is the whole value after the scheme.**",
            Difference::SchemeCaseInsensitive => "- **The scheme is case-insensitive.**",
            Difference::CommaSeparatedCredentials => {
                "- **Other credentials in the same header are skipped.**"
            }
        }
    }
}

/// What native `jwt_authn` does with the same request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// The same verdict as jwt-authz: both let it through, or both refuse (with any status).
    Agrees,
    /// The other verdict, for this documented reason.
    Differs(Difference),
}

/// One request of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// Request headers besides `Host`, in order, repeated names kept.
    pub headers: Vec<(String, String)>,
    pub ours: Ours,
    pub native: Native,
}

impl Case {
    /// Whether native `jwt_authn` must let the request through.
    pub fn native_allows(&self) -> bool {
        match self.native {
            Native::Agrees => self.ours.allows(),
            Native::Differs(_) => !self.ours.allows(),
        }
    }
}

/// The keys, names and time the cases are built from.
pub struct Context {
    pub issuer: String,
    pub audience: String,
    /// Signs the IdP's tokens; published.
    pub current: Arc<KeyPair>,
    /// Published too: the key from before the last rotation.
    pub previous: Arc<KeyPair>,
    /// Published nowhere.
    pub attacker: KeyPair,
    pub now: u64,
    /// The provider's `max_token_bytes` (the default).
    pub max_token_bytes: usize,
}

/// Envoy's default `max_request_headers_kb`: larger request headers are refused with 431.
pub const ENVOY_MAX_REQUEST_HEADERS_BYTES: usize = 60 * 1024;

impl Context {
    /// The header the IdP writes.
    fn header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": self.current.kid()})
    }

    /// Valid claims, as the IdP's token endpoint would issue them now.
    fn claims(&self) -> Value {
        json!({
            "iss": self.issuer,
            "sub": "attack-client@clients",
            "aud": self.audience,
            "iat": self.now,
            "exp": self.now + 3600,
            "azp": "attack-client",
            "gty": "client-credentials",
            "scope": "read:messages",
        })
    }

    /// A token over exactly these texts, signed with the current key.
    fn signed(&self, header: &str, payload: &str) -> String {
        forge(header, payload, Signer::Rs256(&self.current))
    }

    /// A valid token.
    fn valid(&self) -> String {
        self.signed(&self.header().to_string(), &self.claims().to_string())
    }

    /// A token whose claim `name` is `value` (`None`: absent), signed with the current key.
    fn claim(&self, name: &str, value: Option<Value>) -> String {
        let mut claims = self.claims();
        match value {
            Some(value) => claims[name] = value,
            None => {
                claims.as_object_mut().map(|c| c.remove(name));
            }
        }
        self.signed(&self.header().to_string(), &claims.to_string())
    }

    /// A token whose header member `name` is `value` (`None`: absent), signed with `signer`.
    fn header_member(&self, name: &str, value: Option<Value>, signer: Signer) -> String {
        let mut header = self.header();
        match value {
            Some(value) => header[name] = value,
            None => {
                header.as_object_mut().map(|h| h.remove(name));
            }
        }
        forge(header.to_string(), self.claims().to_string(), signer)
    }

    /// HS256 over valid claims, keyed with `secret` (the IdP's `kid` in the header).
    fn hs256(&self, secret: &[u8]) -> String {
        self.header_member("alg", Some(json!("HS256")), Signer::Hs256(secret))
    }

    /// Valid claims under `header`, signed with the attacker's key.
    fn by_attacker(&self, header: Value) -> String {
        forge(
            header.to_string(),
            self.claims().to_string(),
            Signer::Rs256(&self.attacker),
        )
    }

    /// The attacker's token (`kid` "attacker") with the header member `name` set to `value`.
    fn attacker_with(&self, name: &str, value: Value) -> String {
        let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": "attacker"});
        header[name] = value;
        self.by_attacker(header)
    }

    /// A valid token whose header has `crit` and the `extra` members, signed by the IdP.
    fn crit(&self, crit: Value, extra: &[(&str, Value)]) -> String {
        let mut header = self.header();
        header["crit"] = crit;
        for (name, value) in extra {
            header[*name] = value.clone();
        }
        self.signed(&header.to_string(), &self.claims().to_string())
    }

    /// A valid token whose signature's last character has an unused bit set: the same bytes,
    /// spelled differently.
    fn unused_bits_set(&self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let valid = self.valid();
        // 256 bytes end in a group of two characters: 8 bits and 4 unused ones.
        let last = *valid.as_bytes().last().expect("signature");
        let index = ALPHABET.iter().position(|&b| b == last).expect("base64url");
        format!(
            "{}{}",
            &valid[..valid.len() - 1],
            ALPHABET[index ^ 1] as char
        )
    }

    /// A valid token whose header is padded with `=`, signed as sent.
    fn padded_header(&self) -> String {
        let mut header = self.header();
        let mut filler = String::new();
        while b64(header.to_string()).len().is_multiple_of(4) {
            filler.push('f');
            header["x"] = json!(filler);
        }
        let signing_input = format!(
            "{}.{}",
            padded(&b64(header.to_string())),
            b64(self.claims().to_string())
        );
        sign_as_sent(&signing_input, Signer::Rs256(&self.current))
    }

    /// Valid claims with one more claim nested `depth` arrays deep, signed by the IdP.
    fn nested(&self, depth: usize) -> String {
        let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let claims = prepend(&self.claims().to_string(), &format!(r#""deep":{deep}"#));
        self.signed(&self.header().to_string(), &claims)
    }

    /// Valid claims with a string that is not UTF-8, signed by the IdP.
    fn not_utf8(&self) -> String {
        let mut claims = prepend(&self.claims().to_string(), r#""name":"XX""#).into_bytes();
        let at = claims.iter().position(|&b| b == b'X').expect("marker");
        claims[at..at + 2].copy_from_slice(&[0xff, 0xfe]);
        forge(
            self.header().to_string(),
            claims,
            Signer::Rs256(&self.current),
        )
    }

    /// A valid token of exactly `length` characters: the header and a claim are padded.
    fn valid_of_length(&self, length: usize) -> String {
        for header_pad in 0..4 {
            let mut header = self.header();
            header["x"] = json!("h".repeat(header_pad));
            let header = header.to_string();
            let mut claims = self.claims();
            claims["pad"] = json!("");
            let fixed = self.signed(&header, &claims.to_string()).len();
            // Each payload byte adds 4/3 of a character; overshoot by one is tried too.
            let guess = (length.saturating_sub(fixed)) * 3 / 4;
            for pad in guess.saturating_sub(2)..guess + 3 {
                claims["pad"] = json!("p".repeat(pad));
                let token = self.signed(&header, &claims.to_string());
                if token.len() == length {
                    return token;
                }
            }
        }
        panic!("no valid token of exactly {length} characters")
    }
}

fn bearer(token: &str) -> Vec<(String, String)> {
    authorization(&[&format!("Bearer {token}")])
}

/// One `Authorization` header per value, in order.
fn authorization(values: &[&str]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|v| ("authorization".to_string(), v.to_string()))
        .collect()
}

fn case(name: &str, headers: Vec<(String, String)>, ours: Ours, native: Native) -> Case {
    Case {
        name: name.to_string(),
        headers,
        ours,
        native,
    }
}

/// `json` (an object's text) with `member` (`"name":value`) inserted first.
fn prepend(json: &str, member: &str) -> String {
    format!("{{{member},{}", &json[1..])
}

/// Base64url text padded with `=` to a multiple of four characters, as plain base64 would be.
fn padded(text: &str) -> String {
    format!("{text}{}", "=".repeat((4 - text.len() % 4) % 4))
}

/// The token's part `index` replaced by `part`.
fn replace_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

use Native::{Agrees, Differs};
use Ours::{Allowed, Invalid, Missing, TwoTokens};

const ALG: &str = "Jwt algorithm is not allowed";
const NO_KEY: &str = "Jwks doesn't have key to match kid or alg from Jwt";
const BAD_SIGNATURE: &str = "Jwt verification fails";
const DUPLICATE: &str = "Jwt has duplicate JSON member names";
const CRIT: &str = "Jwt header has a crit member that is not understood";
const FORM: &str = "Jwt is not in the form of Header.Payload.Signature";
const SIGNATURE_NOT_B64: &str = "Jwt signature is not base64url encoded";
const HEADER_NOT_B64: &str = "Jwt header is not base64url encoded";
const HEADER_NOT_JSON: &str = "Jwt header is not a JSON object";
const PAYLOAD_NOT_JSON: &str = "Jwt payload is not a JSON object";
const TOO_LARGE: &str = "Jwt exceeds the size limit";
const AUDIENCE: &str = "Jwt audience is not allowed";
const AUD_TYPE: &str = "Jwt aud claim is not a string or an array of strings";
const ISSUER: &str = "Jwt issuer is not allowed";

/// The whole corpus, one case a line.
#[rustfmt::skip]
pub fn cases(c: &Context) -> Vec<Case> {
    let valid = c.valid();
    let header = c.header().to_string();
    let claims = c.claims().to_string();
    let (signing_input, signature) = valid.rsplit_once('.').expect("three parts");
    let kid = c.current.kid().to_string();
    let now = c.now;

    vec![
        // Controls: what must pass on both.
        case("valid token", bearer(&valid), Allowed, Agrees),
        case("valid token again (verified-token cache)", bearer(&valid), Allowed, Agrees),
        case("valid token signed by the previous key, its kid", bearer(&forge(
            json!({"alg": "RS256", "typ": "JWT", "kid": c.previous.kid()}).to_string(), &claims,
            Signer::Rs256(&c.previous))), Allowed, Agrees),
        case("aud an array holding the audience", bearer(&c.claim("aud", Some(json!(["https://other.example.com", c.audience])))), Allowed, Agrees),
        case("header without typ", bearer(&c.header_member("typ", None, Signer::Rs256(&c.current))), Allowed, Agrees),
        case("typ at+jwt (RFC 9068)", bearer(&c.header_member("typ", Some(json!("at+jwt")), Signer::Rs256(&c.current))), Allowed, Agrees),
        case("expired 30 s ago, within the 60 s skew", bearer(&c.claim("exp", Some(json!(now - 30)))), Allowed, Agrees),
        case("nbf 30 s ahead, within the skew", bearer(&c.claim("nbf", Some(json!(now + 30)))), Allowed, Agrees),
        case("token of exactly max_token_bytes", bearer(&c.valid_of_length(c.max_token_bytes)), Allowed, Agrees),
        case("two spaces after the scheme", authorization(&[&format!("Bearer  {valid}")]), Allowed, Agrees),
        case("a space after the token", authorization(&[&format!("Bearer {valid} ")]), Allowed, Agrees),
        case("header name in capitals", vec![("AUTHORIZATION".to_string(), format!("Bearer {valid}"))], Allowed, Agrees),
        case("Basic header, then the Bearer header", authorization(&["Basic dXNlcjpwYXNz", &format!("Bearer {valid}")]), Allowed, Agrees),

        // Where the token is.
        case("no Authorization header", vec![], Missing, Agrees),
        case("Bearer without a token", authorization(&["Bearer "]), Missing, Agrees),
        case("Basic credentials only", authorization(&["Basic dXNlcjpwYXNz"]), Missing, Agrees),
        case("tab after the scheme", authorization(&[&format!("Bearer\t{valid}")]), Missing, Agrees),
        case("lower-case scheme", authorization(&[&format!("bearer {valid}")]), Allowed, Differs(Difference::SchemeCaseInsensitive)),
        case("another scheme first in the value", authorization(&[&format!("Token Bearer {valid}")]), Missing, Differs(Difference::WholeValue)),
        case("token followed by a space and more", authorization(&[&format!("Bearer {valid} extra")]), Invalid(SIGNATURE_NOT_B64), Agrees),
        case("two Authorization headers, the same token", authorization(&[&format!("Bearer {valid}"), &format!("Bearer {valid}")]), TwoTokens, Agrees),
        case("two Authorization headers, a forged and a valid token", authorization(&[&format!("Bearer {}", c.claim("sub", Some(json!("admin")))), &format!("Bearer {valid}")]), TwoTokens, Agrees),
        case("two tokens in one header, comma-separated", authorization(&[&format!("Bearer {valid}, Bearer {valid}")]), TwoTokens, Agrees),
        case("Bearer header, then a Basic header", authorization(&[&format!("Bearer {valid}"), "Basic dXNlcjpwYXNz"]), Allowed, Differs(Difference::CommaSeparatedCredentials)),

        // alg.
        case("alg none, no signature", bearer(&forge(r#"{"alg":"none","typ":"JWT"}"#, &claims, Signer::Unsigned)), Invalid(ALG), Agrees),
        case("alg None, no signature", bearer(&forge(r#"{"alg":"None"}"#, &claims, Signer::Unsigned)), Invalid(ALG), Agrees),
        case("alg NONE, no signature", bearer(&forge(r#"{"alg":"NONE"}"#, &claims, Signer::Unsigned)), Invalid(ALG), Agrees),
        case("alg none, the valid signature kept", bearer(&format!("{}.{}.{signature}", b64(r#"{"alg":"none"}"#), b64(&claims))), Invalid(ALG), Agrees),
        case("alg missing", bearer(&c.header_member("alg", None, Signer::Rs256(&c.current))), Invalid("Jwt header has no alg"), Agrees),
        case("alg an array", bearer(&c.header_member("alg", Some(json!(["RS256"])), Signer::Rs256(&c.current))), Invalid("Jwt header alg is not a string"), Agrees),
        case("alg rs256 in lower case", bearer(&c.header_member("alg", Some(json!("rs256")), Signer::Rs256(&c.current))), Invalid(ALG), Agrees),
        case("alg RS256 with a trailing space", bearer(&c.header_member("alg", Some(json!("RS256 ")), Signer::Rs256(&c.current))), Invalid(ALG), Agrees),
        case("HS256 keyed with the public key's PEM", bearer(&c.hs256(c.current.public_key_pem().as_bytes())), Invalid(ALG), Agrees),
        case("HS256 keyed with the PEM without its last newline", bearer(&c.hs256(c.current.public_key_pem().trim_end().as_bytes())), Invalid(ALG), Agrees),
        case("HS256 keyed with the public JWK", bearer(&c.hs256(c.current.public_jwk().to_string().as_bytes())), Invalid(ALG), Agrees),
        case("HS256 keyed with the JWK's n", bearer(&c.hs256(c.current.modulus_b64().as_bytes())), Invalid(ALG), Agrees),
        case("RS384 by the IdP's key, pinned to RS256 by its JWK", bearer(&c.header_member("alg", Some(json!("RS384")), Signer::Rs384(&c.current))), Invalid(NO_KEY), Agrees),
        case("PS256 by the IdP's key, pinned to RS256 by its JWK", bearer(&c.header_member("alg", Some(json!("PS256")), Signer::Ps256(&c.current))), Invalid(NO_KEY), Agrees),
        case("RS256 header over a PS256 signature", bearer(&forge(&header, &claims, Signer::Ps256(&c.current))), Invalid(BAD_SIGNATURE), Agrees),

        // kid and keys.
        case("unknown kid, the attacker's key", bearer(&c.attacker_with("kid", json!("attacker"))), Invalid(NO_KEY), Agrees),
        case("unknown kid, the IdP's key", bearer(&c.header_member("kid", Some(json!("rotated-away")), Signer::Rs256(&c.current))), Invalid(NO_KEY), Agrees),
        case("no kid, two keys published", bearer(&c.header_member("kid", None, Signer::Rs256(&c.current))), Allowed, Agrees),
        case("empty kid, two keys published", bearer(&c.header_member("kid", Some(json!("")), Signer::Rs256(&c.current))), Invalid(NO_KEY), Differs(Difference::KidNeeded)),
        case("right kid, the attacker's signature", bearer(&forge(&header, &claims, Signer::Rs256(&c.attacker))), Invalid(BAD_SIGNATURE), Agrees),
        case("previous key's kid, current key's signature", bearer(&forge(
            json!({"alg": "RS256", "kid": c.previous.kid()}).to_string(), &claims, Signer::Rs256(&c.current))), Invalid(BAD_SIGNATURE), Agrees),
        case("kid a number", bearer(&c.header_member("kid", Some(json!(1)), Signer::Rs256(&c.current))), Invalid("Jwt header kid is not a string"), Agrees),
        case("kid a path, HS256 with an empty key", bearer(&forge(r#"{"alg":"HS256","kid":"../../../../dev/null"}"#, &claims, Signer::Hs256(b""))), Invalid(ALG), Agrees),
        case("jku to the attacker's key set", bearer(&c.attacker_with("jku", json!("https://attacker.example/jwks.json"))), Invalid(NO_KEY), Agrees),
        case("x5u to the attacker's certificate", bearer(&c.attacker_with("x5u", json!("https://attacker.example/cert.pem"))), Invalid(NO_KEY), Agrees),
        case("jwk: the attacker's key embedded", bearer(&c.attacker_with("jwk", c.attacker.public_jwk())), Invalid(NO_KEY), Agrees),
        case("x5c: the attacker's chain embedded", bearer(&c.attacker_with("x5c", json!([b64(c.attacker.public_key_pem())]))), Invalid(NO_KEY), Agrees),
        case("jwk embedded under the IdP's kid", bearer(&c.by_attacker(json!({"alg": "RS256", "kid": kid, "jwk": c.attacker.public_jwk()}))), Invalid(BAD_SIGNATURE), Agrees),

        // crit.
        case("crit [exp]", bearer(&c.crit(json!(["exp"]), &[("exp", json!(now + 60))])), Invalid(CRIT), Differs(Difference::CritRefused)),
        case("crit [b64] with b64 false", bearer(&c.crit(json!(["b64"]), &[("b64", json!(false))])), Invalid(CRIT), Differs(Difference::CritRefused)),
        case("crit an empty array", bearer(&c.crit(json!([]), &[])), Invalid(CRIT), Differs(Difference::CritRefused)),
        case("crit an unknown extension", bearer(&c.crit(json!(["https://attacker.example/ext"]), &[("https://attacker.example/ext", json!(1))])), Invalid(CRIT), Differs(Difference::CritRefused)),

        // Duplicate member names.
        case("duplicate kid in the header", bearer(&c.signed(&prepend(&header, &format!(r#""kid":"{kid}""#)), &claims)), Invalid(DUPLICATE), Agrees),
        case("duplicate alg: none, then RS256", bearer(&c.signed(&prepend(&header, r#""alg":"none""#), &claims)), Invalid(DUPLICATE), Agrees),
        case("duplicate sub in the payload", bearer(&c.signed(&header, &prepend(&claims, r#""sub":"admin""#))), Invalid(DUPLICATE), Agrees),
        case("duplicate aud: another, then ours", bearer(&c.signed(&header, &prepend(&claims, r#""aud":"https://other.example.com""#))), Invalid(DUPLICATE), Agrees),
        case("duplicate exp: expired, then valid", bearer(&c.signed(&header, &prepend(&claims, &format!(r#""exp":{}"#, now - 3600)))), Invalid(DUPLICATE), Agrees),
        case("duplicate iss, escaped: \\u0069ss", bearer(&c.signed(&header, &prepend(&claims, r#""\u0069ss":"https://attacker.example/""#))), Invalid(DUPLICATE), Agrees),

        // Time.
        case("expired beyond the skew", bearer(&c.claim("exp", Some(json!(now - 120)))), Invalid("Jwt is expired"), Agrees),
        case("nbf beyond the skew", bearer(&c.claim("nbf", Some(json!(now + 3600)))), Invalid("Jwt is not yet valid"), Agrees),
        case("iat beyond the skew", bearer(&c.claim("iat", Some(json!(now + 3600)))), Invalid("Jwt iat is in the future"), Differs(Difference::IatChecked)),
        case("no exp", bearer(&c.claim("exp", None)), Invalid("Jwt has no exp claim"), Differs(Difference::ExpRequired)),
        case("exp a string", bearer(&c.claim("exp", Some(json!((now + 3600).to_string())))), Invalid("Jwt exp claim is not a number"), Agrees),
        case("nbf a string", bearer(&c.claim("nbf", Some(json!(now.to_string())))), Invalid("Jwt nbf claim is not a number"), Agrees),
        case("iat a string", bearer(&c.claim("iat", Some(json!(now.to_string())))), Invalid("Jwt iat claim is not a number"), Agrees),
        case("exp null", bearer(&c.claim("exp", Some(Value::Null))), Invalid("Jwt exp claim is not a number"), Agrees),
        case("exp true", bearer(&c.claim("exp", Some(json!(true)))), Invalid("Jwt exp claim is not a number"), Agrees),
        case("exp a float, 1 h ahead", bearer(&c.claim("exp", Some(json!(now as f64 + 3600.5)))), Allowed, Agrees),
        case("exp a float, expired", bearer(&c.claim("exp", Some(json!(now as f64 - 120.5)))), Invalid("Jwt is expired"), Agrees),
        case("nbf a float, 1 h ahead", bearer(&c.claim("nbf", Some(json!(now as f64 + 3600.5)))), Invalid("Jwt is not yet valid"), Agrees),
        case("iat a float", bearer(&c.claim("iat", Some(json!(now as f64 - 0.5)))), Allowed, Agrees),
        case("exp 2^63", bearer(&c.claim("exp", Some(json!(1u64 << 63)))), Allowed, Agrees),
        case("exp negative", bearer(&c.claim("exp", Some(json!(-1)))), Invalid("Jwt exp claim is out of range"), Agrees),
        case("exp 1e20, beyond 64 bits", bearer(&c.claim("exp", Some(json!(1e20)))), Invalid("Jwt exp claim is out of range"), Agrees),
        case("exp 1e300", bearer(&c.claim("exp", Some(json!(1e300)))), Invalid("Jwt exp claim is out of range"), Agrees),
        case("nbf 1e300", bearer(&c.claim("nbf", Some(json!(1e300)))), Invalid("Jwt nbf claim is out of range"), Agrees),
        case("nbf negative", bearer(&c.claim("nbf", Some(json!(-1)))), Invalid("Jwt nbf claim is out of range"), Agrees),
        case("iat negative", bearer(&c.claim("iat", Some(json!(-1)))), Invalid("Jwt iat claim is out of range"), Agrees),

        // Issuer and audience.
        case("another issuer", bearer(&c.claim("iss", Some(json!("https://attacker.example/")))), Invalid(ISSUER), Agrees),
        case("issuer without its trailing slash", bearer(&c.claim("iss", Some(json!(c.issuer.trim_end_matches('/'))))), Invalid(ISSUER), Agrees),
        case("no iss", bearer(&c.claim("iss", None)), Invalid(ISSUER), Agrees),
        case("iss a number", bearer(&c.claim("iss", Some(json!(1)))), Invalid(ISSUER), Agrees),
        case("another audience", bearer(&c.claim("aud", Some(json!("https://other.example.com")))), Invalid(AUDIENCE), Agrees),
        case("no aud", bearer(&c.claim("aud", None)), Invalid(AUDIENCE), Agrees),
        case("aud a number", bearer(&c.claim("aud", Some(json!(7)))), Invalid(AUD_TYPE), Agrees),
        case("aud an object", bearer(&c.claim("aud", Some(json!({"aud": c.audience})))), Invalid(AUD_TYPE), Agrees),
        case("aud an empty array", bearer(&c.claim("aud", Some(json!([])))), Invalid(AUDIENCE), Agrees),
        case("aud an array with a number", bearer(&c.claim("aud", Some(json!([c.audience, 7])))), Invalid(AUD_TYPE), Agrees),

        // Tampering.
        case("header changed, signature kept", bearer(&replace_part(&valid, 0, &b64(json!({"alg": "RS256", "typ": "JWS", "kid": kid}).to_string()))), Invalid(BAD_SIGNATURE), Agrees),
        case("payload changed, signature kept", bearer(&replace_part(&valid, 1, &b64(prepend(&c.claims().to_string(), r#""admin":true"#)))), Invalid(BAD_SIGNATURE), Agrees),
        case("another token's signature", bearer(&format!("{signing_input}.{}", c.claim("sub", Some(json!("other"))).rsplit_once('.').expect("three parts").1)), Invalid(BAD_SIGNATURE), Agrees),
        case("signature's last bit flipped", bearer(&with_signature(&valid, |mut s| { if let Some(b) = s.last_mut() { *b ^= 1 } s })), Invalid(BAD_SIGNATURE), Agrees),
        case("signature's first bit flipped", bearer(&with_signature(&valid, |mut s| { s[0] ^= 0x80; s })), Invalid(BAD_SIGNATURE), Agrees),
        case("signature with a leading zero byte", bearer(&with_signature(&valid, |s| [&[0u8][..], &s].concat())), Invalid(BAD_SIGNATURE), Agrees),
        case("signature with two leading zero bytes", bearer(&with_signature(&valid, |s| [&[0u8, 0][..], &s].concat())), Invalid(BAD_SIGNATURE), Agrees),
        case("signature with a trailing zero byte", bearer(&with_signature(&valid, |s| [&s[..], &[0u8]].concat())), Invalid(BAD_SIGNATURE), Agrees),
        case("signature without its first byte", bearer(&with_signature(&valid, |s| s[1..].to_vec())), Invalid(BAD_SIGNATURE), Agrees),
        case("signature without its last byte", bearer(&with_signature(&valid, |s| s[..s.len() - 1].to_vec())), Invalid(BAD_SIGNATURE), Agrees),
        case("signature all zero bytes", bearer(&with_signature(&valid, |s| vec![0; s.len()])), Invalid(BAD_SIGNATURE), Agrees),
        case("signature the modulus itself", bearer(&format!("{signing_input}.{}", c.current.modulus_b64())), Invalid(BAD_SIGNATURE), Agrees),
        case("empty signature", bearer(&format!("{signing_input}.")), Invalid("Jwt signature is empty"), Agrees),

        // Structure and encoding.
        case("two parts", bearer(signing_input), Invalid(FORM), Agrees),
        case("four parts", bearer(&format!("{valid}.{signature}")), Invalid(FORM), Agrees),
        case("five parts (a JWE)", bearer(&format!("{}..{}.{}.{}", b64(r#"{"alg":"dir","enc":"A256GCM"}"#), b64("iv"), b64("ciphertext"), b64("tag"))), Invalid(FORM), Agrees),
        case("a trailing dot", bearer(&format!("{valid}.")), Invalid(FORM), Differs(Difference::OneSpelling)),
        case("signature padded with =", bearer(&format!("{signing_input}.{}", padded(signature))), Invalid(SIGNATURE_NOT_B64), Differs(Difference::OneSpelling)),
        case("header padded with =, signed as sent", bearer(&c.padded_header()), Invalid(HEADER_NOT_B64), Differs(Difference::OneSpelling)),
        case("signature's unused bits set", bearer(&c.unused_bits_set()), Invalid(SIGNATURE_NOT_B64), Differs(Difference::OneSpelling)),
        case("signature in the standard alphabet (+ and /)", bearer(&replace_part(&valid, 2, &signature.replace('-', "+").replace('_', "/"))), Invalid(SIGNATURE_NOT_B64), Agrees),
        case("a space inside the signature", bearer(&format!("{signing_input}.{} {}", &signature[..100], &signature[100..])), Invalid(SIGNATURE_NOT_B64), Differs(Difference::OneSpelling)),
        case("a * before the token", bearer(&format!("*{valid}")), Invalid(HEADER_NOT_B64), Differs(Difference::WholeValue)),
        case("header not JSON", bearer(&c.signed("alg=RS256", &claims)), Invalid(HEADER_NOT_JSON), Agrees),
        case("header a JSON array", bearer(&c.signed(r#"["RS256"]"#, &claims)), Invalid(HEADER_NOT_JSON), Agrees),
        case("payload not JSON", bearer(&c.signed(&header, "iss=attacker")), Invalid(PAYLOAD_NOT_JSON), Agrees),
        case("payload a JSON array", bearer(&c.signed(&header, &format!("[{claims}]"))), Invalid(PAYLOAD_NOT_JSON), Agrees),
        case("payload with bytes after the object", bearer(&c.signed(&header, &format!("{claims} x"))), Invalid(PAYLOAD_NOT_JSON), Agrees),
        case("payload nested 200 deep", bearer(&c.nested(200)), Invalid(PAYLOAD_NOT_JSON), Agrees),
        case("payload not UTF-8", bearer(&c.not_utf8()), Invalid(PAYLOAD_NOT_JSON), Agrees),

        // Size.
        case("valid token one byte over max_token_bytes", bearer(&c.valid_of_length(c.max_token_bytes + 1)), Invalid(TOO_LARGE), Differs(Difference::SizeCapped)),
        case("59 KiB of junk as the token", bearer(&"x".repeat(59 * 1024)), Invalid(TOO_LARGE), Agrees),
        case("Authorization beyond Envoy's 60 KiB of headers", bearer(&"x".repeat(ENVOY_MAX_REQUEST_HEADERS_BYTES)), Ours::Envoy(431), Agrees),
    ]
}
