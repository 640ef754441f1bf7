//! `.env` files as Auth0's quickstarts write them (`AUTH0_DOMAIN=…`, `AUTH0_API_AUDIENCE=…`):
//! `KEY=VALUE` lines, `#` comments, blank lines, an optional `export `, values optionally in
//! single or double quotes. As with the dotenv libraries those quickstarts use, a variable
//! already in the environment wins over the file.

/// The `KEY=VALUE` pairs of a `.env` file, in order; an error names the line.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {line_no}: expected KEY=VALUE"));
        };
        let key = key.trim();
        let valid_key = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_key {
            return Err(format!("line {line_no}: {key:?} is not a variable name"));
        }
        let value = unquote(value.trim()).map_err(|e| format!("line {line_no}: {e}"))?;
        pairs.push((key.to_string(), value));
    }
    Ok(pairs)
}

fn unquote(value: &str) -> Result<String, String> {
    if let Some(rest) = value.strip_prefix('\'') {
        let end = rest.find('\'').ok_or("unterminated single quote")?;
        return after_quote(&rest[end + 1..]).map(|()| rest[..end].to_string());
    }
    if let Some(rest) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return after_quote(&rest[i + 1..]).map(|()| out),
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("unterminated double quote".into());
    }
    // Unquoted: a ` #` starts a comment.
    let value = match value.find(" #") {
        Some(i) => &value[..i],
        None => value,
    };
    Ok(value.trim_end().to_string())
}

fn after_quote(rest: &str) -> Result<(), String> {
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(())
    } else {
        Err("unexpected text after the closing quote".into())
    }
}

/// `name` from the environment, else from the `.env` pairs.
pub fn lookup(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
    file: &[(String, String)],
) -> Option<String> {
    env(name).filter(|v| !v.is_empty()).or_else(|| {
        file.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lines_auth0_quickstarts_write() {
        let text = "# Auth0\nAUTH0_DOMAIN=tenant.us.auth0.com\n\nexport AUTH0_API_AUDIENCE=\"https://api.example.com\"\n\
                    A='single # not a comment'\nB=plain value # a comment\nC=\"esc\\\"aped\\n\"\nEMPTY=\n";
        let pairs = parse(text).unwrap();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("AUTH0_DOMAIN", "tenant.us.auth0.com"),
                ("AUTH0_API_AUDIENCE", "https://api.example.com"),
                ("A", "single # not a comment"),
                ("B", "plain value"),
                ("C", "esc\"aped\n"),
                ("EMPTY", ""),
            ]
        );
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        assert_eq!(
            parse("A=1\nnot a pair\n").unwrap_err(),
            "line 2: expected KEY=VALUE"
        );
        assert_eq!(
            parse("1A=x\n").unwrap_err(),
            "line 1: \"1A\" is not a variable name"
        );
        assert_eq!(
            parse("A=\"open\n").unwrap_err(),
            "line 1: unterminated double quote"
        );
        assert_eq!(
            parse("A='x' y\n").unwrap_err(),
            "line 1: unexpected text after the closing quote"
        );
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let file = vec![("AUTH0_DOMAIN".to_string(), "from-file".to_string())];
        let env_set = |name: &str| (name == "AUTH0_DOMAIN").then(|| "from-env".to_string());
        let env_empty = |_: &str| None;
        assert_eq!(
            lookup("AUTH0_DOMAIN", &env_set, &file).as_deref(),
            Some("from-env")
        );
        assert_eq!(
            lookup("AUTH0_DOMAIN", &env_empty, &file).as_deref(),
            Some("from-file")
        );
        assert_eq!(lookup("OTHER", &env_empty, &file), None);
    }
}
